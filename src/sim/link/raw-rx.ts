/**
 * The raw SMP receiver (PROTOCOL.md §5.4): packets cut by the header's length, no resync, a
 * partial packet discarded after an input timeout of silence.
 * @module
 */
import type { RxHost } from './state.js';

/** The receive state machine of one raw link. */
export class RawReceiver {
  readonly #hdr = Buffer.alloc(8);
  #hdrLen = 0;
  #pkt: Buffer | null = null;
  #have = 0;
  #skip = 0;
  #hasBuf = false;
  #last = 0;
  #timerArmed = false;

  constructor(
    private readonly host: RxHost,
    /** A partial packet is discarded after this many ms without a byte. */
    readonly timeoutMs: number,
  ) {}

  #partial(): boolean {
    return this.#hdrLen > 0 || this.#pkt !== null || this.#skip > 0;
  }

  #discard(): void {
    const st = this.host.st;
    if (this.#hasBuf) st.netbufFree++;
    this.#hasBuf = false;
    if (this.#pkt && st.model === 'mcuboot') st.backlog -= this.#have;
    else if (st.model === 'mcuboot') st.backlog -= this.#hdrLen;
    this.#hdrLen = 0;
    this.#pkt = null;
    this.#have = 0;
    this.#skip = 0;
  }

  /** Arms the input-timeout check (one pending check at a time). */
  #armTimeout(): void {
    if (this.#timerArmed) return;
    this.#timerArmed = true;
    const host = this.host;
    const gen = host.st.gen;
    const check = (t: number): void => {
      if (gen !== host.st.gen) return;
      if (!this.#partial()) {
        this.#timerArmed = false;
        return;
      }
      const due = this.#last + this.timeoutMs;
      if (t >= due) {
        host.st.stats.drops.rawTimeout++;
        this.#discard();
        this.#timerArmed = false;
        if (host.st.model === 'mcuboot') host.loopKick(t);
      } else {
        host.schedule(due, gen, check);
      }
    };
    host.schedule(this.#last + this.timeoutMs, gen, check);
  }

  /** One byte off the wire at `t`. */
  byte(b: number, t: number): void {
    const host = this.host;
    const st = host.st;
    if (this.#partial() && t - this.#last >= this.timeoutMs) {
      st.stats.drops.rawTimeout++;
      this.#discard();
    }
    this.#last = t;
    if (st.model === 'mcuboot' && !st.backlogRoom()) return;
    if (this.#skip > 0) {
      this.#skip--;
      if (this.#skip > 0) this.#armTimeout();
      return;
    }
    if (this.#pkt === null) {
      this.#hdr[this.#hdrLen++] = b;
      if (st.model === 'mcuboot') st.backlog++;
      if (this.#hdrLen < 8) {
        this.#armTimeout();
        return;
      }
      const hdrBytes = this.#hdrLen;
      this.#hdrLen = 0;
      if (st.model === 'mcuboot') st.backlog -= hdrBytes;
      const b0 = this.#hdr[0]!;
      if ((b0 & 0xe0) !== 0 || (b0 & 7) > 3) {
        st.stats.drops.rawBadHeader++;
        return;
      }
      const total = 8 + this.#hdr.readUInt16BE(2);
      if (total > st.limits.netbufSize) {
        st.stats.drops.oversize++;
        return;
      }
      if (st.model === 'zephyr') {
        if (st.netbufFree === 0) {
          st.stats.drops.netbufExhausted++;
          this.#skip = total - 8;
          if (this.#skip > 0) this.#armTimeout();
          return;
        }
        st.netbufFree--;
        this.#hasBuf = true;
      } else {
        st.backlog += 8;
      }
      this.#pkt = Buffer.allocUnsafe(total);
      this.#hdr.copy(this.#pkt, 0);
      this.#have = 8;
    } else {
      this.#pkt[this.#have++] = b;
      if (st.model === 'mcuboot') st.backlog++;
    }
    if (this.#have < this.#pkt.length) {
      this.#armTimeout();
      return;
    }
    const pkt = this.#pkt;
    const holdsBuf = this.#hasBuf;
    this.#pkt = null;
    this.#hasBuf = false;
    this.#have = 0;
    host.enqueue({ packet: pkt, from: undefined, holdsBuf, backlog: pkt.length }, t);
  }

  /** A power cycle: the partial packet is lost. */
  reset(): void {
    this.#hdrLen = 0;
    this.#pkt = null;
    this.#have = 0;
    this.#skip = 0;
    this.#hasBuf = false;
    this.#timerArmed = false;
  }
}
