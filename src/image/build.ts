/**
 * Building valid MCUboot images (unsigned: hash TLV only) for tests, the simulator and demos.
 * @module
 */
import { createHash } from 'node:crypto';
import { encodeImageHeader, IMAGE_HEADER_SIZE } from './header.js';
import { MAX_IMAGE_FILE_SIZE } from './parse.js';
import {
  checkTlvInput,
  HASH_TLVS,
  tlvAreaSize,
  TLV_INFO_MAGIC,
  TLV_INFO_MAGIC_PROTECTED,
  writeTlvArea,
  type ImageHashType,
  type TlvInput,
} from './tlv.js';
import { checkVersion, parseVersion, type ImageVersion } from './version.js';

/** Options of {@link buildImage}. */
export interface BuildImageOptions {
  /** The body bytes. Give either this or {@link BuildImageOptions.size}; neither means an empty body. */
  body?: Uint8Array;
  /** Size of a deterministic pseudo-random body (see {@link deterministicBytes}). */
  size?: number;
  /** Seed of the pseudo-random body. Default 1. */
  seed?: number;
  /** Image version, e.g. `'1.2.3'`, `'1.2.3+4'` or an object. Default `0.0.0`. */
  version?: string | ImageVersion;
  /** `ih_hdr_size`: 32 (default) or more, e.g. 0x200 like imgtool; the extra bytes are zero. */
  hdrSize?: number;
  /** `ih_load_addr`. Default 0. */
  loadAddr?: number;
  /**
   * `ih_flags` as a number (see `ImageFlag`). Default 0. Note that the encryption flags only mark
   * the image; the body is not encrypted.
   */
  flags?: number;
  /** Entries of the protected TLV area (covered by the hash). None by default: no protected area. */
  protectedTlvs?: TlvInput[];
  /** Hash algorithm of the hash TLV. Default `'sha256'` (the only one Zephyr's img_mgmt reads). */
  hashType?: ImageHashType;
  /** Further unprotected TLVs written after the hash TLV (e.g. a fake signature). */
  extraTlvs?: TlvInput[];
  /** Pad the file with {@link BuildImageOptions.padByte} up to this total size. */
  padTo?: number;
  /** Byte used for padding. Default 0xff (erased flash). */
  padByte?: number;
}

/**
 * Builds a well-formed MCUboot image: header, body, optional protected TLV area, and an
 * unprotected TLV area holding the correct hash TLV (over header + body + protected area)
 * followed by any extra TLVs, then optional padding. The image is not signed.
 *
 * @throws TypeError/RangeError for options that cannot be encoded (field out of range, …).
 * @example
 * ```ts
 * const img = buildImage({ body: Buffer.from('hello'), version: '1.2.3+4', hdrSize: 0x200 });
 * parseImage(img).versionString; // '1.2.3.4'
 * const big = buildImage({ size: 100_000, seed: 7, version: '2.0.0', padTo: 128 * 1024 });
 * ```
 */
export function buildImage(opts: BuildImageOptions = {}): Buffer {
  if (opts === null || typeof opts !== 'object') throw new TypeError('buildImage expects an options object');
  if (opts.body !== undefined && opts.size !== undefined) {
    throw new TypeError('buildImage takes either body or size, not both');
  }
  let body: Uint8Array;
  if (opts.body !== undefined) {
    if (!(opts.body instanceof Uint8Array)) throw new TypeError('body must be a Uint8Array');
    body = opts.body;
  } else {
    const size = opts.size ?? 0;
    checkInt('size', size, 0, MAX_IMAGE_FILE_SIZE);
    body = deterministicBytes(size, opts.seed ?? 1);
  }
  const version = typeof opts.version === 'string' ? parseVersion(opts.version) : (opts.version ?? zeroVersion());
  checkVersion(version);
  const hdrSize = opts.hdrSize ?? IMAGE_HEADER_SIZE;
  checkInt('hdrSize', hdrSize, IMAGE_HEADER_SIZE, 0xffff);
  const loadAddr = opts.loadAddr ?? 0;
  checkInt('loadAddr', loadAddr, 0, 0xffffffff);
  const flags = opts.flags ?? 0;
  checkInt('flags', flags, 0, 0xffffffff);
  const hashType = opts.hashType ?? 'sha256';
  const hashSpec = HASH_TLVS[hashType];
  if (!hashSpec) throw new RangeError(`hashType ${String(hashType)} is not one of sha256, sha384, sha512`);
  const protectedTlvs = opts.protectedTlvs ?? [];
  const extraTlvs = opts.extraTlvs ?? [];
  for (const t of [...protectedTlvs, ...extraTlvs]) checkTlvInput(t);

  const protectTlvSize = protectedTlvs.length > 0 ? tlvAreaSize(protectedTlvs) : 0;
  if (protectTlvSize > 0xffff) {
    throw new RangeError(`protected TLV area would be ${protectTlvSize} bytes; at most 65535 fit ih_protect_tlv_size`);
  }
  const hashTlv: TlvInput = { type: hashSpec.type, value: new Uint8Array(hashSpec.length) };
  const unprotected = [hashTlv, ...extraTlvs];
  const unprotSize = tlvAreaSize(unprotected);
  if (unprotSize > 0xffff) throw new RangeError(`unprotected TLV area would be ${unprotSize} bytes; at most 65535 fit`);

  const bodyEnd = hdrSize + body.length;
  const hashedEnd = bodyEnd + protectTlvSize;
  const imageEnd = hashedEnd + unprotSize;
  const total = opts.padTo ?? imageEnd;
  checkInt('padTo', total, imageEnd, MAX_IMAGE_FILE_SIZE);
  const padByte = opts.padByte ?? 0xff;
  checkInt('padByte', padByte, 0, 0xff);

  const out = Buffer.alloc(total);
  encodeImageHeader({ loadAddr, hdrSize, protectTlvSize, imgSize: body.length, flags }, version, out);
  out.set(body, hdrSize);
  if (protectTlvSize > 0) writeTlvArea(out, bodyEnd, TLV_INFO_MAGIC_PROTECTED, protectedTlvs);
  hashTlv.value = createHash(hashType).update(out.subarray(0, hashedEnd)).digest();
  writeTlvArea(out, hashedEnd, TLV_INFO_MAGIC, unprotected);
  out.fill(padByte, imageEnd);
  return out;
}

/**
 * Deterministic pseudo-random bytes (xorshift32) for test bodies: the same `size` and `seed`
 * always give the same bytes. Not for cryptographic use.
 */
export function deterministicBytes(size: number, seed = 1): Buffer {
  checkInt('size', size, 0, Number.MAX_SAFE_INTEGER);
  if (!Number.isFinite(seed)) throw new RangeError(`seed ${String(seed)} is not a finite number`);
  const out = Buffer.allocUnsafe(size);
  // Mix the seed so that nearby seeds start far apart; xorshift32 needs a non-zero state.
  let x = (Math.imul((seed >>> 0) ^ 0x5bd1e995, 0x9e3779b1) >>> 0) || 0x12345678;
  let i = 0;
  while (i < size) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    for (let k = 0; k < 4 && i < size; k++, i++) out[i] = (x >>> (8 * k)) & 0xff;
  }
  return out;
}

function zeroVersion(): ImageVersion {
  return { major: 0, minor: 0, revision: 0, build: 0 };
}

function checkInt(name: string, n: number, min: number, max: number): void {
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RangeError(`${name} is ${String(n)}; expected an integer ${min}..${max}`);
  }
}
