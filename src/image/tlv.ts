/**
 * MCUboot TLV areas (PROTOCOL.md §7.2): an info header `{magic u16, total u16}` followed by
 * entries `{type u16, len u16, value[len]}`, all little-endian.
 * @module
 */
import { ImageFormatError } from '../errors.js';
import { hex } from './header.js';

/** `it_magic` of the protected TLV area (covered by the image hash and signature). */
export const TLV_INFO_MAGIC_PROTECTED = 0x6908;
/** `it_magic` of the unprotected TLV area (always present; holds the hash and signatures). */
export const TLV_INFO_MAGIC = 0x6907;
/** Size of a TLV area's info header and of each entry's `{type, len}` header. */
export const TLV_HEADER_SIZE = 4;

/** Well-known TLV types. */
export const TlvType = {
  KEYHASH: 0x01,
  PUBKEY: 0x02,
  SHA256: 0x10,
  SHA384: 0x11,
  SHA512: 0x12,
  RSA2048_PSS: 0x20,
  ECDSA224: 0x21,
  ECDSA_SIG: 0x22,
  RSA3072_PSS: 0x23,
  ED25519: 0x24,
  SIG_PURE: 0x25,
  ENC_RSA2048: 0x30,
  ENC_KW: 0x31,
  ENC_EC256: 0x32,
  ENC_X25519: 0x33,
  ENC_X25519_SHA512: 0x34,
  DEPENDENCY: 0x40,
  SEC_CNT: 0x50,
  BOOT_RECORD: 0x60,
  DECOMP_SIZE: 0x70,
  DECOMP_SHA: 0x71,
  DECOMP_SIGNATURE: 0x72,
  COMP_DEC_SIZE: 0x73,
  UUID_VID: 0x74,
  UUID_CID: 0x75,
} as const;

const TLV_NAMES = new Map<number, string>(Object.entries(TlvType).map(([k, v]) => [v, k]));

/** The symbolic name of a TLV type (e.g. `SHA256` for 0x10), or `undefined` when unknown. */
export function tlvTypeName(type: number): string | undefined {
  return TLV_NAMES.get(type);
}

/** Hash algorithms MCUboot uses for the image hash TLV. */
export type ImageHashType = 'sha256' | 'sha384' | 'sha512';

/** The hash TLV type and value length of each algorithm. */
export const HASH_TLVS: Readonly<Record<ImageHashType, { type: number; length: number }>> = {
  sha256: { type: TlvType.SHA256, length: 32 },
  sha384: { type: TlvType.SHA384, length: 48 },
  sha512: { type: TlvType.SHA512, length: 64 },
};

/** The hash algorithm whose TLV has type `type`, if it is one. */
export function hashTypeOfTlv(type: number): ImageHashType | undefined {
  if (type === TlvType.SHA256) return 'sha256';
  if (type === TlvType.SHA384) return 'sha384';
  if (type === TlvType.SHA512) return 'sha512';
  return undefined;
}

/** One TLV entry of a parsed image. */
export interface ImageTlv {
  /** `it_type`. */
  type: number;
  /** Symbolic name when the type is well known (see {@link TlvType}). */
  typeName?: string;
  /** Offset of the entry's 4-byte `{type, len}` header in the file; the value follows it. */
  offset: number;
  /** The value (a copy; `it_len` bytes). */
  value: Buffer;
}

/** A TLV to write: type and value. */
export interface TlvInput {
  /** `it_type`, 0..0xffff. */
  type: number;
  /** The value; at most 0xffff bytes. */
  value: Uint8Array;
}

/**
 * Reads a TLV area that starts at `start` in `bytes`, whose info header must carry `magic`.
 * Returns the entries and the offset just past the area. `which` names the area in errors.
 * The number of entries is bounded by the area size (each entry takes at least 4 bytes).
 */
export function readTlvArea(
  bytes: Uint8Array,
  start: number,
  magic: number,
  which: 'protected' | 'unprotected',
): { tlvs: ImageTlv[]; end: number; total: number } {
  const name = `${which} TLV info (0x${hex(magic, 4)})`;
  if (start + TLV_HEADER_SIZE > bytes.length) {
    throw new ImageFormatError(
      `missing ${name} at offset ${start}: the file ends at ${bytes.length}`,
    );
  }
  const found = readU16(bytes, start);
  const total = readU16(bytes, start + 2);
  if (found !== magic) {
    let hint = '';
    if (found === TLV_INFO_MAGIC_PROTECTED && which === 'unprotected') {
      hint = ' (a protected TLV info header, but ih_protect_tlv_size is 0 or too small)';
    } else if (found === TLV_INFO_MAGIC && which === 'protected') {
      hint = ' (an unprotected TLV info header, but ih_protect_tlv_size says a protected area comes first)';
    }
    throw new ImageFormatError(
      `missing ${name} at offset ${start}: found magic 0x${hex(found, 4)}${hint}; expected 0x${hex(magic, 4)}`,
    );
  }
  if (total < TLV_HEADER_SIZE) {
    throw new ImageFormatError(
      `${which} TLV area at offset ${start} declares it_tlv_tot ${total}; expected at least ${TLV_HEADER_SIZE} (its own info header)`,
    );
  }
  const end = start + total;
  if (end > bytes.length) {
    throw new ImageFormatError(
      `${which} TLV area at offset ${start} declares ${total} bytes (to offset ${end}) but the file ends at ${bytes.length}`,
    );
  }
  const tlvs: ImageTlv[] = [];
  let off = start + TLV_HEADER_SIZE;
  while (off < end) {
    if (off + TLV_HEADER_SIZE > end) {
      throw new ImageFormatError(
        `${which} TLV entry at offset ${off} needs a 4-byte header but its area ends at ${end}`,
      );
    }
    const type = readU16(bytes, off);
    const len = readU16(bytes, off + 2);
    const valueEnd = off + TLV_HEADER_SIZE + len;
    if (valueEnd > end) {
      throw new ImageFormatError(
        `${which} TLV 0x${hex(type, 2)} at offset ${off} has it_len ${len} and runs to offset ${valueEnd}, past the end of its area at ${end}`,
      );
    }
    const tlv: ImageTlv = {
      type,
      offset: off,
      value: Buffer.from(bytes.subarray(off + TLV_HEADER_SIZE, valueEnd)),
    };
    const typeName = tlvTypeName(type);
    if (typeName !== undefined) tlv.typeName = typeName;
    tlvs.push(tlv);
    off = valueEnd;
  }
  return { tlvs, end, total };
}

/** Size of a TLV area (info header included) holding `tlvs`. */
export function tlvAreaSize(tlvs: readonly TlvInput[]): number {
  let n = TLV_HEADER_SIZE;
  for (const t of tlvs) n += TLV_HEADER_SIZE + t.value.length;
  return n;
}

/**
 * Writes a TLV area with info `magic` at `offset` of `out` and returns the offset past it.
 * @throws RangeError when a type or value length does not fit 16 bits, or the area exceeds 0xffff.
 */
export function writeTlvArea(out: Buffer, offset: number, magic: number, tlvs: readonly TlvInput[]): number {
  for (const t of tlvs) checkTlvInput(t);
  const total = tlvAreaSize(tlvs);
  if (total > 0xffff) throw new RangeError(`TLV area would be ${total} bytes; at most 65535 fit it_tlv_tot`);
  out.writeUInt16LE(magic, offset);
  out.writeUInt16LE(total, offset + 2);
  let off = offset + TLV_HEADER_SIZE;
  for (const t of tlvs) {
    out.writeUInt16LE(t.type, off);
    out.writeUInt16LE(t.value.length, off + 2);
    out.set(t.value, off + TLV_HEADER_SIZE);
    off += TLV_HEADER_SIZE + t.value.length;
  }
  return off;
}

/** @throws TypeError/RangeError for a TLV whose type or value cannot be written. */
export function checkTlvInput(t: TlvInput): void {
  if (t === null || typeof t !== 'object') throw new TypeError('a TLV must be an object {type, value}');
  if (!Number.isInteger(t.type) || t.type < 0 || t.type > 0xffff) {
    throw new RangeError(`TLV type ${String(t.type)} is not an integer 0..0xffff`);
  }
  if (!(t.value instanceof Uint8Array)) throw new TypeError(`TLV 0x${hex(t.type, 2)} value must be a Uint8Array`);
  if (t.value.length > 0xffff) {
    throw new RangeError(`TLV 0x${hex(t.type, 2)} value is ${t.value.length} bytes; at most 65535 fit it_len`);
  }
}

function readU16(b: Uint8Array, off: number): number {
  return b[off]! | (b[off + 1]! << 8);
}
