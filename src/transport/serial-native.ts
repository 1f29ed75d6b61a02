/**
 * The serial transport over the addon's own POSIX serial I/O: worker-safe (each port is polled on
 * the event loop of the thread that opened it), for Linux and macOS. The framing (console, raw,
 * COBS) is {@link SerialFraming}; this file adds what a byte stream needs around it: the raw
 * encoding's stall timeout and the COBS leading delimiter.
 * @module
 */
import { native, type NativeAddon, type NativeSerialPort } from '../addon.js';
import { MAX_CONSOLE_PACKET, SMP_HEADER_SIZE } from '../codec/index.js';
import { SmpClosedError, TransportError } from '../errors.js';
import { TransportEmitter } from './emitter.js';
import { SerialFraming, checkEncoding, type SerialEncoding } from './framing.js';
import type { Transport, TransportEvents } from './transport.js';

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

/** A serial transport: a {@link Transport} plus what only a byte stream has. */
export interface SerialTransport extends Transport {
  readonly path: string;
  readonly baudRate: number;
  readonly encoding: SerialEncoding;
  readonly maxPacket: number;
  /** Resolves once every byte sent so far has been handed to the OS. */
  drain(): Promise<void>;
  /**
   * Forgets any partial packet received and, for COBS, sends a `0x00` before the next frame so the
   * device drops a stale partial frame too (PROTOCOL.md §5.5). Call it after a timeout.
   */
  flush(): void;
  /** Undoes {@link Transport.unref}. */
  ref?(): void;
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

/**
 * The byte-stream side both serial transports share: framing, the raw stall timer, the COBS
 * leading delimiter. Not a transport by itself.
 */
export class SerialStream {
  readonly framing: SerialFraming;
  readonly #opts: ResolvedSerialOptions;
  #needDelimiter: boolean;
  #stall: NodeJS.Timeout | undefined;

  constructor(opts: ResolvedSerialOptions) {
    this.#opts = opts;
    this.framing = new SerialFraming({ encoding: opts.encoding, maxPacket: opts.maxPacket });
    this.#needDelimiter = opts.encoding === 'console';
  }

  /** Checks a packet the user wants to send; throws a TypeError/RangeError. */
  check(packet: unknown): asserts packet is Uint8Array {
    if (!(packet instanceof Uint8Array)) throw new TypeError('send(packet): packet must be a Buffer holding an SMP packet');
    if (packet.length < SMP_HEADER_SIZE) {
      throw new RangeError(`send(packet): an SMP packet is at least ${SMP_HEADER_SIZE} bytes; got ${packet.length}`);
    }
    if (packet.length > this.#opts.sendLimit) {
      throw new RangeError(
        `send(packet): ${packet.length} bytes exceed the ${this.#opts.sendLimit}-byte limit of this ${this.#opts.encoding} serial link; send smaller chunks`,
      );
    }
  }

  /**
   * The bytes to write for `packet`. COBS: every frame starts with a 0x00, one byte that flushes
   * whatever partial frame the device may hold from a request lost on the way (MCUboot's COBS
   * receiver has no timeout; an empty frame is ignored). Console: the first frame after open or
   * flush starts with an LF, which ends any partial line a previous client left in the device's
   * line buffer (an empty line is ignored by Zephyr and MCUboot).
   */
  encode(packet: Uint8Array): Buffer {
    const buf = Buffer.isBuffer(packet) ? packet : Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
    const frame = this.framing.encode(buf);
    if (this.#opts.encoding === 'cobs') return Buffer.concat([ZERO, frame]);
    if (this.#needDelimiter) {
      this.#needDelimiter = false;
      return Buffer.concat([LF, frame]);
    }
    return frame;
  }

  /** Feeds bytes read; returns the packets they completed. */
  feed(chunk: Buffer): Buffer[] {
    const packets = this.framing.decode(chunk);
    if (this.#opts.encoding === 'raw' && this.#opts.rawStallMs > 0) {
      if (this.framing.decoder.buffered() > 0) this.#armStall();
      else this.#clearStall();
    }
    return packets;
  }

  /** Drops partial input; COBS sends a delimiter before the next frame. */
  flush(): void {
    this.framing.decoder.reset();
    this.#clearStall();
    if (this.#opts.encoding === 'console') this.#needDelimiter = true;
  }

  dispose(): void {
    this.#clearStall();
  }

  #armStall(): void {
    if (this.#stall) {
      this.#stall.refresh();
      return;
    }
    this.#stall = setTimeout(() => {
      this.#stall = undefined;
      if (this.framing.decoder.buffered() > 0) this.framing.decoder.reset();
    }, this.#opts.rawStallMs);
    this.#stall.unref();
  }

  #clearStall(): void {
    if (this.#stall) {
      clearTimeout(this.#stall);
      this.#stall = undefined;
    }
  }
}

const ZERO = Buffer.from([0]);
const LF = Buffer.from([0x0a]);

/** True when this build of the addon carries the native serial I/O. */
export function nativeSerialAvailable(addon: NativeAddon | undefined = native): boolean {
  return typeof addon?.SerialPort === 'function';
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A serial port driven by the addon. Opening is synchronous (the constructor throws on failure);
 * {@link openNativeSerial} wraps it in a promise.
 */
export class NativeSerialTransport implements SerialTransport {
  readonly kind = 'serial';
  readonly path: string;
  readonly baudRate: number;
  readonly encoding: SerialEncoding;
  readonly maxPacket: number;
  readonly #port: NativeSerialPort;
  readonly #stream: SerialStream;
  readonly #emitter = new TransportEmitter();
  #closed = false;
  #drainWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  /**
   * Opens the port.
   * @throws TypeError/RangeError for bad options (an unsupported baud rate names the rate),
   *   TransportError when the port cannot be opened (the message names the path).
   */
  constructor(opts: SerialTransportOptions, addon: NativeAddon | undefined = native) {
    const o = resolveSerialOptions(opts);
    this.path = o.path;
    this.baudRate = o.baudRate;
    this.encoding = o.encoding;
    this.maxPacket = o.sendLimit;
    if (!addon?.SerialPort) {
      throw new TransportError(
        `cannot open serial port ${o.path}: the native addon with serial I/O is not loaded (run npm run build:native, or use the serialport fallback on the main thread)`,
      );
    }
    this.#stream = new SerialStream(o);
    try {
      this.#port = new addon.SerialPort(
        o.path,
        o.baudRate,
        (chunk) => this.#onData(chunk),
        (err) => this.#onError(err),
        () => this.#onDrain(),
      );
    } catch (e) {
      if (e instanceof RangeError || e instanceof TypeError) throw e;
      throw new TransportError(`cannot open serial port ${o.path}: ${describe(e)}`, { cause: e });
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): () => void {
    return this.#emitter.on(event, listener);
  }

  /** Queues the packet's frame; resolves once the bytes are queued (see {@link drain}). */
  send(packet: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new SmpClosedError(`serial port ${this.path} is closed`));
    let bytes: Buffer;
    try {
      this.#stream.check(packet);
      bytes = this.#stream.encode(packet);
    } catch (e) {
      return Promise.reject(e);
    }
    try {
      this.#port.write(bytes);
    } catch (e) {
      const err = new TransportError(`write to serial port ${this.path} failed: ${describe(e)}`, { cause: e });
      this.#port.close();
      queueMicrotask(() => this.#fail(err));
      return Promise.reject(err);
    }
    return Promise.resolve();
  }

  /** Resolves once the OS has accepted every byte sent so far. */
  drain(): Promise<void> {
    if (this.#closed) return Promise.reject(new SmpClosedError(`serial port ${this.path} is closed`));
    if (this.#port.pending() === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  /** Bytes queued in the addon that the OS has not accepted yet. */
  pending(): number {
    return this.#closed ? 0 : this.#port.pending();
  }

  flush(): void {
    this.#stream.flush();
  }

  /** Bytes the receive decoder holds for a partial frame or packet (bounded by its caps). */
  buffered(): number {
    return this.#stream.framing.decoder.buffered();
  }

  unref(): void {
    if (!this.#closed) this.#port.unref();
  }

  ref(): void {
    if (!this.#closed) this.#port.ref();
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#port.close();
    this.#stream.dispose();
    this.#rejectDrains();
    this.#emitter.emit('close');
    return Promise.resolve();
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    for (const p of this.#stream.feed(chunk)) {
      this.#emitter.emit('packet', p);
      if (this.#closed) return;
    }
  }

  #onDrain(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w.resolve();
  }

  #onError(err: Error & { code?: string }): void {
    const what = err.code === 'EIO' ? 'the device is gone (EIO)' : describe(err);
    this.#fail(new TransportError(`serial port ${this.path} failed: ${what}`, { cause: err }));
  }

  #fail(err: TransportError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#port.close();
    this.#stream.dispose();
    this.#rejectDrains();
    this.#emitter.emit('error', err);
    this.#emitter.emit('close');
  }

  #rejectDrains(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w.reject(new SmpClosedError(`serial port ${this.path} closed before its output drained`));
  }
}

/** Opens a {@link NativeSerialTransport}; rejects instead of throwing. */
export async function openNativeSerial(opts: SerialTransportOptions): Promise<NativeSerialTransport> {
  return new NativeSerialTransport(opts);
}
