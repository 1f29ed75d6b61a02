/**
 * SMP packets as lists of pieces: an upload chunk's bytes stay where the caller holds them (a
 * view of the image) and travel as their own piece, behind a small piece with the SMP header and
 * the rest of the CBOR map. The transport writes the pieces in one go (writev) or encodes them
 * one after the other, so the chunk is never joined into a packet first.
 * @module
 */
import { encodeCborTransient, type CborMap } from './cbor.js';
import { SMP_HEADER_SIZE, encodeHeaderFields, type SmpHeader } from './header.js';
import { SmpFrameSizeError } from '../errors.js';

/** Byte strings of the top-level map at least this long travel as their own piece. */
export const GATHER_MIN_BYTES = 64;

/** A packet as pieces to be written in order; the first starts with the 8-byte SMP header. */
export interface PacketParts {
  readonly parts: Buffer[];
  /** Bytes of the CBOR payload (the packet is this plus the header). */
  readonly payloadLength: number;
}

/**
 * Builds the packet of `body` as pieces. The bytes are exactly those of
 * `buildPacket(h, encodeCbor(body))`; the first piece is newly allocated, so its header may be
 * rewritten in place ({@link setSeq}), and large top-level byte strings are the caller's own.
 * @example
 * const { parts } = buildPacketParts({ op: 2, version: 1, flags: 0, group: 1, seq: 0, id: 1 }, { off: 0, data: chunk });
 * parts[1] === chunk; // true for chunks of 64 bytes or more
 */
export function buildPacketParts(h: Omit<SmpHeader, 'length'>, body: CborMap | Uint8Array): PacketParts {
  const parts = packetParts(h, body);
  return { parts, payloadLength: parts[0]!.readUInt16BE(2) };
}

/** {@link buildPacketParts} without the result object (the session's path, once per request). */
export function packetParts(h: Omit<SmpHeader, 'length'>, body: CborMap | Uint8Array): Buffer[] {
  if (body instanceof Uint8Array) {
    const head = Buffer.allocUnsafe(SMP_HEADER_SIZE);
    encodeHeaderFields(h, checkLength(body.length), head, 0);
    return [head, asBuffer(body)];
  }
  // for-in over a plain object allocates no key list (this runs for every upload chunk).
  let count = 0;
  let gathered = false;
  for (const k in body) {
    if (!Object.hasOwn(body, k)) continue;
    count++;
    if (!gathered && isLarge(body[k])) gathered = true;
  }
  if (!gathered || count >= 24) {
    const payload = encodeCborTransient(body);
    const out = Buffer.allocUnsafe(SMP_HEADER_SIZE + payload.length);
    encodeHeaderFields(h, checkLength(payload.length), out, 0);
    out.set(payload, SMP_HEADER_SIZE);
    return [out];
  }
  // Runs of small entries are encoded by cbor-x as maps of their own, whose one-byte head (fewer
  // than 24 entries) is dropped; a large byte string gets its key and head here and follows by
  // reference. The bytes between two large strings gather in `scratch` and become one piece.
  let parts: Buffer[] | undefined; // made at its first pieces, at their size (no growth slack)
  let s = SMP_HEADER_SIZE; // the first piece leaves room for the header
  let payloadLength = 1;
  scratch[s++] = 0xa0 | count;
  let run: CborMap | undefined;
  for (const k in body) {
    if (!Object.hasOwn(body, k)) continue;
    const v = body[k];
    if (!isLarge(v)) {
      // A plain value goes straight into `scratch` (every upload chunk's `off`); anything else,
      // and everything after it until the next large string, is encoded by cbor-x in order.
      const end = run ? -1 : writeEntry(k, v, s);
      if (end >= 0) {
        payloadLength += end - s;
        s = end;
        continue;
      }
      // defineProperty: a key named __proto__ must stay an entry, as it is in `body`.
      Object.defineProperty((run ??= {}), k, { value: v, enumerable: true, writable: true, configurable: true });
      continue;
    }
    if (run) {
      const e = flushRun(run, s);
      payloadLength += e - s;
      s = e;
      run = undefined;
    }
    const data = v as Uint8Array;
    const keyLength = Buffer.byteLength(k);
    s = ensureScratch(s, keyLength + 10);
    const before = s;
    s = writeHead(3, keyLength, s);
    s += scratch.write(k, s);
    s = writeHead(2, data.length, s);
    payloadLength += s - before + data.length;
    if (parts) parts.push(copyScratch(s), asBuffer(data));
    else parts = [copyScratch(s), asBuffer(data)];
    s = 0;
  }
  if (run) {
    const e = flushRun(run, s);
    payloadLength += e - s;
    s = e;
  }
  // `gathered` guarantees a large string, so the pieces exist.
  if (s > 0) parts!.push(copyScratch(s));
  encodeHeaderFields(h, checkLength(payloadLength), parts![0]!, 0);
  return parts!;
}

/** Writes the entries of `run` (cbor-x's map without its one-byte head) at `at` in `scratch`; returns their end. */
function flushRun(run: CborMap, at: number): number {
  const enc = encodeCborTransient(run);
  const s = ensureScratch(at, enc.length);
  scratch.set(enc.subarray(1), s);
  return s + enc.length - 1;
}

/**
 * Writes the entry `key: v` at `at` in `scratch` when `v` is a value whose CBOR is plain to write
 * (integers to 32 bits, strings, booleans, null, short byte strings) and returns its end, or -1
 * (nothing written) when cbor-x must encode it. The bytes are those cbor-x writes (held to it by
 * `test/codec-parts.test.ts`).
 */
function writeEntry(key: string, v: unknown, at: number): number {
  let valueBytes: number;
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v >= 0x100000000 || v < -0x80000000) return -1;
    valueBytes = 5;
  } else if (typeof v === 'string') valueBytes = 5 + Buffer.byteLength(v);
  else if (typeof v === 'boolean' || v === null) valueBytes = 1;
  else if (v instanceof Uint8Array) valueBytes = 5 + v.length;
  else return -1;
  const keyLength = Buffer.byteLength(key);
  let s = ensureScratch(at, 5 + keyLength + valueBytes);
  s = writeHead(3, keyLength, s);
  s += scratch.write(key, s);
  if (typeof v === 'number') return v >= 0 ? writeHead(0, v, s) : writeHead(1, -1 - v, s);
  if (typeof v === 'string') {
    s = writeHead(3, valueBytes - 5, s);
    return s + scratch.write(v, s);
  }
  if (v instanceof Uint8Array) {
    s = writeHead(2, v.length, s);
    scratch.set(v, s);
    return s + v.length;
  }
  scratch[s] = v === true ? 0xf5 : v === false ? 0xf4 : 0xf6;
  return s + 1;
}

/** Gathers the small bytes of a packet between large strings (grows when a run is larger). */
let scratch = Buffer.allocUnsafe(1024);

function copyScratch(n: number): Buffer {
  const piece = Buffer.allocUnsafe(n);
  // A loop for the few bytes between large strings: Buffer#copy of a range makes a view first.
  if (n <= 64) for (let i = 0; i < n; i++) piece[i] = scratch[i]!;
  else scratch.copy(piece, 0, 0, n);
  return piece;
}

/** Makes room for `more` bytes after `used` in `scratch`; returns `used`. */
function ensureScratch(used: number, more: number): number {
  if (used + more > scratch.length) {
    const bigger = Buffer.allocUnsafe(Math.max(scratch.length * 2, used + more));
    scratch.copy(bigger, 0, 0, used);
    scratch = bigger;
  }
  return used;
}

/** Writes a sequence number into the header at the start of `first` (the packet's first piece). */
export function setSeq(first: Buffer, seq: number): void {
  first[6] = seq;
}

function isLarge(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array && v.length >= GATHER_MIN_BYTES;
}

/** Writes the CBOR head of major type `major` (0 uint, 1 negative, 2 bytes, 3 text) with argument `n` < 2^32 at `at` in `scratch`. */
function writeHead(major: 0 | 1 | 2 | 3, n: number, at: number): number {
  const m = major << 5;
  if (n < 24) {
    scratch[at] = m | n;
    return at + 1;
  }
  if (n < 0x100) {
    scratch[at] = m | 24;
    scratch[at + 1] = n;
    return at + 2;
  }
  if (n < 0x10000) {
    scratch[at] = m | 25;
    scratch.writeUInt16BE(n, at + 1);
    return at + 3;
  }
  scratch[at] = m | 26;
  scratch.writeUInt32BE(n, at + 1);
  return at + 5;
}

function checkLength(n: number): number {
  if (n > 0xffff) throw new SmpFrameSizeError(`request payload of ${n} bytes exceeds the 16-bit length field`);
  return n;
}

function asBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}
