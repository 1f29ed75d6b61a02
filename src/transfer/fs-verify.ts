/**
 * End-to-end check of a file transfer: the device's own size and hash of the file against the
 * bytes the client has. A transport that lets a corrupted packet through (no CRC on raw SMP; a
 * device bug such as Zephyr's fs offset kept across a restarted upload) is caught here, as a
 * typed error, instead of a silently wrong file.
 * @module
 */
import * as zlib from 'node:zlib';
import { Op } from '../codec/header.js';
import { FsCmd, Group } from '../protocol/ids.js';
import { SmpDeviceError, SmpResponseError, SmpTimeoutError, VerifyError } from '../errors.js';
import type { SmpSession } from '../session.js';

/** How far a transfer could be verified. */
export type FsVerification = 'sha256' | 'crc32' | 'size';

type Crc32 = (data: Uint8Array, value?: number) => number;
const crc32 = (zlib as unknown as { crc32?: Crc32 }).crc32;

/**
 * Compares the device's file `name` with `size` bytes whose SHA-256 is `sha256` (and, lazily,
 * whose CRC-32 `crc()` gives). Uses the strongest check the device supports.
 * @throws VerifyError when the device's file differs.
 */
export async function verifyDeviceFile(
  session: SmpSession,
  name: string,
  size: number,
  digests: { sha256: () => Promise<Buffer>; crc32?: () => Promise<number> },
  timeoutMs?: number,
): Promise<FsVerification> {
  const st = await session.request(Op.READ, Group.FS, FsCmd.STATUS, { name }, { retries: 2, timeoutMs });
  if (st.body.len !== size) {
    // Zephyr truncates an existing file only when the first chunk carries data, so an empty
    // upload leaves the old content in place: say so rather than only report the sizes.
    const why =
      size === 0
        ? '; an empty upload does not truncate an existing file on Zephyr (it truncates only when the first chunk has data): remove the file first (e.g. shell "fs rm")'
        : '';
    throw new VerifyError(`${name}: the device holds ${String(st.body.len)} bytes, expected ${size}${why}`);
  }
  if (size === 0) return 'size';
  for (const type of ['sha256', 'crc32'] as const) {
    if (type === 'crc32' && (!crc32 || !digests.crc32)) continue;
    let out: unknown;
    try {
      const rsp = await session.request(Op.READ, Group.FS, FsCmd.HASH_CHECKSUM, { name, type }, { retries: 2, timeoutMs });
      out = rsp.body.output;
    } catch (e) {
      // Not built in (rc 8) or this type unknown (FS_MGMT_ERR_CHECKSUM_HASH_NOT_FOUND): try the next.
      if (e instanceof SmpDeviceError && (e.rc === 8 || (e.style === 'err' && e.rc === 13) || (e.style === 'rc' && e.rc === 3))) continue;
      throw e;
    }
    if (type === 'sha256') {
      if (!Buffer.isBuffer(out)) throw new SmpResponseError(`${name}: fs hash answer has no sha256 byte string`);
      if (!out.equals(await digests.sha256())) throw new VerifyError(`${name}: the device's SHA-256 of the file differs from the bytes transferred`);
      return 'sha256';
    }
    if (typeof out !== 'number') throw new SmpResponseError(`${name}: fs checksum answer has no crc32 number`);
    if (out !== (await digests.crc32!())) throw new VerifyError(`${name}: the device's CRC-32 of the file differs from the bytes transferred`);
    return 'crc32';
  }
  return 'size';
}

/** CRC-32 (IEEE, as zlib and Zephyr's fs checksum) of `chunks`, when this Node has zlib.crc32. */
export function crc32Of(data: Uint8Array): number | undefined {
  return crc32 ? crc32(data) >>> 0 : undefined;
}

/** Whether zlib.crc32 is available (Node ≥ 20.15). */
export const hasCrc32 = crc32 !== undefined;

/** Streaming CRC-32 helper. */
export function crc32Update(data: Uint8Array, prev: number): number {
  return crc32!(data, prev) >>> 0;
}

/** Closes any file context the device holds (fs close); devices without the command are fine. */
export async function closeDeviceFile(session: SmpSession, timeoutMs?: number): Promise<void> {
  try {
    await session.request(Op.WRITE, Group.FS, FsCmd.CLOSE, {}, { timeoutMs });
  } catch (e) {
    // rc 8: a Zephyr from before the command. A lost answer: the close may or may not have
    // happened; the upload's exact-first-answer rule catches a stale context either way.
    if (e instanceof SmpDeviceError || e instanceof SmpTimeoutError) return;
    throw e;
  }
}
