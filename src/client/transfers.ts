/**
 * The group namespaces a client hands out for the groups that have transfers: the image and file
 * system groups' commands plus their uploads and downloads. The groups stay request builders and
 * decoders; the transfers live in `transfer/` and are wired to them here, on the client level.
 * @module
 */
import { uploadImage, type ImageUploadOptions, type ImageUploadResult } from '../transfer/image-upload.js';
import { uploadFile, type FileUploadOptions, type FileUploadResult } from '../transfer/file-upload.js';
import { downloadFile, type FileDownloadOptions, type FileDownloadResult } from '../transfer/file-download.js';
import type { TransferContext, UploadSource } from '../transfer/types.js';
import { ImageGroup } from '../groups/image.js';
import { argPath, FsGroup } from '../groups/fs.js';
import { argOptions, type GroupHost } from '../groups/util.js';
import { TransportError } from '../errors.js';
import type { SmpSession } from '../session.js';
import type { Transport } from '../transport/transport.js';

/**
 * What the transfer engine needs from a client: the session, the request size limit, the window
 * cap, the serial encoding.
 * @throws TransportError for a UDP client of a multicast or broadcast address: the upload
 *   state of several devices would mix under one sequence of answers.
 */
export function buildTransferContext(transport: Transport, session: SmpSession, maxRequest: number, bufCount: number | undefined): TransferContext {
  if (transport.groupAddress === true) {
    throw new TransportError(
      `transfers need one device, but this client talks to the group address ${transport.peerName ?? '?'}, where every device acts on ` +
        'each chunk and only the first answer counts; connect to each device by its own address (e.g. bulkFlash with one connection each)',
    );
  }
  // BLE: a request costs whole ATT writes, so transfer requests end on a write boundary.
  const q = (transport as { writeQuantum?: unknown }).writeQuantum;
  const max = typeof q === 'number' && q > 0 && maxRequest >= q ? maxRequest - (maxRequest % q) : maxRequest;
  const ctx: TransferContext = { session, maxRequest: max };
  if (bufCount !== undefined) ctx.bufCount = bufCount;
  if (transport.kind === 'serial' && transport.encoding) ctx.encoding = transport.encoding;
  return ctx;
}

/** Gives a transfer its context (session, request size limit, window cap); throws when the client cannot transfer. */
export type TransferContextSource = () => TransferContext;

/** The image group's commands plus the pipelined upload; reach it as `client.image`. */
export class ClientImageGroup extends ImageGroup {
  readonly #host: GroupHost;
  readonly #context: TransferContextSource;

  /** @internal */
  constructor(host: GroupHost, context: TransferContextSource) {
    super(host);
    this.#host = host;
    this.#context = context;
  }

  /**
   * Uploads an MCUboot image (bytes, a file path, or an async iterable of chunks) with the
   * pipelined transfer engine. The first chunk waits for the slot erase (long timeout).
   */
  async upload(source: UploadSource, options?: ImageUploadOptions): Promise<ImageUploadResult> {
    const o = argOptions('options', options);
    return uploadImage(this.#context(), source, {
      ...o,
      firstTimeoutMs: o.firstTimeoutMs ?? this.#host.timeoutFor('long'),
    });
  }
}

/** The file system group's commands plus the pipelined upload and download; reach it as `client.fs`. */
export class ClientFsGroup extends FsGroup {
  readonly #context: TransferContextSource;

  /** @internal */
  constructor(host: GroupHost, context: TransferContextSource) {
    super(host);
    this.#context = context;
  }

  /** Uploads a file (bytes, a local path, or an async iterable of chunks) to `name` on the device. */
  async upload(name: string, source: UploadSource, options?: FileUploadOptions): Promise<FileUploadResult> {
    argPath('name', name);
    return uploadFile(this.#context(), name, source, options as FileUploadOptions);
  }

  /** Downloads the device file `name`. */
  async download(name: string, options?: FileDownloadOptions): Promise<FileDownloadResult> {
    argPath('name', name);
    return downloadFile(this.#context(), name, options as FileDownloadOptions);
  }
}
