/**
 * Console framing encoder (PROTOCOL.md §4): SMP packet → newline-terminated base64 frames.
 * Pure-TS twin of the addon's `encodeConsole`.
 * @module
 */
import { crc16 } from './crc16.js';
import { base64EncodeInto, base64Length } from './base64.js';

/**
 * How a packet is cut into frames.
 * - `plain`: base64 of the whole `len|packet|crc` stream cut every 93 raw bytes (124 characters),
 *   as mcumgr-toolkit and MCUboot send it. The CRC may straddle two frames.
 * - `zephyr`: the exact split of Zephyr's `mcumgr_serial_tx_pkt` (93 raw bytes in the first frame,
 *   at most 90 after, CRC never split) — what a Zephyr device sends.
 */
export type ConsoleSplit = 'plain' | 'zephyr';

/** Frame start markers. */
export const MARKER_INITIAL = [0x06, 0x09] as const;
export const MARKER_CONTINUATION = [0x04, 0x14] as const;
/** Largest frame including markers and LF (`MCUMGR_SERIAL_MAX_FRAME`). */
export const MAX_CONSOLE_FRAME = 127;
/** Raw bytes a 127-byte frame can carry: 124 base64 characters. */
const RAW_PER_FRAME = 93;
/** Zephyr's budget after the length triple of the first frame; never restored (§4.2). */
const ZEPHYR_BUDGET = 90;
/** Largest packet whose `len` (packet + CRC) fits the 16-bit length prefix. */
export const MAX_CONSOLE_PACKET = 0xffff - 2;

/** Raw-byte sizes of the frames that carry an `n`-byte packet. */
export function consoleFrameSizes(n: number, split: ConsoleSplit): number[] {
  const sizes: number[] = [];
  if (split === 'plain') {
    let total = n + 4;
    while (total > 0) {
      const take = Math.min(RAW_PER_FRAME, total);
      sizes.push(take);
      total -= take;
    }
    return sizes;
  }
  let pos = 1; // the first packet byte travels with the two length bytes
  let frame = 3;
  for (;;) {
    const rem = n - pos;
    const slack = ZEPHYR_BUDGET - rem;
    if (slack >= 2) {
      sizes.push(frame + rem + 2);
      return sizes;
    }
    const take = slack >= 0 ? 87 : ZEPHYR_BUDGET; // one byte less than fits, in groups of 3
    sizes.push(frame + take);
    pos += take;
    frame = 0;
  }
}

/**
 * Frames `packet` for the console transport. Returns all lines concatenated (each ends in LF).
 * @throws RangeError when the packet is empty or longer than {@link MAX_CONSOLE_PACKET}.
 */
export function encodeConsole(packet: Uint8Array, split: ConsoleSplit = 'plain'): Buffer {
  const n = packet.length;
  if (n < 1 || n > MAX_CONSOLE_PACKET) {
    throw new RangeError(`packet must be 1..${MAX_CONSOLE_PACKET} bytes for console framing, got ${n}`);
  }
  const stream = Buffer.allocUnsafe(n + 4);
  stream.writeUInt16BE(n + 2, 0);
  stream.set(packet, 2);
  stream.writeUInt16BE(crc16(packet), n + 2);
  const sizes = consoleFrameSizes(n, split);
  let outLen = 0;
  for (const s of sizes) outLen += 3 + base64Length(s);
  const out = Buffer.allocUnsafe(outLen);
  let o = 0;
  let p = 0;
  for (let f = 0; f < sizes.length; f++) {
    const s = sizes[f]!;
    const marker = f === 0 ? MARKER_INITIAL : MARKER_CONTINUATION;
    out[o++] = marker[0];
    out[o++] = marker[1];
    o += base64EncodeInto(stream.subarray(p, p + s), out, o);
    out[o++] = 0x0a;
    p += s;
  }
  return out;
}
