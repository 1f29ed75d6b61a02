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
  sizes.length = frameSizesInto(n, split, sizes);
  return sizes;
}

/**
 * Writes the frame sizes from the start of `sizes` and returns how many: the encoder reuses one
 * array, never shortened (an emptied array drops its storage).
 */
function frameSizesInto(n: number, split: ConsoleSplit, sizes: number[]): number {
  let k = 0;
  if (split === 'plain') {
    let total = n + 4;
    while (total > 0) {
      const take = Math.min(RAW_PER_FRAME, total);
      sizes[k++] = take;
      total -= take;
    }
    return k;
  }
  let pos = 1; // the first packet byte travels with the two length bytes
  let frame = 3;
  for (;;) {
    const rem = n - pos;
    const slack = ZEPHYR_BUDGET - rem;
    if (slack >= 2) {
      sizes[k++] = frame + rem + 2;
      return k;
    }
    const take = slack >= 0 ? 87 : ZEPHYR_BUDGET; // one byte less than fits, in groups of 3
    sizes[k++] = frame + take;
    pos += take;
    frame = 0;
  }
}

/**
 * Frames `packet` for the console transport. Returns all lines concatenated (each ends in LF).
 * @throws RangeError when the packet is empty or longer than {@link MAX_CONSOLE_PACKET}.
 */
export function encodeConsole(packet: Uint8Array, split: ConsoleSplit = 'plain'): Buffer {
  return encodeConsoleParts([packet], split);
}

// Reused by every call (it is synchronous): a packet's frame sizes, its two stream ends, and a
// frame that straddles two parts.
const frameSizes: number[] = [];
const edge = Buffer.alloc(4);
const scratch = Buffer.alloc(RAW_PER_FRAME);

/** Length of segment `k` of the stream len ‖ parts ‖ crc (-1: the length bytes, parts.length: the CRC). */
function segLength(parts: readonly Uint8Array[], k: number): number {
  return k === -1 || k === parts.length ? 2 : parts[k]!.length;
}

/** A CRC16 that continues from `init` (XMODEM chains: crc(a ‖ b) = crc(b, crc(a))). */
export type Crc16 = (data: Uint8Array, init: number) => number;

/**
 * Frames the packet made of `parts` (in order) for the console transport, reading each part where
 * it lies: base64 is the only copy of the packet's bytes (a frame that straddles two parts is
 * gathered in a 93-byte scratch first).
 * @throws RangeError when the packet is empty or longer than {@link MAX_CONSOLE_PACKET}.
 */
export function encodeConsoleParts(parts: readonly Uint8Array[], split: ConsoleSplit = 'plain', crc: Crc16 = crc16): Buffer {
  let n = 0;
  let c = 0;
  for (let i = 0; i < parts.length; i++) {
    n += parts[i]!.length;
    c = crc(parts[i]!, c);
  }
  if (n < 1 || n > MAX_CONSOLE_PACKET) {
    throw new RangeError(`packet must be 1..${MAX_CONSOLE_PACKET} bytes for console framing, got ${n}`);
  }
  const sizes = frameSizes;
  const frames = frameSizesInto(n, split, sizes);
  let outLen = 0;
  for (let f = 0; f < frames; f++) outLen += 3 + base64Length(sizes[f]!);
  const out = Buffer.allocUnsafe(outLen);
  // The stream is len(2) ‖ parts ‖ crc(2): the two ends are read from `edge`, the parts in place.
  edge.writeUInt16BE(n + 2, 0);
  edge.writeUInt16BE(c, 2);
  let o = 0;
  let seg = -1; // -1: the length bytes, parts.length: the CRC bytes
  let at = 0;
  for (let f = 0; f < frames; f++) {
    const s = sizes[f]!;
    const marker = f === 0 ? MARKER_INITIAL : MARKER_CONTINUATION;
    out[o++] = marker[0];
    out[o++] = marker[1];
    while (at === segLength(parts, seg)) (seg++, (at = 0));
    if (seg >= 0 && seg < parts.length && parts[seg]!.length - at >= s) {
      o += base64EncodeInto(parts[seg]!, out, o, at, at + s);
      at += s;
    } else {
      let got = 0;
      while (got < s) {
        while (at === segLength(parts, seg)) (seg++, (at = 0));
        const take = Math.min(s - got, segLength(parts, seg) - at);
        const src = seg === -1 ? edge : seg === parts.length ? edge : parts[seg]!;
        const base = seg === parts.length ? 2 : 0;
        for (let k = 0; k < take; k++) scratch[got + k] = src[base + at + k]!;
        got += take;
        at += take;
      }
      o += base64EncodeInto(scratch, out, o, 0, s);
    }
    out[o++] = 0x0a;
  }
  return out;
}
