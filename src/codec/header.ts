/**
 * The 8-byte SMP header (PROTOCOL.md §1). Multi-byte fields are big-endian.
 * @module
 */

/** SMP operation codes. */
export const Op = { READ: 0, READ_RSP: 1, WRITE: 2, WRITE_RSP: 3 } as const;
/** An SMP operation code (0..7; only 0..3 are defined). */
export type OpCode = number;

/** Size of the SMP header in bytes. */
export const SMP_HEADER_SIZE = 8;

/** A decoded SMP header. `version` is the wire value: 0 = SMP v1 (`rc`), 1 = SMP v2 (`err`). */
export interface SmpHeader {
  op: OpCode;
  version: number;
  flags: number;
  length: number;
  group: number;
  seq: number;
  id: number;
}

/** Writes `h` into 8 bytes. Throws a `RangeError` naming the field that is out of range. */
export function encodeHeader(h: SmpHeader, out: Buffer = Buffer.alloc(SMP_HEADER_SIZE), offset = 0): Buffer {
  return encodeHeaderFields(h, h.length, out, offset);
}

/** {@link encodeHeader} with the length apart (the packet builder knows it last; no header copy per packet). */
export function encodeHeaderFields(h: Omit<SmpHeader, 'length'>, length: number, out: Buffer, offset = 0): Buffer {
  checkInt('op', h.op, 7);
  checkInt('version', h.version, 3);
  checkInt('flags', h.flags, 0xff);
  checkInt('length', length, 0xffff);
  checkInt('group', h.group, 0xffff);
  checkInt('seq', h.seq, 0xff);
  checkInt('id', h.id, 0xff);
  out[offset] = ((h.version & 3) << 3) | (h.op & 7);
  out[offset + 1] = h.flags;
  out.writeUInt16BE(length, offset + 2);
  out.writeUInt16BE(h.group, offset + 4);
  out[offset + 6] = h.seq;
  out[offset + 7] = h.id;
  return out;
}

/** Reads a header from the first 8 bytes of `buf` (no validation beyond the size). */
export function decodeHeader(buf: Uint8Array, offset = 0): SmpHeader {
  if (buf.length - offset < SMP_HEADER_SIZE) {
    throw new RangeError(`an SMP header needs 8 bytes, got ${buf.length - offset}`);
  }
  const b0 = buf[offset]!;
  return {
    op: b0 & 7,
    version: (b0 >> 3) & 3,
    flags: buf[offset + 1]!,
    length: (buf[offset + 2]! << 8) | buf[offset + 3]!,
    group: (buf[offset + 4]! << 8) | buf[offset + 5]!,
    seq: buf[offset + 6]!,
    id: buf[offset + 7]!,
  };
}

/** Builds a whole SMP packet: header (with the right length) followed by `payload`. */
export function buildPacket(h: Omit<SmpHeader, 'length'>, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(SMP_HEADER_SIZE + payload.length);
  encodeHeader({ ...h, length: payload.length }, out, 0);
  out.set(payload, SMP_HEADER_SIZE);
  return out;
}

function checkInt(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`SMP header field "${name}" must be an integer 0..${max}, got ${v}`);
  }
}
