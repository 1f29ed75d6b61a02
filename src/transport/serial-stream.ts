/**
 * The byte-stream side of a serial transport: framing, the raw stall timer, the COBS and console
 * leading delimiters. Frames are produced as pieces to write, so a raw packet's pieces go to the
 * link as they are and a delimiter is its own piece instead of a copy of the frame behind it.
 * @module
 */
import { SMP_HEADER_SIZE } from '../codec/index.js';
import { SerialFraming } from './framing.js';
import type { ResolvedSerialOptions } from './serial-options.js';

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

  /**
   * Checks a packet the user wants to send (whole, or as pieces); returns its size. Throws a
   * TypeError/RangeError.
   */
  check(packet: unknown): number {
    let n = 0;
    if (packet instanceof Uint8Array) n = packet.length;
    else if (Array.isArray(packet)) {
      for (let i = 0; i < packet.length; i++) {
        const p: unknown = packet[i];
        if (!(p instanceof Uint8Array)) throw new TypeError('send(packet): packet must be a Buffer holding an SMP packet');
        n += p.length;
      }
    } else throw new TypeError('send(packet): packet must be a Buffer holding an SMP packet');
    if (n < SMP_HEADER_SIZE) {
      throw new RangeError(`send(packet): an SMP packet is at least ${SMP_HEADER_SIZE} bytes; got ${n}`);
    }
    if (n > this.#opts.sendLimit) {
      throw new RangeError(
        `send(packet): ${n} bytes exceed the ${this.#opts.sendLimit}-byte limit of this ${this.#opts.encoding} serial link; send smaller chunks`,
      );
    }
    return n;
  }

  /**
   * The pieces to write for the packet made of `parts`. COBS: every frame starts with a 0x00, one
   * byte that flushes whatever partial frame the device may hold from a request lost on the way
   * (MCUboot's COBS receiver has no timeout; an empty frame is ignored). Console: the first frame
   * after open or flush starts with an LF, which ends any partial line a previous client left in
   * the device's line buffer (an empty line is ignored by Zephyr and MCUboot). Raw: the parts
   * themselves.
   */
  encode(parts: readonly Uint8Array[]): readonly Uint8Array[] {
    return this.delimit(this.framing.encodeParts(parts));
  }

  /** The pieces to write for a frame of {@link SerialFraming.encodeParts}: with the delimiter it needs now. */
  delimit(frame: readonly Uint8Array[]): readonly Uint8Array[] {
    if (this.#opts.encoding === 'cobs') return [ZERO, ...frame];
    if (this.#needDelimiter) {
      this.#needDelimiter = false;
      return [LF, ...frame];
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
