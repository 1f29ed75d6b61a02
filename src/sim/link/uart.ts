/**
 * The wire in both directions: 8N1 at the UART's pace (10 bit times a byte), latency each way.
 * Bytes towards the device are handed to the receivers one at a time at their arrival time;
 * output towards the host is released when real time reaches it.
 * @module
 */
import type { OwnStats } from './state.js';

/** Bytes on the wire towards the device, arriving one every `rxByteMs` from `start`. */
interface RxSeg {
  data: Buffer;
  pos: number;
  start: number;
}

/** Output on the wire towards the host. */
interface TxSeg {
  data: Buffer;
  /** Bytes already handed to `onOutput`. */
  pos: number;
  start: number;
  byteMs: number;
  /** Deliver as one piece when complete (packets) rather than byte by byte (serial). */
  whole: boolean;
  /** Deliver one byte per write (slow device). */
  oneByOne: boolean;
  to: unknown;
}

/** Pacing of the wire. */
export interface UartTiming {
  /** Time of one byte towards the device (0: unpaced). */
  rxByteMs: number;
  /** Time of one byte towards the host (the device's own pace when it is slow). */
  txByteMs: number;
  /** Deliver output one byte per call (slow device). */
  oneByOne: boolean;
  latIn: number;
  latOut: number;
  /** Whole packets (UDP, memory) rather than a byte stream. */
  packets: boolean;
}

/** Both directions of one link's wire. */
export class Uart {
  readonly #rx: RxSeg[] = [];
  #rxFreeAt: number;
  readonly #tx: TxSeg[] = [];
  #txFreeAt: number;

  constructor(
    readonly timing: Readonly<UartTiming>,
    t0: number,
    private readonly stats: OwnStats,
    private readonly onOutput: (data: Buffer, to: unknown) => void,
  ) {
    this.#rxFreeAt = t0;
    this.#txFreeAt = t0;
  }

  /** Puts bytes on the wire towards the device at the UART's pace (written by the host at `r`). */
  toWire(data: Buffer, r: number): void {
    if (data.length === 0) return;
    const start = Math.max(r + this.timing.latIn, this.#rxFreeAt);
    this.#rxFreeAt = start + data.length * this.timing.rxByteMs;
    this.#rx.push({ data, pos: 0, start });
  }

  /** When a packet of `len` bytes written at `r` has wholly reached the device. */
  packetArrival(len: number, r: number): number {
    const start = Math.max(r + this.timing.latIn, this.#rxFreeAt);
    const end = start + len * this.timing.rxByteMs;
    if (this.timing.rxByteMs > 0) this.#rxFreeAt = end;
    return end;
  }

  /** When the next byte towards the device arrives (Infinity: none on the wire). */
  nextInput(): number {
    const s = this.#rx[0];
    return s ? s.start + (s.pos + 1) * this.timing.rxByteMs : Infinity;
  }

  /** Takes the byte that {@link nextInput} announced. */
  takeInput(): number {
    const seg = this.#rx[0]!;
    const b = seg.data[seg.pos++]!;
    if (seg.pos >= seg.data.length) this.#rx.shift();
    return b;
  }

  /** When the next output byte (or packet) reaches the host. */
  nextOutput(): number {
    const s = this.#tx[0];
    if (!s) return Infinity;
    if (s.whole) return s.start + s.data.length * s.byteMs + this.timing.latOut;
    return s.start + (s.pos + 1) * s.byteMs + this.timing.latOut;
  }

  /** Queues device output; returns when its last byte has left the device. */
  write(data: Buffer, notBefore: number, to: unknown): number {
    if (data.length === 0) return notBefore;
    const start = Math.max(notBefore, this.#txFreeAt);
    const whole = this.timing.packets;
    const byteMs = this.timing.txByteMs;
    const end = start + data.length * byteMs;
    this.#txFreeAt = end;
    this.#tx.push({ data, pos: 0, start, byteMs, whole, oneByOne: this.timing.oneByOne && !whole, to });
    this.stats.bytesToHost += data.length;
    return end;
  }

  /** Hands the host everything that has reached it by `now`. */
  flush(now: number): void {
    const latOut = this.timing.latOut;
    while (this.#tx.length > 0) {
      const s = this.#tx[0]!;
      const n = s.data.length;
      if (s.whole) {
        if (s.start + n * s.byteMs + latOut > now) break;
        this.#tx.shift();
        this.#deliver(s.data, s.to);
        continue;
      }
      // The same expression as nextOutput, so a due byte is always delivered.
      let k = s.pos;
      if (s.byteMs > 0) {
        k = Math.max(s.pos, Math.min(n, Math.floor((now - latOut - s.start) / s.byteMs)));
        while (k < n && s.start + (k + 1) * s.byteMs + latOut <= now) k++;
        while (k > s.pos && s.start + k * s.byteMs + latOut > now) k--;
      } else if (s.start + latOut <= now) {
        k = n;
      }
      if (k > s.pos) {
        if (s.oneByOne) for (let i = s.pos; i < k; i++) this.#deliver(s.data.subarray(i, i + 1), s.to);
        else this.#deliver(s.data.subarray(s.pos, k), s.to);
        s.pos = k;
      }
      if (s.pos < n) break;
      this.#tx.shift();
    }
  }

  #deliver(data: Buffer, to: unknown): void {
    try {
      this.onOutput(data, to);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  /** The device lost power at `t`: output the UART had not started yet is never sent. */
  cutOutput(t: number): void {
    let freeAt = t;
    const tx = this.#tx;
    for (let i = 0; i < tx.length; i++) {
      const s = tx[i]!;
      const n = s.data.length;
      let k: number;
      if (s.whole) k = s.start < t ? n : 0;
      else if (s.byteMs > 0) k = Math.max(s.pos, Math.min(n, Math.ceil((t - s.start) / s.byteMs - 1e-9)));
      else k = s.start < t ? n : s.pos;
      if (k < n) {
        this.stats.bytesToHost -= n - k;
        s.data = s.data.subarray(0, k);
      }
      if (s.data.length > 0) freeAt = Math.max(freeAt, s.start + s.data.length * s.byteMs);
    }
    for (let i = tx.length - 1; i >= 0; i--) if (tx[i]!.data.length === 0) tx.splice(i, 1);
    this.#txFreeAt = freeAt;
  }

  /** Drops everything on the wire (the link is closed). */
  clear(): void {
    this.#rx.length = 0;
    this.#tx.length = 0;
  }
}
