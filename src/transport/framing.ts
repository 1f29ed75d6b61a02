/**
 * A serial byte-stream codec for one of the three encodings (PROTOCOL.md §4, §5.4, §5.5):
 * packets → bytes to write, bytes read → packets. Shared by the client's serial transports and
 * the simulated device's PTY server.
 * @module
 */
import { codec as defaultCodec, type Codec, type ConsoleSplit, type PacketDecoder } from '../codec/index.js';

/** The serial encodings: base64 console lines, raw SMP, COBS + CRC16. */
export type SerialEncoding = 'console' | 'raw' | 'cobs';

/** The encodings, for validation and help text. */
export const SERIAL_ENCODINGS: readonly SerialEncoding[] = ['console', 'raw', 'cobs'];

/** Options of a {@link SerialFraming}. */
export interface SerialFramingOptions {
  encoding?: SerialEncoding;
  /** Console split of the frames this side sends. Default `plain` (a client); the simulator sends `zephyr`. */
  split?: ConsoleSplit;
  /** Largest packet the decoder accepts. Default 16384. */
  maxPacket?: number;
  /** Codec backend; defaults to the active one. */
  codec?: Codec;
}

/** Encoder + streaming decoder for one serial encoding. */
export class SerialFraming {
  readonly encoding: SerialEncoding;
  readonly #split: ConsoleSplit;
  readonly #codec: Codec;
  readonly decoder: PacketDecoder<object>;

  constructor(opts: SerialFramingOptions = {}) {
    this.encoding = checkEncoding(opts.encoding ?? 'console');
    this.#split = opts.split ?? 'plain';
    this.#codec = opts.codec ?? defaultCodec;
    const maxPacket = opts.maxPacket ?? 16384;
    this.decoder =
      this.encoding === 'console'
        ? this.#codec.createConsoleDecoder({ maxPacket: Math.min(maxPacket, 0xffff - 2) })
        : this.encoding === 'cobs'
          ? this.#codec.createCobsDecoder({ maxPacket })
          : this.#codec.createRawDecoder({ maxPacket });
  }

  /** The bytes that carry `packet` on the wire. */
  encode(packet: Buffer): Buffer {
    switch (this.encoding) {
      case 'console':
        return this.#codec.encodeConsole(packet, this.#split);
      case 'cobs':
        return this.#codec.encodeCobsFrame(packet);
      case 'raw':
        return Buffer.from(packet);
    }
  }

  /**
   * The bytes that carry the packet made of `parts`, as pieces to write in order: the parts
   * themselves for raw (no copy), one encoded frame for console and COBS (the encoding is the one
   * copy of the packet's bytes).
   */
  encodeParts(parts: readonly Uint8Array[]): readonly Uint8Array[] {
    switch (this.encoding) {
      case 'console':
        return [this.#codec.encodeConsoleParts(parts, this.#split)];
      case 'cobs':
        return [this.#codec.encodeCobsFrameParts(parts)];
      case 'raw':
        return parts;
    }
  }

  /** Feeds bytes read from the wire; returns the packets they completed. */
  decode(chunk: Buffer): Buffer[] {
    return this.decoder.push(chunk);
  }

  /** Wire bytes of `n` packet bytes in this encoding (for throughput bounds and chunk sizing). */
  wireSize(n: number): number {
    switch (this.encoding) {
      case 'console': {
        const frames = Math.ceil((n + 4) / 93);
        return frames * 3 + Math.ceil((n + 4) / 3) * 4;
      }
      case 'cobs':
        return n + 2 + Math.floor((n + 2) / 254) + 2;
      case 'raw':
        return n;
    }
  }
}

/** Validates an encoding name. */
export function checkEncoding(e: unknown): SerialEncoding {
  if (e === 'console' || e === 'raw' || e === 'cobs') return e;
  throw new RangeError(`encoding must be one of ${SERIAL_ENCODINGS.join(', ')}; got ${String(e)}`);
}
