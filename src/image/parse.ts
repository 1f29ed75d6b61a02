/**
 * Parsing and validating MCUboot image files (PROTOCOL.md §7).
 * @module
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { ImageFormatError } from '../errors.js';
import { describe } from '../describe.js';
import {
  decodeImageFlags,
  decodeImageHeader,
  hex,
  IMAGE_HEADER_SIZE,
  type ImageFlags,
  type ImageHeader,
} from './header.js';
import {
  HASH_TLVS,
  hashTypeOfTlv,
  readTlvArea,
  TLV_HEADER_SIZE,
  TLV_INFO_MAGIC,
  TLV_INFO_MAGIC_PROTECTED,
  type ImageHashType,
  type ImageTlv,
} from './tlv.js';
import { formatVersion, type ImageVersion } from './version.js';

/** Largest image file this library accepts (64 MiB); larger input is refused before parsing. */
export const MAX_IMAGE_FILE_SIZE = 64 * 1024 * 1024;

/** Everything {@link parseImage} learns about an image file. */
export interface ImageInfo {
  /** The raw header fields. */
  header: ImageHeader;
  /** `ih_flags` decoded. */
  flags: ImageFlags;
  /** The image version from the header. */
  version: ImageVersion;
  /** The version as Zephyr and MCUboot print it: `major.minor.revision`, plus `.build` when build ≠ 0. */
  versionString: string;
  /**
   * The image hash: the value of the hash TLV. This is the `hash` the device reports in its image
   * list and expects in the image-state (test/confirm) command. It is read from the file, not
   * computed from it.
   */
  hash: Buffer;
  /** Algorithm of {@link ImageInfo.hash}, from the hash TLV's type (0x10, 0x11 or 0x12). */
  hashType: ImageHashType;
  /**
   * Whether the hash was recomputed over header + body + protected TLVs and found equal.
   * `false` when verification was turned off, or for encrypted images (their hash covers the
   * plaintext, which the file does not hold).
   */
  hashVerified: boolean;
  /** Entries of the protected TLV area (empty when `ih_protect_tlv_size` is 0). */
  protectedTlvs: ImageTlv[];
  /** Entries of the unprotected TLV area (hash, signatures, key TLVs, …). */
  tlvs: ImageTlv[];
  /**
   * SHA-256 of the whole file as given, padding included: the `sha` field of an image upload
   * (not the image hash).
   */
  uploadSha: Buffer;
  /** Size of the file in bytes. */
  size: number;
  /**
   * Offset just past the unprotected TLV area: `hdrSize + imgSize + protectTlvSize + it_tlv_tot`.
   * Bytes from here to {@link ImageInfo.size} are padding.
   */
  imageEnd: number;
}

/** Options of {@link parseImage} and {@link readImageInfo}. */
export interface ParseImageOptions {
  /**
   * Recompute the image hash and refuse the file when it differs from the hash TLV. Default
   * `true`. Encrypted images are never verified (see {@link ImageInfo.hashVerified}).
   */
  verifyHash?: boolean;
}

/**
 * Parses and validates an MCUboot image held in memory.
 *
 * Checks the header magic and sizes, both TLV areas, that exactly one hash TLV of the right
 * length exists, and (unless `verifyHash: false`) that the hash matches the bytes it covers.
 * Trailing bytes after the TLV areas are accepted as padding.
 *
 * @throws ImageFormatError (code `IMAGE_ERR_FORMAT`) naming the field that is wrong and what
 *   was expected.
 * @throws TypeError when `bytes` is not a `Uint8Array`.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const info = parseImage(readFileSync('zephyr.signed.bin'));
 * console.log(info.versionString, info.hash.toString('hex'));
 * ```
 */
export function parseImage(bytes: Uint8Array, options: ParseImageOptions = {}): ImageInfo {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`parseImage expects a Uint8Array or Buffer, got ${describe(bytes)}`);
  }
  const size = bytes.length;
  if (size > MAX_IMAGE_FILE_SIZE) {
    throw new ImageFormatError(
      `file is ${size} bytes; images larger than ${MAX_IMAGE_FILE_SIZE} bytes (64 MiB) are refused`,
    );
  }
  const { header, version } = decodeImageHeader(bytes);
  const flags = decodeImageFlags(header.flags);

  if (header.hdrSize < IMAGE_HEADER_SIZE) {
    throw new ImageFormatError(
      `ih_hdr_size is ${header.hdrSize}; expected at least ${IMAGE_HEADER_SIZE} (the fixed header)`,
    );
  }
  if (header.hdrSize > size) {
    throw new ImageFormatError(
      `ih_hdr_size is ${header.hdrSize} but the file is only ${size} bytes; expected the header to fit in the file`,
    );
  }
  const bodyEnd = header.hdrSize + header.imgSize;
  if (bodyEnd > size) {
    throw new ImageFormatError(
      `ih_img_size is ${header.imgSize}: the body would end at offset ${bodyEnd} but the file is only ${size} bytes`,
    );
  }

  let protectedTlvs: ImageTlv[] = [];
  if (header.protectTlvSize !== 0) {
    if (header.protectTlvSize < TLV_HEADER_SIZE) {
      throw new ImageFormatError(
        `ih_protect_tlv_size is ${header.protectTlvSize}; expected 0 or at least ${TLV_HEADER_SIZE} (the protected TLV info header)`,
      );
    }
    const area = readTlvArea(bytes, bodyEnd, TLV_INFO_MAGIC_PROTECTED, 'protected');
    if (area.total !== header.protectTlvSize) {
      throw new ImageFormatError(
        `protected TLV info at offset ${bodyEnd} has it_tlv_tot ${area.total}; expected ${header.protectTlvSize} (ih_protect_tlv_size)`,
      );
    }
    protectedTlvs = area.tlvs;
    for (const t of protectedTlvs) {
      if (hashTypeOfTlv(t.type) !== undefined) {
        throw new ImageFormatError(
          `hash TLV 0x${hex(t.type, 2)} at offset ${t.offset} is in the protected TLV area, which the hash itself covers; expected it in the unprotected area`,
        );
      }
    }
  }
  const hashedEnd = bodyEnd + header.protectTlvSize;
  const unprot = readTlvArea(bytes, hashedEnd, TLV_INFO_MAGIC, 'unprotected');
  const tlvs = unprot.tlvs;

  const hashTlvs = tlvs.filter((t) => hashTypeOfTlv(t.type) !== undefined);
  if (hashTlvs.length === 0) {
    throw new ImageFormatError(
      `no hash TLV in the unprotected TLV area; expected one of type 0x10 (SHA256), 0x11 (SHA384) or 0x12 (SHA512)`,
    );
  }
  if (hashTlvs.length > 1) {
    const list = hashTlvs.map((t) => `0x${hex(t.type, 2)} at offset ${t.offset}`).join(', ');
    throw new ImageFormatError(`found ${hashTlvs.length} hash TLVs (${list}); expected exactly one`);
  }
  const hashTlv = hashTlvs[0]!;
  const hashType = hashTypeOfTlv(hashTlv.type)!;
  const want = HASH_TLVS[hashType].length;
  if (hashTlv.value.length !== want) {
    throw new ImageFormatError(
      `hash TLV 0x${hex(hashTlv.type, 2)} (${hashType.toUpperCase()}) at offset ${hashTlv.offset} is ${hashTlv.value.length} bytes; expected ${want}`,
    );
  }

  let hashVerified = false;
  if (options.verifyHash !== false && flags.encrypted === undefined) {
    const actual = createHash(hashType).update(bytes.subarray(0, hashedEnd)).digest();
    if (!actual.equals(hashTlv.value)) {
      throw new ImageFormatError(
        `hash TLV 0x${hex(hashTlv.type, 2)} holds ${hashTlv.value.toString('hex')} but the ${hashType.toUpperCase()} ` +
          `of bytes [0, ${hashedEnd}) (header + body + protected TLVs) is ${actual.toString('hex')}; expected them to match`,
      );
    }
    hashVerified = true;
  }

  return {
    header,
    flags,
    version,
    versionString: formatVersion(version),
    hash: Buffer.from(hashTlv.value),
    hashType,
    hashVerified,
    protectedTlvs,
    tlvs,
    uploadSha: createHash('sha256').update(bytes).digest(),
    size,
    imageEnd: unprot.end,
  };
}

/**
 * Reads an image from a file path (or takes a buffer) and parses it with {@link parseImage}.
 * Files over 64 MiB are refused before they are read.
 *
 * @throws ImageFormatError for a malformed image or one that is too large; file-system errors
 *   (e.g. `ENOENT`) are passed through.
 * @example
 * ```ts
 * const info = await readImageInfo('build/zephyr/zephyr.signed.bin');
 * console.log(`version ${info.versionString}, hash ${info.hash.toString('hex')}`);
 * console.log(`upload sha ${info.uploadSha.toString('hex')}`);
 * ```
 */
export async function readImageInfo(
  bufferOrPath: Uint8Array | string,
  options: ParseImageOptions = {},
): Promise<ImageInfo> {
  if (typeof bufferOrPath === 'string') {
    const st = await stat(bufferOrPath);
    if (!st.isFile()) throw new ImageFormatError(`${bufferOrPath} is not a regular file`);
    if (st.size > MAX_IMAGE_FILE_SIZE) {
      throw new ImageFormatError(
        `${bufferOrPath} is ${st.size} bytes; images larger than ${MAX_IMAGE_FILE_SIZE} bytes (64 MiB) are refused`,
      );
    }
    return parseImage(await readFile(bufferOrPath), options);
  }
  return parseImage(bufferOrPath, options);
}
