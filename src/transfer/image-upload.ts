/**
 * Image upload (group 1, command 1) on the pipelined engine (PROTOCOL.md §3.2).
 * @module
 */
import { Op } from '../codec/header.js';
import { Group, ImageCmd } from '../protocol/ids.js';
import { ImageFormatError, VerifyError } from '../errors.js';
import { imageUploadFields } from '../groups/image.js';
import { uploadAnswerOffset } from '../groups/util.js';
import { openSource } from './source.js';
import { runPipelinedUpload } from './window.js';
import type { TransferContext, TransferOptions, TransferResult, UploadSource } from './types.js';

/** Options of {@link uploadImage}. */
export interface ImageUploadOptions extends TransferOptions {
  /** Image number (multi-image devices). Default 0. */
  image?: number;
  /** Ask the device to refuse an image not newer than the running one (`upgrade`). */
  upgrade?: boolean;
  /**
   * Send the SHA-256 of the whole file as `sha` (default true): it lets an interrupted upload
   * resume where the device stopped, and lets the device check what it received (`match`).
   */
  sha?: boolean;
  /**
   * Deadline of the first chunk, during which the device erases the slot. Default 30000 ms. The
   * last chunk, before whose answer Zephyr hashes the whole slot, gets the normal deadline plus
   * 10 ms per KB of image (a slow device's hash rate), at most this much.
   */
  firstTimeoutMs?: number;
  /** Skip the check that the source starts with the MCUboot image magic (default false). */
  allowNonImage?: boolean;
  /** SHA-256 of the whole source when the caller already has it (e.g. `ImageInfo.uploadSha`): skips a hashing pass. */
  knownSha?: Uint8Array;
}

/** Result of an image upload. */
export interface ImageUploadResult extends TransferResult {
  /** SHA-256 of the uploaded file (the `sha` sent). */
  sha: Buffer;
  /** The device's own check of what it received, when it reports one (`CONFIG_IMG_ENABLE_IMAGE_CHECK`). */
  match: boolean | undefined;
}

/** A slow device's SHA-256 over flash, bytes per ms (software hashing on a small Cortex-M). */
const DEVICE_HASH_BYTES_PER_MS = 100;

/**
 * Deadline of the last chunk: Zephyr hashes the whole slot before answering it, so the wait grows
 * with the image; a fixed first-chunk deadline would make a lost last answer cost 30 s.
 */
function lastChunkDeadline(size: number, opts: ImageUploadOptions): number {
  const first = opts.firstTimeoutMs ?? 30000;
  return Math.min(first, (opts.timeoutMs ?? 5000) + Math.ceil(size / DEVICE_HASH_BYTES_PER_MS));
}

/**
 * Uploads an image to the device's free slot with a window of requests in flight.
 * @throws VerifyError when the device reports `match: false`.
 * @example
 * const r = await uploadImage(client.transferContext(), 'zephyr.signed.bin', { onProgress: console.log });
 */
export async function uploadImage(ctx: TransferContext, source: UploadSource, opts: ImageUploadOptions = {}): Promise<ImageUploadResult> {
  const image = opts.image ?? 0;
  if (!Number.isInteger(image) || image < 0 || image > 255) throw new RangeError(`image must be an integer 0..255, got ${image}`);
  const src = await openSource(source, 'image');
  try {
    if (src.size < 32) throw new RangeError(`an image needs at least a 32-byte header; the source has ${src.size} bytes`);
    if (!opts.allowNonImage) {
      // MCUboot serial recovery erases the running slot and writes whatever comes: a raw .bin
      // instead of a signed image would leave the device without an application.
      const head = await src.read(0, 4);
      if (head.readUInt32LE(0) !== 0x96f3b83d) {
        throw new ImageFormatError(
          `image: the source does not start with the MCUboot magic 3d b8 f3 96 (got ${head.toString('hex')}); ` +
            'upload the signed image (e.g. zephyr.signed.bin), or pass allowNonImage: true',
        );
      }
    }
    if (opts.knownSha !== undefined && (!(opts.knownSha instanceof Uint8Array) || opts.knownSha.length !== 32)) {
      throw new TypeError('knownSha must be the 32-byte SHA-256 of the whole image');
    }
    const sha = opts.knownSha ? Buffer.from(opts.knownSha) : await src.sha256();
    let match: boolean | undefined;
    const result = await runPipelinedUpload(
      {
        source: src,
        maxRequest: ctx.maxRequest,
        bufCount: ctx.bufCount,
        firstTimeoutMs: opts.firstTimeoutMs ?? 30000,
        lastTimeoutMs: lastChunkDeadline(src.size, opts),
        alignment: 4,
        minFirstChunk: 32,
        encoding: ctx.encoding,
        fields: (off, first) =>
          imageUploadFields(off, first ? { image, len: src.size, ...(opts.sha === false ? {} : { sha }), upgrade: opts.upgrade } : undefined),
        send: (body, timeoutMs, signal, sink) => ctx.session.sendTo(Op.WRITE, Group.IMAGE, ImageCmd.UPLOAD, body, timeoutMs, signal, sink),
        prepare: (req, body) => ctx.session.prepare(req, Op.WRITE, Group.IMAGE, ImageCmd.UPLOAD, body),
        sendPrepared: (req, timeoutMs, signal, sink) => ctx.session.sendPrepared(req, timeoutMs, signal, sink),
        offsetOf: (rsp) => uploadAnswerOffset(rsp, Group.IMAGE, ImageCmd.UPLOAD),
        onComplete: (rsp) => {
          if (typeof rsp.body.match === 'boolean') match = rsp.body.match;
        },
      },
      opts,
    );
    if (match === false) {
      throw new VerifyError('the device reports that the uploaded image does not match its sha (match: false); it was not marked for boot');
    }
    return { ...result, sha, match };
  } finally {
    await src.close();
  }
}
