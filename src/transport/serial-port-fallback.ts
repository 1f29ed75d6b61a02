/**
 * The serial transport on the `serialport` package, for where the addon's serial I/O is missing
 * (Windows, or a build without the addon). Main thread only: `serialport` polls on the default
 * libuv loop and crashes inside worker threads (DESIGN.md), so this refuses to open there.
 * @module
 */
import { isMainThread } from 'node:worker_threads';
import { SmpClosedError, TransportError } from '../errors.js';
import { TransportEmitter } from './emitter.js';
import type { SerialEncoding } from './framing.js';
import {
  SerialStream,
  resolveSerialOptions,
  type ResolvedSerialOptions,
  type SerialTransport,
  type SerialTransportOptions,
} from './serial-native.js';
import type { TransportEvents } from './transport.js';

/** The part of `serialport`'s `SerialPort` this transport uses. */
interface PortLike {
  open(cb: (err: Error | null) => void): void;
  write(data: Buffer, cb?: (err: Error | null | undefined) => void): boolean;
  drain(cb: (err: Error | null) => void): void;
  close(cb?: (err: Error | null) => void): void;
  on(event: 'data', cb: (chunk: Buffer) => void): unknown;
  on(event: 'error', cb: (err: Error) => void): unknown;
  on(event: 'close', cb: (err?: Error & { disconnected?: boolean }) => void): unknown;
  removeAllListeners(): unknown;
  readonly isOpen: boolean;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function refuseInWorker(path: string): void {
  if (!isMainThread) {
    throw new TransportError(
      `cannot open serial port ${path} in a worker thread with the serialport package (it crashes there); ` +
        'build the native addon (npm run build:native) so the worker-safe native serial I/O is used',
    );
  }
}

/** A serial transport over `serialport`. Open it with {@link SerialPortFallbackTransport.open}. */
export class SerialPortFallbackTransport implements SerialTransport {
  readonly kind = 'serial';
  readonly path: string;
  readonly baudRate: number;
  readonly encoding: SerialEncoding;
  readonly maxPacket: number;
  readonly #port: PortLike;
  readonly #stream: SerialStream;
  readonly #emitter = new TransportEmitter();
  #closed = false;

  private constructor(o: ResolvedSerialOptions, port: PortLike) {
    this.path = o.path;
    this.baudRate = o.baudRate;
    this.encoding = o.encoding;
    this.maxPacket = o.sendLimit;
    this.#port = port;
    this.#stream = new SerialStream(o);
    port.on('data', (chunk) => {
      if (this.#closed) return;
      for (const p of this.#stream.feed(chunk)) {
        this.#emitter.emit('packet', p);
        if (this.#closed) return;
      }
    });
    port.on('error', (err) => this.#fail(new TransportError(`serial port ${this.path} failed: ${describe(err)}`, { cause: err })));
    port.on('close', (err) => {
      if (this.#closed) return;
      if (err) this.#fail(new TransportError(`serial port ${this.path} failed: ${describe(err)}`, { cause: err }));
      else this.#fail(new TransportError(`serial port ${this.path} closed unexpectedly`));
    });
  }

  /**
   * Opens `opts.path` with `serialport`.
   * @throws TypeError/RangeError for bad options; TransportError when the port cannot be opened,
   *   the `serialport` package is missing, or this is a worker thread.
   */
  static async open(opts: SerialTransportOptions): Promise<SerialPortFallbackTransport> {
    const o = resolveSerialOptions(opts);
    refuseInWorker(o.path);
    let Ctor: new (options: { path: string; baudRate: number; autoOpen: boolean; lock?: boolean }) => PortLike;
    try {
      const mod = await import('serialport');
      Ctor = mod.SerialPort as unknown as typeof Ctor;
    } catch (e) {
      throw new TransportError(`cannot open serial port ${o.path}: the serialport package failed to load: ${describe(e)}`, { cause: e });
    }
    let port: PortLike;
    try {
      port = new Ctor({ path: o.path, baudRate: o.baudRate, autoOpen: false, lock: true });
    } catch (e) {
      throw new TransportError(`cannot open serial port ${o.path}: ${describe(e)}`, { cause: e });
    }
    await new Promise<void>((resolve, reject) =>
      port.open((err) =>
        err ? reject(new TransportError(`cannot open serial port ${o.path}: ${describe(err)}`, { cause: err })) : resolve(),
      ),
    );
    return new SerialPortFallbackTransport(o, port);
  }

  get closed(): boolean {
    return this.#closed;
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): () => void {
    return this.#emitter.on(event, listener);
  }

  send(packet: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new SmpClosedError(`serial port ${this.path} is closed`));
    let bytes: Buffer;
    try {
      this.#stream.check(packet);
      bytes = this.#stream.encode(packet);
    } catch (e) {
      return Promise.reject(e);
    }
    this.#port.write(bytes, (err) => {
      if (err) this.#fail(new TransportError(`write to serial port ${this.path} failed: ${describe(err)}`, { cause: err }));
    });
    return Promise.resolve();
  }

  drain(): Promise<void> {
    if (this.#closed) return Promise.reject(new SmpClosedError(`serial port ${this.path} is closed`));
    return new Promise((resolve, reject) =>
      this.#port.drain((err) =>
        err ? reject(new TransportError(`drain of serial port ${this.path} failed: ${describe(err)}`, { cause: err })) : resolve(),
      ),
    );
  }

  flush(): void {
    this.#stream.flush();
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#stream.dispose();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#port.removeAllListeners();
        this.#port.on('error', () => {});
        this.#emitter.emit('close');
        resolve();
      };
      if (!this.#port.isOpen) return done();
      this.#port.close(() => done());
    });
  }

  #fail(err: TransportError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stream.dispose();
    this.#emitter.emit('error', err);
    const done = (): void => {
      this.#port.removeAllListeners();
      this.#port.on('error', () => {});
      this.#emitter.emit('close');
    };
    if (this.#port.isOpen) this.#port.close(() => done());
    else done();
  }
}

/** Opens a {@link SerialPortFallbackTransport}. */
export function openSerialPortFallback(opts: SerialTransportOptions): Promise<SerialPortFallbackTransport> {
  return SerialPortFallbackTransport.open(opts);
}
