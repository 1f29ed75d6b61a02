/**
 * File system group (group 8, PROTOCOL.md §3.5): status, hash/checksum, supported hash types,
 * close. Upload and download are transfers (`transfer/file-upload.ts`, `file-download.ts`); the
 * client offers them as `client.fs.upload` and `client.fs.download`.
 * @module
 */
import { Op } from '../codec/header.js';
import type { CborMap } from '../codec/cbor.js';
import { Group, FsCmd } from '../protocol/ids.js';
import { SmpResponseError } from '../errors.js';
import {
  argCall,
  argOptions,
  argString,
  argUint,
  describe,
  need,
  needMap,
  opt,
  type CallOptions,
  type GroupHost,
} from './util.js';

/** Options of {@link FsGroup.hash}. */
export interface FsHashOptions extends CallOptions {
  /** Algorithm name (at most 8 bytes), e.g. `crc32` or `sha256`. Default: the device's (crc32 when enabled). */
  type?: string;
  /** Where to start, in bytes. Default 0. */
  off?: number;
  /** How many bytes to process (≥ 1). Default: to the end of the file. */
  len?: number;
}

/** The answer of {@link FsGroup.hash}. */
export interface FsHashResult {
  /** The algorithm used. */
  type: string;
  /** Start offset. */
  off: number;
  /** Bytes processed. */
  len: number;
  /** The value: a number for checksums (crc32), bytes for hashes (sha256). */
  output: number | Buffer;
}

/** One algorithm from {@link FsGroup.supportedHashes}. */
export interface FsHashType {
  /** Algorithm name, e.g. `crc32`. */
  name: string;
  /** How the output is sent: `number` (a CBOR uint) or `bytes` (a byte string). */
  format: 'number' | 'bytes';
  /** Output size in bytes. */
  size: number;
}

const W = 'fs';
/** Zephyr's `HASH_CHECKSUM_TYPE_SIZE`: a longer `type` is rejected with rc 3 (EINVAL). */
const HASH_TYPE_MAX_BYTES = 8;
const NAME_HINT = 'pass an absolute device path such as "/lfs1/data.bin"';

/** Checks a device file path. */
export function argPath(name: string, v: unknown): string {
  return argString(name, v, { nonEmpty: true, hint: NAME_HINT });
}

/** The file system group's commands; reach it as `client.fs`. */
export class FsGroup {
  readonly #host: GroupHost;

  /** @internal */
  constructor(host: GroupHost) {
    this.#host = host;
  }

  /** The size of a device file, in bytes. */
  async status(name: string, options?: CallOptions): Promise<{ size: number }> {
    argPath('name', name);
    const call = argCall(options);
    const { body } = await this.#host.request(Op.READ, Group.FS, FsCmd.STATUS, { name }, call);
    return { size: need(body, 'len', 'uint', `${W} status`) };
  }

  /**
   * Hashes or checksums (part of) a device file (needs `MCUMGR_GRP_FS_CHECKSUM_HASH`).
   * Uses the long timeout: the device reads the whole range before answering.
   * @example
   * ```ts
   * const { output } = await client.fs.hash('/lfs1/a.bin', { type: 'sha256' });
   * ```
   */
  async hash(name: string, options?: FsHashOptions): Promise<FsHashResult> {
    argPath('name', name);
    const o = argOptions('options', options);
    const call = argCall(o);
    const body: CborMap = { name };
    if (o.type !== undefined) {
      body.type = argString('options.type', o.type, { nonEmpty: true, maxBytes: HASH_TYPE_MAX_BYTES, hint: 'e.g. "crc32" or "sha256"' });
    }
    if (o.off !== undefined) body.off = argUint('options.off', o.off);
    if (o.len !== undefined) body.len = argUint('options.len', o.len, { min: 1 });
    const { body: rsp } = await this.#host.request(Op.READ, Group.FS, FsCmd.HASH_CHECKSUM, body, { ...call, timeoutClass: 'long' });
    const what = `${W} hash`;
    const output = rsp.output;
    let out: number | Buffer;
    if (typeof output === 'number' && Number.isInteger(output) && output >= 0) out = output;
    else if (typeof output === 'bigint') out = Number(output);
    else if (output instanceof Uint8Array) out = Buffer.from(output);
    else if (output === undefined) throw new SmpResponseError(`the device's answer to ${what} lacks the field "output" (a number or a byte string)`);
    else throw new SmpResponseError(`the device's answer to ${what} has "output" as ${describe(output)}, expected a number or a byte string`);
    return {
      type: need(rsp, 'type', 'string', what),
      off: opt(rsp, 'off', 'uint', what) ?? 0,
      len: need(rsp, 'len', 'uint', what),
      output: out,
    };
  }

  /** Same as {@link FsGroup.hash}; the name used for checksum types such as `crc32`. */
  checksum(name: string, options?: FsHashOptions): Promise<FsHashResult> {
    return this.hash(name, options);
  }

  /** The hash/checksum algorithms the device offers (needs `..._CHECKSUM_HASH_SUPPORTED_CMD`). */
  async supportedHashes(options?: CallOptions): Promise<FsHashType[]> {
    const call = argCall(options);
    const { body } = await this.#host.request(Op.READ, Group.FS, FsCmd.SUPPORTED_HASHES, {}, call);
    const what = `${W} supported hashes`;
    return Object.entries(need(body, 'types', 'map', what)).map(([name, v]) => {
      const t = needMap(v, `types["${name}"]`, what);
      const w = `${what} (types["${name}"])`;
      const f = need(t, 'format', 'uint', w);
      return { name, format: f === 0 ? 'number' : 'bytes', size: need(t, 'size', 'uint', w) };
    });
  }

  /** Closes any file the device holds open for an upload or download. */
  async close(options?: CallOptions): Promise<void> {
    const call = argCall(options);
    await this.#host.request(Op.WRITE, Group.FS, FsCmd.CLOSE, {}, call);
  }
}

/**
 * The fields of a file upload request (command 0) other than `data`, which the transfer appends
 * once it has sized the chunk: the first chunk also carries the file's size (`len`).
 */
export function fileUploadFields(name: string, off: number, len?: number): CborMap {
  return len === undefined ? { name, off } : { name, off: 0, len };
}

/** The request of one file download chunk (command 0, read). */
export function fileDownloadRequest(name: string, off: number): CborMap {
  return { name, off };
}

/** The data of a file download answer at `off`, checked against the file size `total`. */
export function fileDownloadData(body: CborMap, off: number, total: number): Buffer {
  const d = body.data;
  if (!Buffer.isBuffer(d)) throw new SmpResponseError(`download answer at offset ${off} has no "data" byte string`);
  if (off + d.length > total) throw new SmpResponseError(`download answer at offset ${off} runs past the file size ${total}`);
  return d;
}
