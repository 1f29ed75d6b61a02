/**
 * Options of a serial transport, checked once with their defaults, whatever byte link carries it.
 * @module
 */
import { MAX_CONSOLE_PACKET, SMP_HEADER_SIZE } from '../codec/index.js';
import { checkEncoding, type SerialEncoding } from './framing.js';

/** Options of a serial transport (native or `serialport` fallback). */
export interface SerialTransportOptions {
  /** Device path, e.g. `/dev/ttyACM0` or a PTY's slave path. */
  path: string;
  /** Line speed; a standard rate. Default 115200. */
  baudRate?: number;
  /** Wire encoding. Default `console` (base64 lines, what Zephyr's UART transport speaks). */
  encoding?: SerialEncoding;
  /**
   * Largest SMP packet (header + CBOR) accepted in either direction. Default: 16384 for what is
   * received, the encoding's own limit for what is sent.
   */
  maxPacket?: number;
  /**
   * Raw encoding only: a partial packet with no new byte for this long is dropped, as the device
   * does with its input timeout (PROTOCOL.md §5.4). Default 3500 ms; 0 disables it.
   */
  rawStallMs?: number;
}

/** Validated options with their defaults. */
export interface ResolvedSerialOptions {
  path: string;
  baudRate: number;
  encoding: SerialEncoding;
  /** Receive cap of the decoder. */
  maxPacket: number;
  /** Send limit. */
  sendLimit: number;
  rawStallMs: number;
}

const DEFAULT_RECEIVE_CAP = 16384;

/** Largest packet each encoding can carry. */
function encodingLimit(encoding: SerialEncoding): number {
  switch (encoding) {
    case 'console':
      return MAX_CONSOLE_PACKET;
    case 'cobs':
      return 0xffff;
    case 'raw':
      return 0xffff + SMP_HEADER_SIZE;
  }
}

/** Checks serial options; throws a TypeError/RangeError that names the option and the fix. */
export function resolveSerialOptions(opts: SerialTransportOptions): ResolvedSerialOptions {
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError('serial options must be an object like { path: "/dev/ttyACM0" }');
  }
  const { path } = opts;
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    throw new TypeError(`serial option "path" must be a non-empty device path such as /dev/ttyACM0; got ${JSON.stringify(path)}`);
  }
  const baudRate = opts.baudRate ?? 115200;
  if (typeof baudRate !== 'number' || !Number.isInteger(baudRate) || baudRate <= 0) {
    throw new RangeError(`serial option "baudRate" must be a positive integer such as 115200; got ${String(baudRate)}`);
  }
  const encoding = checkEncoding(opts.encoding ?? 'console');
  const limit = encodingLimit(encoding);
  let maxPacket = DEFAULT_RECEIVE_CAP;
  let sendLimit = limit;
  if (opts.maxPacket !== undefined) {
    const m = opts.maxPacket;
    if (typeof m !== 'number' || !Number.isInteger(m) || m < SMP_HEADER_SIZE || m > limit) {
      throw new RangeError(`serial option "maxPacket" must be an integer ${SMP_HEADER_SIZE}..${limit} for ${encoding}; got ${String(m)}`);
    }
    maxPacket = m;
    sendLimit = m;
  }
  maxPacket = Math.min(maxPacket, limit);
  const rawStallMs = opts.rawStallMs ?? 3500;
  if (typeof rawStallMs !== 'number' || !Number.isFinite(rawStallMs) || rawStallMs < 0) {
    throw new RangeError(`serial option "rawStallMs" must be a number of milliseconds >= 0; got ${String(rawStallMs)}`);
  }
  return { path, baudRate, encoding, maxPacket, sendLimit, rawStallMs };
}
