/**
 * The one serial transport: SMP packets over any {@link ByteLink} in one of the three serial
 * encodings (console, raw, COBS). The native fd I/O and the `serialport` package are links; the
 * framing, the checks, the error messages and the close/fail sequence live here once.
 * @module
 */
import { SmpClosedError, TransportError } from '../errors.js';
import type { ByteLink, OpenByteLink } from './byte-link.js';
import { TransportEmitter } from './emitter.js';
import type { SerialEncoding } from './framing.js';
import { resolveSerialOptions, type ResolvedSerialOptions, type SerialTransportOptions } from './serial-options.js';
import { SerialStream } from './serial-stream.js';
import type { Transport, TransportEvents } from './transport.js';

/** One settled promise for every send that succeeded (a new one per packet cost an allocation). */
const RESOLVED = Promise.resolve();

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A serial transport: a {@link Transport} plus what only a byte stream has. Open one with
 * `openSerialTransport()` (it picks the link), or {@link SerialTransport.open} with a link of
 * your own.
 */
export class SerialTransport implements Transport {
  readonly kind = 'serial';
  readonly path: string;
  readonly baudRate: number;
  readonly encoding: SerialEncoding;
  /** Largest packet this link sends. */
  readonly maxPacket: number;
  /** A serial link reaches one device. */
  readonly groupAddress = false;
  /** Every decoder (native and twin) gives each packet a buffer of its own. */
  readonly ownPackets = true;
  readonly #link: ByteLink;
  readonly #stream: SerialStream;
  readonly #emitter = new TransportEmitter();
  #closed = false;

  /** Frames packets over an open `link` (validated options: see {@link SerialTransport.open}). */
  constructor(o: ResolvedSerialOptions, link: ByteLink) {
    this.path = o.path;
    this.baudRate = o.baudRate;
    this.encoding = o.encoding;
    this.maxPacket = o.sendLimit;
    this.#link = link;
    this.#stream = new SerialStream(o);
    link.attach({ data: (chunk) => this.#onData(chunk), fail: (err) => this.#fail(err) });
  }

  /**
   * Checks `opts`, opens a link with `openLink` and frames packets over it.
   * @throws TypeError/RangeError for bad options; whatever `openLink` throws (a TransportError
   *   naming the path) when the link cannot be opened.
   * @example
   * const t = await SerialTransport.open({ path: '/dev/ttyACM0', encoding: 'cobs' }, myUsbLink);
   */
  static async open(opts: SerialTransportOptions, openLink: OpenByteLink): Promise<SerialTransport> {
    const o = resolveSerialOptions(opts);
    return new SerialTransport(o, await openLink({ path: o.path, baudRate: o.baudRate }));
  }

  /** Where the link goes: the device path. */
  get peerName(): string {
    return this.path;
  }

  get closed(): boolean {
    return this.#closed;
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): () => void {
    return this.#emitter.on(event, listener);
  }

  /** Queues the packet's frame; resolves once the bytes are queued (see {@link drain}). */
  send(packet: Buffer): Promise<void> {
    return this.sendParts([packet]);
  }

  /** Queues the frame of the packet made of `parts`, written without joining them (writev). */
  sendParts(parts: readonly Buffer[]): Promise<void> {
    try {
      this.sendPartsNow(parts);
    } catch (e) {
      return Promise.reject(e);
    }
    return RESOLVED;
  }

  /** {@link sendParts} without a promise: throws what it would reject with. */
  sendPartsNow(parts: readonly Buffer[]): void {
    if (this.#closed) throw new SmpClosedError(`serial port ${this.path} is closed`);
    this.#stream.check(parts.length === 1 ? parts[0] : parts);
    this.#write(this.#stream.encode(parts));
  }

  /** The frame of the packet made of `parts`, for {@link sendFrame} later; throws for a packet the link refuses. */
  frameAhead(parts: readonly Buffer[]): readonly Uint8Array[] {
    this.#stream.check(parts.length === 1 ? parts[0] : parts);
    return this.#stream.framing.encodeParts(parts);
  }

  /** Writes a frame made by {@link frameAhead} (with the delimiter the link needs now). */
  sendFrame(frame: readonly Uint8Array[]): void {
    if (this.#closed) throw new SmpClosedError(`serial port ${this.path} is closed`);
    this.#write(this.#stream.delimit(frame));
  }

  #write(pieces: readonly Uint8Array[]): void {
    try {
      this.#link.write(pieces);
    } catch (e) {
      const err = new TransportError(`write to serial port ${this.path} failed: ${describe(e)}`, { cause: e });
      void this.#link.close();
      queueMicrotask(() => this.#fail(err));
      throw err;
    }
  }

  /** Resolves once the OS has accepted every byte sent so far. */
  drain(): Promise<void> {
    if (this.#closed) return Promise.reject(new SmpClosedError(`serial port ${this.path} is closed`));
    return this.#link.drain();
  }

  /** Bytes queued by the link that the OS has not accepted yet. */
  pending(): number {
    return this.#closed ? 0 : this.#link.pending();
  }

  /**
   * Forgets any partial packet received and, for console, starts the next frame with an LF so the
   * device drops a stale partial line too (COBS frames always start with a 0x00: PROTOCOL.md
   * §5.5). Call it after a timeout.
   */
  flush(): void {
    this.#stream.flush();
  }

  /** Bytes the receive decoder holds for a partial frame or packet (bounded by its caps). */
  buffered(): number {
    return this.#stream.framing.decoder.buffered();
  }

  /** Lets the process exit while the port is open (the `serialport` link cannot: a no-op there). */
  unref(): void {
    if (!this.#closed) this.#link.unref();
  }

  /** Undoes {@link SerialTransport.unref}. */
  ref(): void {
    if (!this.#closed) this.#link.ref();
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#stream.dispose();
    return this.#afterClose(this.#link.close());
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    const packets = this.#stream.feed(chunk);
    for (let i = 0; i < packets.length; i++) {
      this.#emitter.emit('packet', packets[i]!);
      if (this.#closed) return;
    }
  }

  #fail(err: TransportError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stream.dispose();
    const closing = this.#link.close();
    this.#emitter.emit('error', err);
    void this.#afterClose(closing);
  }

  /** Emits `close` once the link is closed: at once when it closes synchronously. */
  #afterClose(closing: void | Promise<void>): Promise<void> {
    if (!closing) {
      this.#emitter.emit('close');
      return Promise.resolve();
    }
    return closing.then(() => this.#emitter.emit('close'));
  }
}
