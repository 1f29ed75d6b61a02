/**
 * Cuts the host's byte stream into wire units (console lines, COBS frames, raw packets) so that
 * faults hit whole units, as a noisy line or a lost frame would.
 * @module
 */

const LF = 0x0a;

/** Splits an incoming byte stream into wire units (lines, COBS frames, raw packets) for fault injection. */
export class UnitSplitter {
  #buf: Buffer = Buffer.alloc(0);
  constructor(private readonly mode: 'console' | 'raw' | 'cobs') {}

  push(chunk: Uint8Array): Buffer[] {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : Buffer.from(chunk);
    const units: Buffer[] = [];
    for (;;) {
      const n = this.#unitLength();
      if (n === 0) break;
      units.push(this.#buf.subarray(0, n));
      this.#buf = this.#buf.subarray(n);
    }
    return units;
  }

  /** Bytes of an unfinished unit (forwarded as they are after a short stall). */
  takePartial(): Buffer {
    const b = this.#buf;
    this.#buf = Buffer.alloc(0);
    return b;
  }

  get pending(): number {
    return this.#buf.length;
  }

  #unitLength(): number {
    const b = this.#buf;
    if (this.mode === 'raw') {
      if (b.length < 8) return 0;
      const n = 8 + b.readUInt16BE(2);
      return b.length >= n ? n : 0;
    }
    const i = b.indexOf(this.mode === 'console' ? LF : 0);
    if (i >= 0) return i + 1;
    return b.length >= 4096 ? b.length : 0;
  }
}

/** How long an unfinished unit waits for its end before it is forwarded without faults. */
export const SPLIT_STALL_MS = 15;
