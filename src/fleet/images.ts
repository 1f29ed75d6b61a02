/**
 * Content-addressed image storage: an image is stored once in the database under the SHA-256 of
 * its file bytes, and a station keeps a verified local copy named by that hash. Bytes whose hash
 * differs from the name are never handed to the flasher.
 * @module
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageFormatError } from '../errors.js';
import { parseImage } from '../image/parse.js';
import { readImageFile } from '../image/read-file.js';
import type { Fleet } from './db.js';
import { FleetError } from './errors.js';

/** An image as the fleet stores it. */
export interface StoredImage {
  /** SHA-256 of the file bytes, hex: the image's address. */
  sha256: string;
  size: number;
  /** MCUboot version, e.g. `1.2.3+4`. */
  version: string;
  /** The MCUboot image hash (what `image state` shows), hex. */
  imageHash: string;
}

/** SHA-256 of `bytes`, hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Checks that `bytes` are an MCUboot image (header, TLVs, hash) and stores them under their
 * SHA-256 (once: storing the same bytes again is a no-op).
 * @throws ImageFormatError when the bytes are not an MCUboot image, before anything is written.
 */
export async function storeImage(fleet: Fleet, image: Uint8Array | string): Promise<StoredImage> {
  const bytes = typeof image === 'string' ? await readImageFile(image) : image;
  if (!(bytes instanceof Uint8Array)) throw new TypeError('image must be the image bytes (Uint8Array) or a file path');
  const info = checkMcubootImage(bytes, typeof image === 'string' ? image : 'the image');
  const stored: StoredImage = { sha256: sha256Hex(bytes), size: bytes.length, version: info.versionString, imageHash: info.hash.toString('hex') };
  await fleet.query(
    `INSERT INTO "${fleet.schema}".images (sha256, size, version, image_hash, bytes) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING`,
    [stored.sha256, stored.size, stored.version, stored.imageHash, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)],
  );
  return stored;
}

/** Parses an MCUboot image, turning a format error into one that names the fix. */
export function checkMcubootImage(bytes: Uint8Array, what: string): ReturnType<typeof parseImage> {
  try {
    return parseImage(bytes);
  } catch (e) {
    if (e instanceof ImageFormatError) {
      throw new ImageFormatError(`${what} is not an MCUboot image (${e.message}); give the signed image (e.g. zephyr.signed.bin from imgtool sign / west sign)`);
    }
    throw e;
  }
}

/**
 * The image with SHA-256 `sha256`, from the local copy in `cacheDir` when its bytes still hash
 * to that name, else from the database (then the local copy is written, atomically).
 * @throws FleetError `FLEET_ERR_IMAGE_HASH` when no copy with that hash can be found.
 */
export async function localImage(fleet: Fleet, sha256: string, cacheDir: string): Promise<Buffer> {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new RangeError(`sha256 must be 64 lower-case hex digits, got ${JSON.stringify(sha256)}`);
  const file = join(cacheDir, `${sha256}.bin`);
  try {
    const cached = await readFile(file);
    if (sha256Hex(cached) === sha256) return cached;
  } catch {
    /* no local copy yet */
  }
  const rows = await fleet.query<{ bytes: Buffer }>(`SELECT bytes FROM "${fleet.schema}".images WHERE sha256 = $1`, [sha256]);
  const bytes = rows[0]?.bytes;
  if (!bytes) throw new FleetError('FLEET_ERR_IMAGE_HASH', `no image with SHA-256 ${sha256} is stored; create the rollout again with its image`);
  if (sha256Hex(bytes) !== sha256) throw new FleetError('FLEET_ERR_IMAGE_HASH', `the stored image ${sha256} has other bytes than its hash says; store it again`);
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, file);
  return bytes;
}
