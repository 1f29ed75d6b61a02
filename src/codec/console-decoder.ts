/**
 * Streaming console-frame decoder (PROTOCOL.md §4.3): any chunking of bytes in, whole SMP packets
 * out. Pure-TS twin of the addon's `ConsoleDecoder`; both are the same explicit state machine and
 * must give identical packets and counters for identical input.
 *
 * - Bytes outside a frame (device logs, garbage) are scanned for a marker and never buffered.
 * - A marker starts a frame wherever it appears, so a log line without LF before a frame does not
 *   swallow the frame.
 * - Every size it buffers has a hard cap: the frame text (`maxLine`) and the packet (`maxPacket`,
 *   checked against the length prefix before any payload is kept).
 * @module
 */
import { crc16 } from './crc16.js';
import { base64Decode } from './base64.js';

/** Caps of a console decoder. */
export interface ConsoleDecoderOptions {
  /** Longest frame text (base64 characters after the marker) kept; longer lines are dropped. Default 512. */
  maxLine?: number;
  /** Largest SMP packet (header + CBOR) accepted; a longer length prefix drops the packet. Default 16384. */
  maxPacket?: number;
}

/** Why bytes were dropped, counted since the decoder was made. */
export interface ConsoleDecoderStats {
  /** Packets delivered. */
  packets: number;
  /** Lines without a frame marker (device logs). */
  nonFrameLines: number;
  /** Frames whose text was not valid base64 (or that were cut by a new marker). */
  badBase64: number;
  /** Packets whose length prefix was too small, too large for `maxPacket`, or overrun by data. */
  badLength: number;
  /** Packets whose CRC did not match. */
  badCrc: number;
  /** Frame lines longer than `maxLine`. */
  lineOverflow: number;
  /** Continuation frames with no packet in progress. */
  orphanContinuations: number;
  /** Partial packets abandoned because a new initial frame began. */
  abandoned: number;
}

/** The counter names of {@link ConsoleDecoderStats}, in a fixed order (shared with the addon). */
export const CONSOLE_STAT_KEYS = [
  'packets',
  'nonFrameLines',
  'badBase64',
  'badLength',
  'badCrc',
  'lineOverflow',
  'orphanContinuations',
  'abandoned',
] as const;

/** The common shape of every streaming packet decoder (console, raw, COBS; native or TS). */
export interface PacketDecoder<S> {
  /** Feeds bytes; returns the packets they completed (possibly none). */
  push(chunk: Uint8Array): Buffer[];
  /** Forgets any partial line or packet (counters are kept). */
  reset(): void;
  /** A snapshot of the counters. */
  stats(): S;
  /** Bytes currently held for a partial line or packet. */
  buffered(): number;
}

export const DEFAULT_MAX_LINE = 512;
export const DEFAULT_MAX_PACKET = 16384;

const enum St {
  /** Outside a frame, at the start of a line or in its text; looking for a marker. */
  Scan,
  /** Inside a frame's base64 text. */
  Frame,
  /** Inside an over-long frame line, dropping until LF or a marker byte. */
  Discard,
}

/** Streaming decoder of console frames (TS implementation). */
export class ConsoleDecoderTs implements PacketDecoder<ConsoleDecoderStats> {
  readonly #maxLine: number;
  readonly #maxPacket: number;
  #st = St.Scan;
  #prev = -1; // previous byte while scanning, for two-byte markers
  #lineHasText = false; // the current non-frame line had bytes (counted as a log line at LF)
  #initial = false; // kind of the frame being read
  readonly #line: Buffer;
  #lineLen = 0;
  #pkt: Buffer | null = null; // len|packet|crc being assembled, sized by the length prefix
  #pktWant = 0; // bytes of packet + CRC expected (the length prefix)
  #pktHave = 0;
  readonly #s: ConsoleDecoderStats = {
    packets: 0,
    nonFrameLines: 0,
    badBase64: 0,
    badLength: 0,
    badCrc: 0,
    lineOverflow: 0,
    orphanContinuations: 0,
    abandoned: 0,
  };

  constructor(opts: ConsoleDecoderOptions = {}) {
    this.#maxLine = checkCap('maxLine', opts.maxLine ?? DEFAULT_MAX_LINE, 4, 1 << 20);
    this.#maxPacket = checkCap('maxPacket', opts.maxPacket ?? DEFAULT_MAX_PACKET, 8, 0xffff - 2);
    this.#line = Buffer.allocUnsafe(this.#maxLine);
  }

  push(chunk: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      switch (this.#st) {
        case St.Scan:
          if (b === 0x0a) {
            if (this.#lineHasText) this.#s.nonFrameLines++;
            this.#lineHasText = false;
            this.#prev = -1;
          } else if ((this.#prev === 0x06 && b === 0x09) || (this.#prev === 0x04 && b === 0x14)) {
            this.#initial = b === 0x09;
            this.#st = St.Frame;
            this.#lineLen = 0;
            this.#lineHasText = false;
            this.#prev = -1;
          } else {
            this.#lineHasText = true;
            this.#prev = b;
          }
          break;
        case St.Frame:
          if (b === 0x0a) {
            this.#st = St.Scan;
            this.#endFrame(out);
          } else if (b === 0x06 || b === 0x04) {
            // A marker byte cannot be base64: the frame was cut short; rescan from here.
            this.#s.badBase64++;
            this.#dropPacket();
            this.#st = St.Scan;
            this.#lineHasText = false;
            this.#prev = b;
          } else if (this.#lineLen < this.#maxLine) {
            this.#line[this.#lineLen++] = b;
          } else {
            this.#s.lineOverflow++;
            this.#dropPacket();
            this.#st = St.Discard;
          }
          break;
        case St.Discard:
          // LF ends the over-long line; a marker byte starts a new frame wherever it appears
          // (as in St.Frame), so a frame right after a line that never ended is not swallowed.
          if (b === 0x0a || b === 0x06 || b === 0x04) {
            this.#st = St.Scan;
            this.#prev = b === 0x0a ? -1 : b;
            this.#lineHasText = false;
          }
          break;
      }
    }
    return out;
  }

  #endFrame(out: Buffer[]): void {
    let n = this.#lineLen;
    if (n > 0 && this.#line[n - 1] === 0x0d) n--; // tolerate CRLF, as Zephyr does
    const raw = base64Decode(this.#line.subarray(0, n));
    this.#lineLen = 0;
    if (raw === null) {
      this.#s.badBase64++;
      this.#dropPacket();
      return;
    }
    let data = raw;
    if (this.#initial) {
      if (this.#pkt !== null) {
        this.#s.abandoned++;
        this.#pkt = null;
      }
      if (raw.length < 2) {
        this.#s.badLength++;
        return;
      }
      const want = (raw[0]! << 8) | raw[1]!;
      // want counts packet + CRC; a packet holds at least an 8-byte header.
      if (want < 10 || want - 2 > this.#maxPacket) {
        this.#s.badLength++;
        return;
      }
      this.#pkt = Buffer.allocUnsafe(want);
      this.#pktWant = want;
      this.#pktHave = 0;
      data = raw.subarray(2);
    } else if (this.#pkt === null) {
      this.#s.orphanContinuations++;
      return;
    }
    const pkt = this.#pkt!;
    if (this.#pktHave + data.length > this.#pktWant) {
      this.#s.badLength++;
      this.#pkt = null;
      return;
    }
    pkt.set(data, this.#pktHave);
    this.#pktHave += data.length;
    if (this.#pktHave < this.#pktWant) return;
    this.#pkt = null;
    if (crc16(pkt) !== 0) {
      this.#s.badCrc++;
      return;
    }
    this.#s.packets++;
    out.push(pkt.subarray(0, this.#pktWant - 2));
  }

  #dropPacket(): void {
    this.#pkt = null;
    this.#lineLen = 0;
  }

  reset(): void {
    this.#st = St.Scan;
    this.#prev = -1;
    this.#lineHasText = false;
    this.#lineLen = 0;
    this.#pkt = null;
  }

  stats(): ConsoleDecoderStats {
    return { ...this.#s };
  }

  buffered(): number {
    return this.#lineLen + (this.#pkt ? this.#pktHave : 0);
  }
}

/** Validates a cap option; shared by every decoder. */
export function checkCap(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`option "${name}" must be an integer ${min}..${max}, got ${v}`);
  }
  return v;
}
