/**
 * The COBS receiver (PROTOCOL.md §5.5): frames end at 0x00, no timeout. The frame decoder is the
 * codec's TS twin; its rejection counters are folded into the link's frame stats.
 * @module
 */
import { tsCodec, type CobsDecoderStats, type PacketDecoder } from '../../codec/index.js';
import type { RxHost } from './state.js';

/** The receive state machine of one COBS link. */
export class CobsReceiver {
  #dec: PacketDecoder<CobsDecoderStats>;
  readonly #one = Buffer.alloc(1);
  #seen: CobsDecoderStats;
  #partial = 0;
  #max: number;

  constructor(private readonly host: RxHost) {
    this.#max = host.st.limits.netbufSize;
    this.#dec = CobsReceiver.#decoder(host.st.limits.netbufSize);
    this.#seen = this.#dec.stats();
  }

  static #decoder(netbufSize: number): PacketDecoder<CobsDecoderStats> {
    return tsCodec.createCobsDecoder({ maxPacket: Math.max(8, netbufSize) });
  }

  /** One byte off the wire at `t`. */
  byte(b: number, t: number): void {
    const host = this.host;
    const st = host.st;
    if (st.model === 'mcuboot') {
      if (b !== 0) {
        if (!st.backlogRoom()) return;
        st.backlog++;
        this.#partial++;
      }
    }
    this.#one[0] = b;
    const pkts = this.#dec.push(this.#one);
    if (b === 0 && st.model === 'mcuboot') {
      st.backlog -= this.#partial;
      this.#partial = 0;
    }
    for (const p of pkts) {
      if (st.model === 'zephyr') {
        if (st.netbufFree === 0) {
          st.stats.drops.netbufExhausted++;
          continue;
        }
        st.netbufFree--;
        host.enqueue({ packet: Buffer.from(p), from: undefined, holdsBuf: true, backlog: 0 }, t);
      } else {
        st.backlog += p.length;
        host.enqueue({ packet: Buffer.from(p), from: undefined, holdsBuf: false, backlog: p.length }, t);
      }
    }
  }

  /** Folds the decoder's rejection counters into the frame stats. */
  sync(): void {
    const st = this.host.st;
    const now = this.#dec.stats();
    const was = this.#seen;
    const fr = st.stats.frames;
    fr.badEncoding += now.malformed - was.malformed;
    fr.badLength += now.short - was.short;
    fr.badCrc += now.badCrc - was.badCrc;
    st.stats.drops.oversize += now.oversize - was.oversize;
    this.#seen = now;
  }

  /** A power cycle: the partial frame is lost. */
  reset(): void {
    this.sync();
    this.#dec.reset();
    this.#partial = 0;
    if (this.#max !== this.host.st.limits.netbufSize) {
      // Other firmware after the reboot: a decoder for its buffer size, counters carried over.
      this.#max = this.host.st.limits.netbufSize;
      this.#dec = CobsReceiver.#decoder(this.#max);
      this.#seen = this.#dec.stats();
    }
  }
}
