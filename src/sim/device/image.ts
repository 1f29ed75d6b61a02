/**
 * The simulated device's own, minimal MCUboot image handling (PROTOCOL.md §7): reading a slot
 * the way Zephyr's `img_mgmt_read_info` does, validating it the way MCUboot does before it boots
 * or lists an image, and building small valid images for initial slot contents and tests.
 *
 * This deliberately shares nothing with the client's `src/image/`: a device built from the
 * client's parser could not catch the client's bugs.
 * @module
 */
import { createHash } from 'node:crypto';
import { ImgErr } from './codes.js';

/** `IMAGE_MAGIC` (bytes `3D B8 F3 96`). */
export const IMAGE_MAGIC = 0x96f3b83d;
/** Size of the fixed image header. */
export const IMAGE_HEADER_SIZE = 32;
/** Protected TLV area info magic. */
export const TLV_PROT_INFO_MAGIC = 0x6908;
/** Unprotected TLV area info magic. */
export const TLV_INFO_MAGIC = 0x6907;
/** SHA-256 TLV type. */
export const TLV_SHA256 = 0x10;
/** `IMAGE_F_NON_BOOTABLE`. */
export const IMAGE_F_NON_BOOTABLE = 0x10;

/** An image version as stored in the header. */
export interface ImageVersion {
  major: number;
  minor: number;
  revision: number;
  build: number;
}

/** The header fields the device looks at. */
export interface ImageHeader {
  magic: number;
  loadAddr: number;
  hdrSize: number;
  protTlvSize: number;
  imgSize: number;
  flags: number;
  version: ImageVersion;
}

/** What `img_mgmt_read_info` reports for a slot. */
export type SlotInfo =
  | { ok: true; header: ImageHeader; version: ImageVersion; hash: Buffer; flags: number }
  | { ok: false; err: number };

/** Parses the 32-byte header at the start of `buf` (no validation). */
export function parseHeader(buf: Uint8Array): ImageHeader | undefined {
  if (buf.length < IMAGE_HEADER_SIZE) return undefined;
  const b = Buffer.from(buf.buffer, buf.byteOffset, IMAGE_HEADER_SIZE);
  return {
    magic: b.readUInt32LE(0),
    loadAddr: b.readUInt32LE(4),
    hdrSize: b.readUInt16LE(8),
    protTlvSize: b.readUInt16LE(10),
    imgSize: b.readUInt32LE(12),
    flags: b.readUInt32LE(16),
    version: { major: b[20]!, minor: b[21]!, revision: b.readUInt16LE(22), build: b.readUInt32LE(24) },
  };
}

/** `major.minor.revision`, plus `.build` only when build ≠ 0 (Zephyr and MCUboot alike). */
export function versionString(v: ImageVersion): string {
  const base = `${v.major}.${v.minor}.${v.revision}`;
  return v.build !== 0 ? `${base}.${v.build}` : base;
}

/** Parses `"1.2.3"`, `"1.2.3.4"` or `"1.2.3+4"` into an {@link ImageVersion}. */
export function parseVersion(text: string): ImageVersion {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:[.+](\d+))?$/.exec(text.trim());
  if (!m) throw new RangeError(`image version must look like "1.2.3" or "1.2.3.4", got "${text}"`);
  const v = { major: +m[1]!, minor: +m[2]!, revision: +m[3]!, build: m[4] ? +m[4] : 0 };
  if (v.major > 255 || v.minor > 255 || v.revision > 0xffff || v.build > 0xffffffff) {
    throw new RangeError(`image version "${text}" does not fit 255.255.65535.4294967295`);
  }
  return v;
}

/** Compares major.minor.revision (and build when `useBuild`), like `img_mgmt_vercmp`. */
export function compareVersions(a: ImageVersion, b: ImageVersion, useBuild = false): number {
  const fields: Array<keyof ImageVersion> = useBuild ? ['major', 'minor', 'revision', 'build'] : ['major', 'minor', 'revision'];
  for (const f of fields) {
    if (a[f] !== b[f]) return a[f] < b[f] ? -1 : 1;
  }
  return 0;
}

function u16(buf: Uint8Array, off: number): number | undefined {
  return off + 2 <= buf.length && off >= 0 ? buf[off]! | (buf[off + 1]! << 8) : undefined;
}

/**
 * Reads a slot like Zephyr's `img_mgmt_read_info`: header magic (erased → NO_IMAGE, other →
 * INVALID_IMAGE_HEADER_MAGIC), the optional protected TLV area, the unprotected TLV area, and
 * exactly one 32-byte SHA-256 TLV whose value is the image "hash". The hash is *not* checked
 * against the data (the running application never does that; MCUboot does, see
 * {@link validateImage}).
 */
export function readSlotInfo(slot: Uint8Array): SlotInfo {
  const hdr = parseHeader(slot);
  if (!hdr) return { ok: false, err: ImgErr.FLASH_READ_FAILED };
  if (hdr.magic === 0xffffffff) return { ok: false, err: ImgErr.NO_IMAGE };
  if (hdr.magic !== IMAGE_MAGIC) return { ok: false, err: ImgErr.INVALID_IMAGE_HEADER_MAGIC };
  let dataOff = hdr.hdrSize + hdr.imgSize;
  // Protected TLV area, if any: the unprotected area starts right after it.
  const pm = u16(slot, dataOff);
  const pt = u16(slot, dataOff + 2);
  if (pm === TLV_PROT_INFO_MAGIC && pt !== undefined) dataOff = dataOff + 4 + pt - 4;
  const um = u16(slot, dataOff);
  const ut = u16(slot, dataOff + 2);
  if (um !== TLV_INFO_MAGIC || ut === undefined) return { ok: false, err: ImgErr.NO_TLVS };
  dataOff += 4;
  const dataEnd = dataOff + ut;
  let hash: Buffer | undefined;
  while (dataOff + 4 <= dataEnd) {
    const type = u16(slot, dataOff);
    const len = u16(slot, dataOff + 2);
    if (type === undefined || len === undefined) return { ok: false, err: ImgErr.FLASH_READ_FAILED };
    if (type === 0xff && len === 0xffff) return { ok: false, err: ImgErr.INVALID_TLV };
    if (type !== TLV_SHA256 || len !== 32) {
      dataOff += 4 + len;
      continue;
    }
    if (hash) return { ok: false, err: ImgErr.TLV_MULTIPLE_HASHES_FOUND };
    dataOff += 4;
    if (dataOff + 32 > dataEnd) return { ok: false, err: ImgErr.TLV_INVALID_SIZE };
    if (dataOff + 32 > slot.length) return { ok: false, err: ImgErr.FLASH_READ_FAILED };
    hash = Buffer.from(slot.subarray(dataOff, dataOff + 32));
  }
  if (!hash) return { ok: false, err: ImgErr.HASH_NOT_FOUND };
  return { ok: true, header: hdr, version: hdr.version, hash, flags: hdr.flags };
}

/** Result of MCUboot-style validation. */
export interface ValidatedImage {
  header: ImageHeader;
  /** Value of the SHA-256 TLV (equal to the computed digest). */
  hash: Buffer;
  /** Total size: header + body + protected TLVs + unprotected TLV area. */
  totalSize: number;
}

/**
 * Validates a slot the way MCUboot's `bootutil_img_validate` does for a hash-only build: header
 * magic, TLV area layout (protected area size must match the header), a 32-byte SHA-256 TLV, and
 * the SHA-256 over header + body + protected TLVs equal to it. Signatures are not simulated.
 * @returns the image, or `undefined` when MCUboot would refuse it.
 */
export function validateImage(slot: Uint8Array): ValidatedImage | undefined {
  const hdr = parseHeader(slot);
  if (!hdr || hdr.magic !== IMAGE_MAGIC || hdr.hdrSize < IMAGE_HEADER_SIZE) return undefined;
  let off = hdr.hdrSize + hdr.imgSize;
  const protStart = off;
  const m0 = u16(slot, off);
  const t0 = u16(slot, off + 2);
  if (m0 === undefined || t0 === undefined) return undefined;
  if (m0 === TLV_PROT_INFO_MAGIC) {
    if (hdr.protTlvSize !== t0) return undefined;
    off += hdr.protTlvSize;
  } else if (hdr.protTlvSize !== 0) {
    return undefined;
  }
  const m1 = u16(slot, off);
  const t1 = u16(slot, off + 2);
  if (m1 !== TLV_INFO_MAGIC || t1 === undefined) return undefined;
  const end = off + t1;
  if (end > slot.length) return undefined;
  // Walk every TLV (protected ones first, then unprotected), looking for the SHA-256 one.
  let hash: Buffer | undefined;
  const walk = (from: number, to: number): boolean => {
    let p = from;
    while (p < to) {
      const type = u16(slot, p);
      const len = u16(slot, p + 2);
      if (type === undefined || len === undefined || p + 4 + len > to) return false;
      if (type === TLV_SHA256) {
        if (len !== 32 || hash) return false;
        hash = Buffer.from(slot.subarray(p + 4, p + 36));
      }
      p += 4 + len;
    }
    return true;
  };
  if (hdr.protTlvSize > 0 && !walk(protStart + 4, protStart + hdr.protTlvSize)) return undefined;
  if (!walk(off + 4, end)) return undefined;
  if (!hash) return undefined;
  const digest = createHash('sha256')
    .update(slot.subarray(0, hdr.hdrSize + hdr.imgSize + hdr.protTlvSize))
    .digest();
  if (!digest.equals(hash)) return undefined;
  return { header: hdr, hash, totalSize: end };
}

/** One TLV entry for {@link buildImage}. */
export interface TlvEntry {
  type: number;
  value: Uint8Array;
}

/** Options of {@link buildImage}. */
export interface BuildImageOptions {
  /** Version, `"1.2.3"`, `"1.2.3.4"` or an {@link ImageVersion}. Default `"1.0.0"`. */
  version?: string | ImageVersion;
  /** Image body (the "firmware"). Default: `bodySize` bytes of a deterministic pattern. */
  body?: Uint8Array;
  /** Body size when `body` is not given. Default 1024. */
  bodySize?: number;
  /** `ih_hdr_size` (header plus zero padding). Default 32; imgtool normally uses 0x200. */
  hdrSize?: number;
  /** `ih_flags`. Default 0. */
  flags?: number;
  /** `ih_load_addr`. Default 0. */
  loadAddr?: number;
  /** Protected TLVs (an area with magic 0x6908 is added when non-empty). */
  protectedTlvs?: TlvEntry[];
  /** Extra unprotected TLVs, written after the SHA-256 TLV. */
  extraTlvs?: TlvEntry[];
  /** Corrupt the stored SHA-256 (for "MCUboot refuses this image" tests). */
  badHash?: boolean;
}

/**
 * Builds a small, valid MCUboot image: header, body, optional protected TLVs, and an unprotected
 * TLV area whose first entry is the SHA-256 of header + body + protected TLVs.
 * With `{version: '1.2.3.4', body: 00..0F}` it reproduces the 88-byte image of PROTOCOL.md §9.4.
 */
export function buildImage(opts: BuildImageOptions = {}): Buffer {
  const version = typeof opts.version === 'object' ? opts.version : parseVersion(opts.version ?? '1.0.0');
  const body = opts.body ?? patternBody(opts.bodySize ?? 1024, version);
  const hdrSize = opts.hdrSize ?? IMAGE_HEADER_SIZE;
  if (hdrSize < IMAGE_HEADER_SIZE || hdrSize > 0xffff) throw new RangeError(`hdrSize must be 32..65535, got ${hdrSize}`);
  const prot = opts.protectedTlvs ?? [];
  const protArea = prot.length ? tlvArea(TLV_PROT_INFO_MAGIC, prot) : Buffer.alloc(0);
  const hdr = Buffer.alloc(hdrSize);
  hdr.writeUInt32LE(IMAGE_MAGIC, 0);
  hdr.writeUInt32LE(opts.loadAddr ?? 0, 4);
  hdr.writeUInt16LE(hdrSize, 8);
  hdr.writeUInt16LE(protArea.length, 10);
  hdr.writeUInt32LE(body.length, 12);
  hdr.writeUInt32LE(opts.flags ?? 0, 16);
  hdr[20] = version.major;
  hdr[21] = version.minor;
  hdr.writeUInt16LE(version.revision, 22);
  hdr.writeUInt32LE(version.build, 24);
  const signed = Buffer.concat([hdr, body, protArea]);
  const digest = createHash('sha256').update(signed).digest();
  if (opts.badHash) digest[0] = digest[0]! ^ 0xff;
  const unprot = tlvArea(TLV_INFO_MAGIC, [{ type: TLV_SHA256, value: digest }, ...(opts.extraTlvs ?? [])]);
  return Buffer.concat([signed, unprot]);
}

function tlvArea(magic: number, entries: TlvEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(e.type, 0);
    h.writeUInt16LE(e.value.length, 2);
    parts.push(h, Buffer.from(e.value));
  }
  const content = Buffer.concat(parts);
  const info = Buffer.alloc(4);
  info.writeUInt16LE(magic, 0);
  info.writeUInt16LE(content.length + 4, 2);
  return Buffer.concat([info, content]);
}

function patternBody(size: number, v: ImageVersion): Buffer {
  const b = Buffer.alloc(size);
  const seed = (v.major * 31 + v.minor * 7 + v.revision * 3 + v.build) & 0xff;
  for (let i = 0; i < size; i++) b[i] = (i * 13 + seed) & 0xff;
  return b;
}

/** SHA-256 helper (the upload `sha` of a whole file). */
export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}
