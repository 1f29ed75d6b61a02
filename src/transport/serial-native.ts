/**
 * The byte link over the addon's own POSIX serial I/O: worker-safe (each port is polled on the
 * event loop of the thread that opened it), for Linux and macOS. A frame's pieces go to the fd in
 * one `writev`. {@link NativeSerialTransport} is the {@link SerialTransport} over it.
 * @module
 */
import { native, type NativeAddon, type NativeSerialPort } from '../addon.js';
import { SmpClosedError, TransportError } from '../errors.js';
import type { ByteLink, ByteLinkSink, ByteLinkTarget } from './byte-link.js';
import { resolveSerialOptions, type SerialTransportOptions } from './serial-options.js';
import { SerialTransport } from './serial-transport.js';

export { resolveSerialOptions, type ResolvedSerialOptions, type SerialTransportOptions } from './serial-options.js';

/** True when this build of the addon carries the native serial I/O. */
export function nativeSerialAvailable(addon: NativeAddon | undefined = native): boolean {
  return typeof addon?.SerialPort === 'function';
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A serial port driven by the addon, as a {@link ByteLink}. Opening is synchronous. */
export class NativeByteLink implements ByteLink {
  readonly path: string;
  readonly #port: NativeSerialPort;
  #sink: ByteLinkSink | undefined;
  #drainWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  /**
   * Opens the port.
   * @throws RangeError for an unsupported baud rate (it names the rate), TransportError when the
   *   addon has no serial I/O or the port cannot be opened (the message names the path).
   */
  constructor(target: ByteLinkTarget, addon: NativeAddon | undefined = native) {
    this.path = target.path;
    if (!addon?.SerialPort) {
      throw new TransportError(
        `cannot open serial port ${target.path}: the native addon with serial I/O is not loaded (run npm run build:native, or use the serialport fallback on the main thread)`,
      );
    }
    try {
      this.#port = new addon.SerialPort(
        target.path,
        target.baudRate,
        (chunk) => this.#sink?.data(chunk),
        (err) => this.#onError(err),
        () => this.#onDrain(),
      );
    } catch (e) {
      if (e instanceof RangeError || e instanceof TypeError) throw e;
      throw new TransportError(`cannot open serial port ${target.path}: ${describe(e)}`, { cause: e });
    }
  }

  attach(sink: ByteLinkSink): void {
    this.#sink = sink;
  }

  write(pieces: readonly Uint8Array[]): void {
    if (pieces.length === 1) this.#port.write(pieces[0]!);
    else if (this.#port.writev && pieces.length <= 64) this.#port.writev(pieces);
    else for (const p of pieces) this.#port.write(p);
  }

  pending(): number {
    return this.#port.pending();
  }

  drain(): Promise<void> {
    if (!this.#port.isOpen()) return Promise.reject(new SmpClosedError(`serial port ${this.path} is closed`));
    if (this.#port.pending() === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  close(): void {
    this.#port.close();
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w.reject(new SmpClosedError(`serial port ${this.path} closed before its output drained`));
  }

  unref(): void {
    this.#port.unref();
  }

  ref(): void {
    this.#port.ref();
  }

  #onDrain(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w.resolve();
  }

  #onError(err: Error & { code?: string }): void {
    const what = err.code === 'EIO' ? 'the device is gone (EIO)' : describe(err);
    this.#sink?.fail(new TransportError(`serial port ${this.path} failed: ${what}`, { cause: err }));
  }
}

/** The {@link SerialTransport} over the addon's serial I/O; the constructor opens the port. */
export class NativeSerialTransport extends SerialTransport {
  /**
   * Opens the port.
   * @throws TypeError/RangeError for bad options (an unsupported baud rate names the rate),
   *   TransportError when the port cannot be opened (the message names the path).
   */
  constructor(opts: SerialTransportOptions, addon: NativeAddon | undefined = native) {
    const o = resolveSerialOptions(opts);
    super(o, new NativeByteLink(o, addon));
  }
}

/** Opens a {@link NativeSerialTransport}; rejects instead of throwing. */
export async function openNativeSerial(opts: SerialTransportOptions): Promise<NativeSerialTransport> {
  return new NativeSerialTransport(opts);
}
