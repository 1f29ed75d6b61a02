/**
 * SMP packets as lists of pieces: an upload chunk's bytes stay where the caller holds them (a
 * view of the image) and travel as their own piece, behind a small piece with the SMP header and
 * the rest of the CBOR map. The transport writes the pieces in one go (writev) or encodes them
 * one after the other, so the chunk is never joined into a packet first.
 * @module
 */
import { encodeCborTransient, type CborMap } from './cbor.js';
import { SMP_HEADER_SIZE, encodeHeader, type SmpHeader } from './header.js';
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
  if (body instanceof Uint8Array) {
    const head = Buffer.allocUnsafe(SMP_HEADER_SIZE);
    encodeHeader({ ...h, length: checkLength(body.length) }, head, 0);
    return { parts: [head, asBuffer(body)], payloadLength: body.length };
  }
  const entries = Object.entries(body);
  const gathered = entries.length < 24 && entries.some(([, v]) => isLarge(v));
  if (!gathered) {
    const payload = encodeCborTransient(body);
    const out = Buffer.allocUnsafe(SMP_HEADER_SIZE + payload.length);
    encodeHeader({ ...h, length: checkLength(payload.length) }, out, 0);
    out.set(payload, SMP_HEADER_SIZE);
    return { parts: [out], payloadLength: payload.length };
  }
  // Runs of small entries are encoded by cbor-x as maps of their own, whose one-byte head (fewer
  // than 24 entries) is dropped; a large byte string gets its key and head here and follows by
  // reference. Pending bytes may be views of cbor-x's scratch: they are copied out (cut) before
  // the next encode.
  const parts: Buffer[] = [];
  const pending: Uint8Array[] = [Buffer.from([0xa0 | entries.length])];
  let pendingLength = 1;
  let payloadLength = 0;
  let run: CborMap | undefined;
  const add = (b: Uint8Array): void => {
    pending.push(b);
    pendingLength += b.length;
  };
  const encodeRun = (): void => {
    if (run) add(encodeCborTransient(run).subarray(1));
    run = undefined;
  };
  const cut = (): void => {
    const lead = parts.length === 0 ? SMP_HEADER_SIZE : 0;
    const out = Buffer.allocUnsafe(lead + pendingLength);
    let o = lead;
    for (const b of pending) {
      out.set(b, o);
      o += b.length;
    }
    parts.push(out);
    payloadLength += pendingLength;
    pending.length = 0;
    pendingLength = 0;
  };
  for (const [k, v] of entries) {
    if (!isLarge(v)) {
      // defineProperty: a key named __proto__ must stay an entry, as it is in `body`.
      Object.defineProperty((run ??= {}), k, { value: v, enumerable: true, writable: true, configurable: true });
      continue;
    }
    encodeRun();
    const key = Buffer.from(k);
    add(stringHead(3, key.length));
    add(key);
    add(stringHead(2, v.length));
    cut();
    parts.push(asBuffer(v));
    payloadLength += v.length;
  }
  encodeRun();
  if (pendingLength > 0) cut();
  encodeHeader({ ...h, length: checkLength(payloadLength) }, parts[0]!, 0);
  return { parts, payloadLength };
}

/** Writes a sequence number into the header at the start of `first` (the packet's first piece). */
export function setSeq(first: Buffer, seq: number): void {
  first[6] = seq;
}

function isLarge(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array && v.length >= GATHER_MIN_BYTES;
}

/** The CBOR head of a byte string (major 2) or text string (major 3) of `n` bytes. */
function stringHead(major: 2 | 3, n: number): Buffer {
  const m = major << 5;
  if (n < 24) return Buffer.from([m | n]);
  if (n < 0x100) return Buffer.from([m | 24, n]);
  if (n < 0x10000) return Buffer.from([m | 25, n >> 8, n & 0xff]);
  const b = Buffer.allocUnsafe(5);
  b[0] = m | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

function checkLength(n: number): number {
  if (n > 0xffff) throw new SmpFrameSizeError(`request payload of ${n} bytes exceeds the 16-bit length field`);
  return n;
}

function asBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}
