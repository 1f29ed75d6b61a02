/**
 * The 32-byte MCUboot image header (PROTOCOL.md §7.1). All fields are little-endian.
 * @module
 */
import { ImageFormatError } from '../errors.js';
import type { ImageVersion } from './version.js';

/** `ih_magic` of a current MCUboot image (bytes `3D B8 F3 96` in the file). */
export const IMAGE_MAGIC = 0x96f3b83d;
/** `ih_magic` of the legacy MCUboot v1 image format, which this library does not read. */
export const IMAGE_MAGIC_V1 = 0x96f3b83c;
/** What an erased flash word reads as; seen when a slot or a file holds no image. */
export const IMAGE_MAGIC_ERASED = 0xffffffff;
/** Size of the fixed part of the header; `ih_hdr_size` may be larger (padding, usually 0x200). */
export const IMAGE_HEADER_SIZE = 32;

/** Bits of `ih_flags`. */
export const ImageFlag = {
  /** Position-independent code (not supported by MCUboot, kept for completeness). */
  PIC: 0x01,
  /** Body encrypted with AES-128. */
  ENCRYPTED_AES128: 0x04,
  /** Body encrypted with AES-256. */
  ENCRYPTED_AES256: 0x08,
  /** Split-image application that cannot be booted on its own. */
  NON_BOOTABLE: 0x10,
  /** Image is copied into RAM at `ih_load_addr` before it runs. */
  RAM_LOAD: 0x20,
  /** Image runs from the fixed ROM address `ih_load_addr`. */
  ROM_FIXED: 0x100,
  /** Body compressed with LZMA1. */
  COMPRESSED_LZMA1: 0x200,
  /** Body compressed with LZMA2. */
  COMPRESSED_LZMA2: 0x400,
  /** ARM Thumb filter applied before compression. */
  COMPRESSED_ARM_THUMB: 0x800,
} as const;

/** The raw header fields, named after the C struct members in camelCase. */
export interface ImageHeader {
  /** `ih_magic`; always {@link IMAGE_MAGIC} in a parsed image. */
  magic: number;
  /** `ih_load_addr`: load/ROM address, used with the RAM-load and ROM-fixed flags. */
  loadAddr: number;
  /** `ih_hdr_size`: header size including its padding (≥ 32). The body starts here. */
  hdrSize: number;
  /** `ih_protect_tlv_size`: size of the protected TLV area including its 4-byte info header, or 0. */
  protectTlvSize: number;
  /** `ih_img_size`: size of the body (without header and TLVs). */
  imgSize: number;
  /** `ih_flags` as a number; see {@link ImageFlags} for the decoded form. */
  flags: number;
}

/** `ih_flags` decoded. */
export interface ImageFlags {
  /** The raw `ih_flags` value. */
  raw: number;
  /** Position-independent code. */
  pic: boolean;
  /** Encryption of the body, or `undefined` for a plain image. */
  encrypted: 'aes128' | 'aes256' | undefined;
  /** Not bootable on its own. */
  nonBootable: boolean;
  /** Loaded into RAM before it runs. */
  ramLoad: boolean;
  /** Runs from a fixed ROM address. */
  romFixed: boolean;
  /** Body is compressed (LZMA1 or LZMA2, optionally with the ARM Thumb filter). */
  compressed: boolean;
}

/** Decodes `ih_flags`. Setting both encryption bits is refused because no image can be both. */
export function decodeImageFlags(raw: number): ImageFlags {
  const aes128 = (raw & ImageFlag.ENCRYPTED_AES128) !== 0;
  const aes256 = (raw & ImageFlag.ENCRYPTED_AES256) !== 0;
  if (aes128 && aes256) {
    throw new ImageFormatError(
      `ih_flags 0x${hex(raw, 8)} sets both ENCRYPTED_AES128 (0x04) and ENCRYPTED_AES256 (0x08); expected at most one`,
    );
  }
  return {
    raw,
    pic: (raw & ImageFlag.PIC) !== 0,
    encrypted: aes128 ? 'aes128' : aes256 ? 'aes256' : undefined,
    nonBootable: (raw & ImageFlag.NON_BOOTABLE) !== 0,
    ramLoad: (raw & ImageFlag.RAM_LOAD) !== 0,
    romFixed: (raw & ImageFlag.ROM_FIXED) !== 0,
    compressed: (raw & (ImageFlag.COMPRESSED_LZMA1 | ImageFlag.COMPRESSED_LZMA2)) !== 0,
  };
}

/**
 * Reads the fixed 32-byte header at the start of `bytes` and checks the magic.
 * Does not look at anything past the header; {@link parseImage} does the rest.
 */
export function decodeImageHeader(bytes: Uint8Array): { header: ImageHeader; version: ImageVersion } {
  if (bytes.length < IMAGE_HEADER_SIZE) {
    throw new ImageFormatError(
      `file is ${bytes.length} bytes; an MCUboot image needs at least the ${IMAGE_HEADER_SIZE}-byte header`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, IMAGE_HEADER_SIZE);
  const magic = dv.getUint32(0, true);
  if (magic !== IMAGE_MAGIC) {
    let why = 'not an MCUboot image';
    if (magic === IMAGE_MAGIC_V1) why = 'this is the legacy MCUboot v1 magic, which is not supported';
    else if (magic === IMAGE_MAGIC_ERASED) why = 'the bytes read as erased flash (0xff), so no image is present';
    throw new ImageFormatError(
      `ih_magic is 0x${hex(magic, 8)}; expected 0x${hex(IMAGE_MAGIC, 8)} (${why})`,
    );
  }
  const header: ImageHeader = {
    magic,
    loadAddr: dv.getUint32(4, true),
    hdrSize: dv.getUint16(8, true),
    protectTlvSize: dv.getUint16(10, true),
    imgSize: dv.getUint32(12, true),
    flags: dv.getUint32(16, true),
  };
  const version: ImageVersion = {
    major: dv.getUint8(20),
    minor: dv.getUint8(21),
    revision: dv.getUint16(22, true),
    build: dv.getUint32(24, true),
  };
  return { header, version };
}

/** Writes the 32-byte header (magic included) into `out` at `offset`. Fields must be in range. */
export function encodeImageHeader(
  header: Omit<ImageHeader, 'magic'>,
  version: ImageVersion,
  out: Buffer,
  offset = 0,
): void {
  out.writeUInt32LE(IMAGE_MAGIC, offset);
  out.writeUInt32LE(header.loadAddr, offset + 4);
  out.writeUInt16LE(header.hdrSize, offset + 8);
  out.writeUInt16LE(header.protectTlvSize, offset + 10);
  out.writeUInt32LE(header.imgSize, offset + 12);
  out.writeUInt32LE(header.flags, offset + 16);
  out.writeUInt8(version.major, offset + 20);
  out.writeUInt8(version.minor, offset + 21);
  out.writeUInt16LE(version.revision, offset + 22);
  out.writeUInt32LE(version.build, offset + 24);
  out.writeUInt32LE(0, offset + 28);
}

/** Lower-case hex with zero padding to `width` digits. */
export function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}
