/**
 * Raw SMP over a UART (PROTOCOL.md §5.4): packets back to back, boundaries only from the header's
 * length. Pure-TS twin of the addon's `RawDecoder`. Raw has no resync: a stalled partial packet is
 * discarded by the transport after a timeout of silence (see {@link RawDecoderTs.reset}).
 * @module
 */
import { checkCap, type PacketDecoder } from './console-decoder.js';

/** Caps of a raw decoder. */
export interface RawDecoderOptions {
  /** Largest SMP packet accepted (header + CBOR). Default 16384. */
  maxPacket?: number;
}

/** Counters of a raw decoder. */
export interface RawDecoderStats {
  packets: number;
  /** Headers whose length exceeded the cap: everything buffered was thrown away. */
  badLength: number;
  /** Headers with an op outside 0..3 or reserved bits set: everything buffered was thrown away. */
  badHeader: number;
  /** Partial packets discarded by `reset()` (stall timeout). */
  discarded: number;
}

export const RAW_STAT_KEYS = ['packets', 'badLength', 'badHeader', 'discarded'] as const;

/** Streaming raw SMP decoder (TS implementation). */
export class RawDecoderTs implements PacketDecoder<RawDecoderStats> {
  readonly #maxPacket: number;
  readonly #hdr = Buffer.alloc(8);
  #hdrLen = 0;
  #pkt: Buffer | null = null;
  #have = 0;
  readonly #s: RawDecoderStats = { packets: 0, badLength: 0, badHeader: 0, discarded: 0 };

  constructor(opts: RawDecoderOptions = {}) {
    this.#maxPacket = checkCap('maxPacket', opts.maxPacket ?? 16384, 8, 0xffff + 8);
  }

  push(chunk: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.#pkt === null) {
        this.#hdr[this.#hdrLen++] = chunk[i++]!;
        if (this.#hdrLen < 8) continue;
        this.#hdrLen = 0;
        const b0 = this.#hdr[0]!;
        if ((b0 & 0xe0) !== 0 || (b0 & 7) > 3) {
          this.#s.badHeader++;
          continue;
        }
        const total = 8 + ((this.#hdr[2]! << 8) | this.#hdr[3]!);
        if (total > this.#maxPacket) {
          this.#s.badLength++;
          continue;
        }
        this.#pkt = Buffer.allocUnsafe(total);
        this.#hdr.copy(this.#pkt, 0);
        this.#have = 8;
      }
      const pkt = this.#pkt!;
      const take = Math.min(pkt.length - this.#have, chunk.length - i);
      pkt.set(chunk.subarray(i, i + take), this.#have);
      this.#have += take;
      i += take;
      if (this.#have === pkt.length) {
        this.#s.packets++;
        out.push(pkt);
        this.#pkt = null;
      }
    }
    return out;
  }

  /** Drops a partial header or packet (a stall timeout calls this); counts it when bytes were held. */
  reset(): void {
    if (this.#hdrLen > 0 || this.#pkt !== null) this.#s.discarded++;
    this.#hdrLen = 0;
    this.#pkt = null;
  }

  stats(): RawDecoderStats {
    return { ...this.#s };
  }

  buffered(): number {
    return this.#hdrLen + (this.#pkt ? this.#have : 0);
  }
}

/** Raw framing adds nothing: a packet is sent as is. */
export function encodeRaw(packet: Uint8Array): Buffer {
  if (packet.length < 8) throw new RangeError(`an SMP packet has at least 8 bytes, got ${packet.length}`);
  return Buffer.from(packet);
}
