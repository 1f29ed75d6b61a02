/**
 * Reading an image file given as a path: a regular file of at most 64 MiB, with errors that name
 * the argument (for callers that take "bytes or a path", such as firmwareUpdate and bulkFlash).
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import { MAX_IMAGE_FILE_SIZE } from './parse.js';

/**
 * Reads the image file at `path`.
 * @throws TypeError when it cannot be read or is not a regular file; RangeError over 64 MiB.
 */
export async function readImageFile(path: string, what = 'image'): Promise<Buffer> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new TypeError(`${what}: cannot read ${path}: ${e.code ?? e.message}`);
  });
  if (!st.isFile()) throw new TypeError(`${what}: ${path} is not a regular file`);
  if (st.size > MAX_IMAGE_FILE_SIZE) throw new RangeError(`${what}: ${path} is ${st.size} bytes, more than 64 MiB`);
  return readFile(path);
}
