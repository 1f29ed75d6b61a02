/**
 * The byte link on the `serialport` package, for where the addon's serial I/O is missing
 * (Windows, or a build without the addon). Main thread only: `serialport` polls on the default
 * libuv loop and crashes inside worker threads (DESIGN.md), so this refuses to open there.
 * {@link SerialPortFallbackTransport} is the {@link SerialTransport} over it.
 * @module
 */
import { isMainThread } from 'node:worker_threads';
import { TransportError } from '../errors.js';
import type { ByteLink, ByteLinkSink, ByteLinkTarget } from './byte-link.js';
import { resolveSerialOptions, type SerialTransportOptions } from './serial-options.js';
import { SerialTransport } from './serial-transport.js';

/** The part of `serialport`'s `SerialPort` this link uses. */
interface PortLike {
  open(cb: (err: Error | null) => void): void;
  write(data: Uint8Array, cb?: (err: Error | null | undefined) => void): boolean;
  drain(cb: (err: Error | null) => void): void;
  close(cb?: (err: Error | null) => void): void;
  on(event: 'data', cb: (chunk: Buffer) => void): unknown;
  on(event: 'error', cb: (err: Error) => void): unknown;
  on(event: 'close', cb: (err?: Error & { disconnected?: boolean }) => void): unknown;
  removeAllListeners(): unknown;
  readonly isOpen: boolean;
  readonly writableLength?: number;
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

/** A `serialport` port as a {@link ByteLink}. Open it with {@link openSerialPortLink}. */
class SerialPortLink implements ByteLink {
  readonly path: string;
  readonly #port: PortLike;
  #closing: Promise<void> | undefined;
  #onWriteError: (err: Error) => void = () => {};

  constructor(path: string, port: PortLike) {
    this.path = path;
    this.#port = port;
  }

  attach(sink: ByteLinkSink): void {
    const fail = (err: TransportError): void => {
      if (!this.#closing) sink.fail(err);
    };
    this.#port.on('data', (chunk) => {
      if (!this.#closing) sink.data(chunk);
    });
    this.#port.on('error', (err) => fail(new TransportError(`serial port ${this.path} failed: ${describe(err)}`, { cause: err })));
    this.#port.on('close', (err) => {
      if (err) fail(new TransportError(`serial port ${this.path} failed: ${describe(err)}`, { cause: err }));
      else fail(new TransportError(`serial port ${this.path} closed unexpectedly`));
    });
    this.#onWriteError = (err) => fail(new TransportError(`write to serial port ${this.path} failed: ${describe(err)}`, { cause: err }));
  }

  write(pieces: readonly Uint8Array[]): void {
    // The stream keeps each piece until it is written: none is joined or copied here.
    for (const p of pieces) {
      this.#port.write(p, (err) => {
        if (err) this.#onWriteError(err);
      });
    }
  }

  pending(): number {
    return this.#port.writableLength ?? 0;
  }

  drain(): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#port.drain((err) =>
        err ? reject(new TransportError(`drain of serial port ${this.path} failed: ${describe(err)}`, { cause: err })) : resolve(),
      ),
    );
  }

  close(): Promise<void> {
    this.#closing ??= new Promise((resolve) => {
      const done = (): void => {
        this.#port.removeAllListeners();
        this.#port.on('error', () => {});
        resolve();
      };
      if (!this.#port.isOpen) return done();
      this.#port.close(() => done());
    });
    return this.#closing;
  }

  /** `serialport` offers no way to unreference its poller. */
  unref(): void {}

  ref(): void {}
}

/**
 * Opens `target.path` with `serialport` as a {@link ByteLink}.
 * @throws TransportError when the port cannot be opened, the `serialport` package is missing, or
 *   this is a worker thread.
 */
export async function openSerialPortLink(target: ByteLinkTarget): Promise<ByteLink> {
  refuseInWorker(target.path);
  let Ctor: new (options: { path: string; baudRate: number; autoOpen: boolean; lock?: boolean }) => PortLike;
  try {
    const mod = await import('serialport');
    Ctor = mod.SerialPort as unknown as typeof Ctor;
  } catch (e) {
    throw new TransportError(`cannot open serial port ${target.path}: the serialport package failed to load: ${describe(e)}`, { cause: e });
  }
  let port: PortLike;
  try {
    port = new Ctor({ path: target.path, baudRate: target.baudRate, autoOpen: false, lock: true });
  } catch (e) {
    throw new TransportError(`cannot open serial port ${target.path}: ${describe(e)}`, { cause: e });
  }
  await new Promise<void>((resolve, reject) =>
    port.open((err) =>
      err ? reject(new TransportError(`cannot open serial port ${target.path}: ${describe(err)}`, { cause: err })) : resolve(),
    ),
  );
  return new SerialPortLink(target.path, port);
}

/** The {@link SerialTransport} over `serialport`. Open it with {@link SerialPortFallbackTransport.open}. */
export class SerialPortFallbackTransport extends SerialTransport {
  /**
   * Opens `opts.path` with `serialport`.
   * @throws TypeError/RangeError for bad options; TransportError when the port cannot be opened,
   *   the `serialport` package is missing, or this is a worker thread.
   */
  static override async open(opts: SerialTransportOptions): Promise<SerialPortFallbackTransport> {
    const o = resolveSerialOptions(opts);
    refuseInWorker(o.path);
    return new SerialPortFallbackTransport(o, await openSerialPortLink(o));
  }
}

/** Opens a {@link SerialPortFallbackTransport}. */
export function openSerialPortFallback(opts: SerialTransportOptions): Promise<SerialPortFallbackTransport> {
  return SerialPortFallbackTransport.open(opts);
}
