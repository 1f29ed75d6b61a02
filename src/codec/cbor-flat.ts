/**
 * A fast path for the answers that make up a transfer: a flat CBOR map (definite or indefinite,
 * as zcbor writes it) whose keys are short ASCII text and whose values are integers, booleans,
 * null, ASCII text or byte strings (`{ off: 4096 }`, `{ rc: 0, off: 512, match: true }`,
 * `{ off: 0, data: h'…' }`). Decoding one costs a fraction of cbor-x's general decoder, per chunk.
 *
 * It gives exactly what {@link decodeCborMap} gives (byte strings as Buffer views of the input,
 * 8-byte integers as numbers when exact, else BigInt, the last of repeated keys) or `undefined`
 * for anything else (nested items, floats, tags, non-ASCII text, `__proto__`, trailing bytes,
 * truncation), which then goes to cbor-x with its checks and errors.
 * @module
 */
import type { CborMap } from './cbor.js';

/** Maps longer than this take the general path (SMP answers have a handful of keys). */
const MAX_ENTRIES = 64;

/** Where the item read by {@link headArg} or {@link lengthArg} goes on (module state: no tuple per head). */
let after = 0;

/** Reads a length head's argument at `p` (8-byte lengths are cbor-x's to refuse); -1 when truncated or not plain. */
function lengthArg(b: Uint8Array, info: number, p: number): number {
  if (info > 26) return -1;
  return headArg(b, info, p) as number;
}

/**
 * Reads a head's argument at `p` (after the initial byte) and sets {@link after}; -1 when it is
 * truncated or not a plain argument. 8-byte values of 2^53 and beyond come back as BigInt.
 */
function headArg(b: Uint8Array, info: number, p: number): number | bigint {
  if (info < 24) {
    after = p;
    return info;
  }
  const w = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
  if (w === 0 || p + w > b.length) return -1;
  after = p + w;
  if (w === 1) return b[p]!;
  if (w === 2) return (b[p]! << 8) | b[p + 1]!;
  const hi = ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  if (w === 4) return hi;
  const lo = ((b[p + 4]! << 24) >>> 0) + ((b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!);
  return hi < 0x200000 ? hi * 2 ** 32 + lo : (BigInt(hi) << 32n) | BigInt(lo);
}

/** ASCII text of `b[from..to)`, or undefined when a byte is not ASCII. */
function ascii(b: Uint8Array, from: number, to: number): string | undefined {
  let s = '';
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if (c >= 0x80) return undefined;
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * Decodes `bytes` when it is one flat map of the kinds above, filling it exactly; `undefined`
 * otherwise (the caller then uses the general decoder).
 */
export function decodeFlatMap(bytes: Uint8Array): CborMap | undefined {
  const b = bytes;
  if (b.length === 0) return undefined;
  const ib = b[0]!;
  if (ib >> 5 !== 5) return undefined;
  let p = 1;
  let count: number;
  if (ib === 0xbf) count = -1;
  else {
    count = lengthArg(b, ib & 0x1f, p);
    if (count < 0 || count > MAX_ENTRIES) return undefined;
    p = after;
  }
  const out: CborMap = {};
  for (let n = 0; count < 0 || n < count; n++) {
    if (p >= b.length) return undefined;
    if (count < 0 && b[p] === 0xff) {
      p++;
      break;
    }
    if (n >= MAX_ENTRIES) return undefined;
    // Key: a definite ASCII text string.
    const kb = b[p]!;
    if (kb >> 5 !== 3) return undefined;
    const klen = lengthArg(b, kb & 0x1f, p + 1);
    if (klen < 0 || after + klen > b.length) return undefined;
    const key = ascii(b, after, after + klen);
    if (key === undefined || key === '__proto__') return undefined;
    p = after + klen;
    if (p >= b.length) return undefined;
    // Value.
    const vb = b[p]!;
    const major = vb >> 5;
    if (major === 0 || major === 1) {
      const v = headArg(b, vb & 0x1f, p + 1);
      if (v === -1) return undefined;
      if (major === 0) out[key] = v;
      else out[key] = typeof v === 'number' && v < Number.MAX_SAFE_INTEGER ? -1 - v : normaliseBig(-1n - BigInt(v));
      p = after;
    } else if (major === 2 || major === 3) {
      const len = lengthArg(b, vb & 0x1f, p + 1);
      if (len < 0 || after + len > b.length) return undefined;
      const end = after + len;
      if (major === 2) out[key] = Buffer.from(b.buffer, b.byteOffset + after, len);
      else {
        const s = ascii(b, after, end);
        if (s === undefined) return undefined;
        out[key] = s;
      }
      p = end;
    } else if (vb === 0xf4 || vb === 0xf5) {
      out[key] = vb === 0xf5;
      p++;
    } else if (vb === 0xf6) {
      out[key] = null;
      p++;
    } else return undefined;
  }
  return p === b.length ? out : undefined;
}

function normaliseBig(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
