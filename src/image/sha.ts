/**
 * The upload `sha` (PROTOCOL.md §7.3): SHA-256 of the whole file exactly as uploaded.
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { AbortError } from '../errors.js';

/** What {@link computeUploadSha} can hash. */
export type UploadShaSource = Uint8Array | string | AsyncIterable<Uint8Array>;

/** Options of {@link computeUploadSha}. */
export interface ComputeUploadShaOptions {
  /** Stops reading and rejects with `AbortError` when aborted. */
  signal?: AbortSignal;
}

/**
 * Computes the SHA-256 of a whole file — the `sha` that an image upload sends with its first
 * chunk — without holding the file in memory when it comes from a path or a stream.
 *
 * `source` is a buffer, a file path (read with a stream), or any async iterable of byte chunks
 * (for example a `Readable` without an encoding).
 *
 * @throws TypeError when a chunk is not a `Uint8Array` (e.g. a stream with an encoding set).
 * @example
 * ```ts
 * const sha = await computeUploadSha('build/zephyr/zephyr.signed.bin');
 * console.log(sha.toString('hex'));
 * ```
 */
export async function computeUploadSha(
  source: UploadShaSource,
  options: ComputeUploadShaOptions = {},
): Promise<Buffer> {
  const { signal } = options;
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  const h = createHash('sha256');
  if (source instanceof Uint8Array) return h.update(source).digest();
  let iterable: AsyncIterable<unknown>;
  if (typeof source === 'string') {
    iterable = createReadStream(source, signal ? { signal } : {});
  } else if (source != null && typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    iterable = source;
  } else {
    throw new TypeError('computeUploadSha expects a Uint8Array, a file path or an AsyncIterable<Uint8Array>');
  }
  try {
    for await (const chunk of iterable) {
      if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
      if (!(chunk instanceof Uint8Array)) {
        throw new TypeError(`computeUploadSha received a ${typeof chunk} chunk; expected Uint8Array`);
      }
      h.update(chunk);
    }
  } catch (err) {
    if (signal?.aborted && !(err instanceof AbortError)) throw new AbortError(undefined, { cause: err });
    throw err;
  }
  return h.digest();
}
