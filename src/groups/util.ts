/**
 * Shared helpers of the group namespaces: the host interface each group talks through, checks
 * of caller arguments (raised before any byte is sent), and checks of the fields a device's
 * answer promises (raised as {@link SmpResponseError} naming the missing or mistyped field).
 * @module
 */
import type { CborMap } from '../codec/cbor.js';
import { SmpResponseError } from '../errors.js';
import { throwIfDeviceError, type SmpResponse } from '../session.js';
import { describe } from '../describe.js';

export { describe };

/** Which deadline a command gets when the caller does not pass `timeoutMs`. */
export type TimeoutClass = 'default' | 'long' | 'reset';

/** Options every command accepts as its last argument. */
export interface CallOptions {
  /** Deadline for this answer, in ms; overrides the client's timeout for the command's class. */
  timeoutMs?: number;
  /** Cancels the request; the promise rejects with `AbortError`. */
  signal?: AbortSignal;
}

/** How a group sends a request (implemented by `MCUmgrClient`). */
export interface GroupRequest extends CallOptions {
  /** Timeout class when `timeoutMs` is not given. Default `'default'`. */
  timeoutClass?: TimeoutClass;
  /** Return the body untouched even when it carries `rc`/`err` (the caller interprets it). */
  rawErrors?: boolean;
}

/** What a group namespace needs from its client. */
export interface GroupHost {
  /**
   * Sends one request. READ requests are retried after timeouts as the client is configured;
   * rejects with `SmpClosedError` once the client is closed.
   */
  request(op: number, group: number, id: number, body: CborMap, opts?: GroupRequest): Promise<SmpResponse>;
  /** The serial encoding when the link is serial, else `undefined` (UDP, in-memory). */
  serialEncoding(): 'console' | 'raw' | 'cobs' | undefined;
  /** The deadline of a timeout class, in ms. */
  timeoutFor(cls: TimeoutClass): number;
  /** Remembers what `os mcumgr params` answered. */
  rememberParams(p: { bufSize: number; bufCount: number }): void;
}

/* ------------------------------------------------------------------------------------------ */
/* Argument checks                                                                              */
/* ------------------------------------------------------------------------------------------ */

/** Checks a string argument. */
export function argString(
  name: string,
  v: unknown,
  opts: { nonEmpty?: boolean; maxBytes?: number; hint?: string } = {},
): string {
  if (typeof v !== 'string') {
    throw new TypeError(`${name} must be a string, got ${describe(v)}${opts.hint ? `; ${opts.hint}` : ''}`);
  }
  if (opts.nonEmpty && v.length === 0) {
    throw new RangeError(`${name} must not be empty${opts.hint ? `; ${opts.hint}` : ''}`);
  }
  if (v.includes('\0')) throw new RangeError(`${name} must not contain NUL characters`);
  if (opts.maxBytes !== undefined) {
    const n = Buffer.byteLength(v, 'utf8');
    if (n > opts.maxBytes) {
      throw new RangeError(`${name} is ${n} bytes of UTF-8; at most ${opts.maxBytes} fit${opts.hint ? `; ${opts.hint}` : ''}`);
    }
  }
  return v;
}

/** Checks an unsigned integer argument. */
export function argUint(name: string, v: unknown, opts: { min?: number; max?: number } = {}): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${name} must be an integer, got ${describe(v)}`);
  }
  const min = opts.min ?? 0;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  if (v < min || v > max) throw new RangeError(`${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

/** Checks a boolean argument. */
export function argBool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be true or false, got ${describe(v)}`);
  return v;
}

/**
 * Checks an integer argument within `min..max` (a RangeError names the range, and `why` says
 * what the number is when the name does not).
 */
export function argInt(name: string, v: unknown, min: number, max: number, why?: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${name} must be an integer ${min}..${max}${why ? ` (${why})` : ''}, got ${describe(v)}`);
  }
  return v;
}

/** Checks a finite number argument within `min..max`. */
export function argNumber(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new RangeError(`${name} must be a number ${min}..${max}, got ${describe(v)}`);
  }
  return v;
}

/** Checks a deadline in ms: positive, finite, and no more than a timer takes (2^31 − 1). */
export function argMs(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 2 ** 31 - 1) {
    throw new RangeError(`${name} must be a positive number of milliseconds, got ${describe(v)}`);
  }
  return v;
}

/** Checks an options object (undefined becomes `{}`). */
export function argOptions<T extends object>(name: string, v: T | undefined): T {
  if (v === undefined) return {} as T;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new TypeError(`${name} must be an options object, got ${describe(v)}`);
  }
  return v;
}

/** Checks the per-call options every command accepts. */
export function argCall(opts: CallOptions | undefined, name = 'options'): CallOptions {
  const o = argOptions(name, opts);
  if (o.timeoutMs !== undefined) argMs(`${name}.timeoutMs`, o.timeoutMs);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new TypeError(`${name}.signal must be an AbortSignal, got ${describe(o.signal)}`);
  }
  return { timeoutMs: o.timeoutMs, signal: o.signal };
}

/**
 * Checks a byte argument: a `Uint8Array`/`Buffer`, or a hex string when `hex` is allowed
 * (whitespace and `:` separators ignored). Returns a Buffer.
 */
export function argBytes(name: string, v: unknown, opts: { hex?: boolean; lengths?: readonly number[] } = {}): Buffer {
  let b: Buffer;
  if (v instanceof Uint8Array) b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  else if (typeof v === 'string' && opts.hex) {
    const clean = v.replace(/[\s:]/g, '');
    if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
      throw new TypeError(`${name} must be hex digits (an even number of 0-9/a-f), got ${describe(v)}`);
    }
    b = Buffer.from(clean, 'hex');
  } else {
    throw new TypeError(`${name} must be a Buffer or Uint8Array${opts.hex ? ' or a hex string' : ''}, got ${describe(v)}`);
  }
  if (opts.lengths && !opts.lengths.includes(b.length)) {
    throw new RangeError(`${name} must be ${opts.lengths.join(', ')} bytes long, got ${b.length}`);
  }
  return b;
}

/* ------------------------------------------------------------------------------------------ */
/* Response checks                                                                              */
/* ------------------------------------------------------------------------------------------ */

type FieldKind = 'string' | 'uint' | 'int' | 'bool' | 'bytes' | 'map' | 'array' | 'number';

const KIND_TEXT: Record<FieldKind, string> = {
  string: 'a text string',
  uint: 'an unsigned integer',
  int: 'an integer',
  number: 'a number',
  bool: 'a boolean',
  bytes: 'a byte string',
  map: 'a map',
  array: 'an array',
};

function isKind(v: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'uint':
      return (typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'bigint' && v >= 0n);
    case 'int':
      return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
    case 'number':
      return typeof v === 'number' || typeof v === 'bigint';
    case 'bool':
      return typeof v === 'boolean';
    case 'bytes':
      return v instanceof Uint8Array;
    case 'map':
      return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
    case 'array':
      return Array.isArray(v);
  }
}

/** Value types of {@link need}/{@link opt} by kind. */
export interface FieldTypes {
  string: string;
  uint: number;
  int: number;
  number: number;
  bool: boolean;
  bytes: Buffer;
  map: CborMap;
  array: unknown[];
}

function convert<K extends FieldKind>(v: unknown, kind: K): FieldTypes[K] {
  if (kind === 'bytes') return (Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array)) as FieldTypes[K];
  if ((kind === 'uint' || kind === 'int' || kind === 'number') && typeof v === 'bigint') return Number(v) as FieldTypes[K];
  return v as FieldTypes[K];
}

/**
 * A required field of an answer.
 * @param what names the command, e.g. `os echo`, for the message.
 * @throws SmpResponseError naming the field when it is missing or has the wrong type.
 */
export function need<K extends FieldKind>(body: CborMap, key: string, kind: K, what: string): FieldTypes[K] {
  const v = body[key];
  if (v === undefined) {
    throw new SmpResponseError(`the device's answer to ${what} lacks the field "${key}" (${KIND_TEXT[kind]})`);
  }
  if (!isKind(v, kind)) {
    throw new SmpResponseError(`the device's answer to ${what} has "${key}" as ${describe(v)}, expected ${KIND_TEXT[kind]}`);
  }
  return convert(v, kind);
}

/** An optional field of an answer: `undefined` when absent, a {@link SmpResponseError} when mistyped. */
export function opt<K extends FieldKind>(body: CborMap, key: string, kind: K, what: string): FieldTypes[K] | undefined {
  if (body[key] === undefined) return undefined;
  return need(body, key, kind, what);
}

/** Requires `v` to be a map, for items of arrays and nested maps. */
export function needMap(v: unknown, path: string, what: string): CborMap {
  if (!isKind(v, 'map')) throw new SmpResponseError(`the device's answer to ${what} has ${path} as ${describe(v)}, expected a map`);
  return v as CborMap;
}

/**
 * The `off` of an upload answer (image or file upload), after turning device errors into
 * exceptions: where the device wants the next chunk.
 */
export function uploadAnswerOffset(rsp: SmpResponse, group: number, command: number): number {
  throwIfDeviceError(rsp, group, command);
  const off = rsp.body.off;
  if (typeof off !== 'number' || !Number.isInteger(off) || off < 0) {
    throw new SmpResponseError(`upload answer has no valid "off" field (got ${JSON.stringify(off)})`);
  }
  return off;
}
