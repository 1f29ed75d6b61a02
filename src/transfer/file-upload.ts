/**
 * File upload (group 8, command 0 WRITE) on the pipelined engine (PROTOCOL.md §3.5).
 * Zephyr answers an out-of-place chunk with `err {8, 11}` plus `len` = the offset it expects,
 * and closes its file context; the next chunk at that offset reopens and appends. The engine
 * treats that answer as a rewind. A v1 device only says rc 1, so the offset is read back with
 * a status request.
 * @module
 */
import { Op } from '../codec/header.js';
import { FsCmd, Group } from '../protocol/ids.js';
import { SmpResponseError } from '../errors.js';
import { openSource } from './source.js';
import { runPipelinedUpload } from './window.js';
import { fileUploadFields } from '../groups/fs.js';
import { uploadAnswerOffset } from '../groups/util.js';
import { closeDeviceFile, crc32Update, hasCrc32, verifyDeviceFile, type FsVerification } from './fs-verify.js';
import type { TransferContext, TransferOptions, TransferResult, UploadSource } from './types.js';

/** Options of {@link uploadFile}. */
export interface FileUploadOptions extends TransferOptions {
  /** Deadline of the first chunk (the device opens and truncates the file). Default 30000 ms. */
  firstTimeoutMs?: number;
  /**
   * After the upload, compare the device's size and hash of the file with the source
   * (sha256, else crc32, else size only, as the device supports). Default true.
   */
  verify?: boolean;
}

/** Result of a file upload. */
export interface FileUploadResult extends TransferResult {
  /** How the file was checked on the device afterwards (`undefined` with `verify: false`). */
  verified: FsVerification | undefined;
}

/** FS_MGMT_ERR_FILE_OFFSET_NOT_VALID */
const FILE_OFFSET_NOT_VALID = 11;

/** Checks a device file name before anything is sent. */
export function checkDeviceFileName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('name must be a non-empty path on the device, e.g. "/lfs/data.bin"');
  if (Buffer.byteLength(name) > 255) throw new RangeError(`name is ${Buffer.byteLength(name)} bytes; device paths are short (Zephyr default limit 64)`);
  return name;
}

/**
 * Uploads a file to the device's file system with a window of requests in flight.
 * @example
 * await uploadFile(client.transferContext(), '/lfs/config.json', Buffer.from('{}'));
 */
export async function uploadFile(ctx: TransferContext, name: string, source: UploadSource, opts: FileUploadOptions = {}): Promise<FileUploadResult> {
  checkDeviceFileName(name);
  const src = await openSource(source, 'file');
  try {
    const result = await runPipelinedUpload(
      {
        source: src,
        maxRequest: ctx.maxRequest,
        bufCount: ctx.bufCount,
        encoding: ctx.encoding,
        firstTimeoutMs: opts.firstTimeoutMs ?? 30000,
        alignment: 1,
        // Zephyr has no resume at offset 0, and keeps its offset when an open upload of the same
        // path restarts at 0: close any stale context first, and insist the first answer is exact.
        exactFirst: true,
        beforeFirst: () => closeDeviceFile(ctx.session, opts.timeoutMs),
        fields: (off, first) => fileUploadFields(name, off, first ? src.size : undefined),
        send: (body, timeoutMs, signal, sink) => ctx.session.sendTo(Op.WRITE, Group.FS, FsCmd.FILE, body, timeoutMs, signal, sink),
        prepare: (req, body) => ctx.session.prepare(req, Op.WRITE, Group.FS, FsCmd.FILE, body),
        sendPrepared: (req, timeoutMs, signal, sink) => ctx.session.sendPrepared(req, timeoutMs, signal, sink),
        offsetOf: (rsp) => {
          const err = rsp.body.err as { group?: unknown; rc?: unknown } | undefined;
          if (err && err.group === Group.FS && err.rc === FILE_OFFSET_NOT_VALID) {
            const len = rsp.body.len;
            return typeof len === 'number' && Number.isInteger(len) && len >= 0 ? len : undefined;
          }
          if (rsp.header.version === 0 && rsp.body.rc === 1) return undefined; // v1: ask with status
          return uploadAnswerOffset(rsp, Group.FS, FsCmd.FILE);
        },
        recover: async () => {
          const rsp = await ctx.session.request(Op.READ, Group.FS, FsCmd.STATUS, { name }, { retries: 2 });
          const len = rsp.body.len;
          if (typeof len !== 'number') throw new SmpResponseError('fs status answer has no "len"');
          return len;
        },
      },
      opts,
    );
    let verified: FsVerification | undefined;
    if (opts.verify !== false) {
      verified = await verifyDeviceFile(
        ctx.session,
        name,
        src.size,
        {
          sha256: () => src.sha256(),
          crc32: hasCrc32
            ? async () => {
                let c = 0;
                for (let off = 0; off < src.size; off += 65536) c = crc32Update(await src.read(off, Math.min(65536, src.size - off)), c);
                return c;
              }
            : undefined,
        },
        opts.timeoutMs,
      );
    }
    return { ...result, verified };
  } finally {
    await src.close();
  }
}
