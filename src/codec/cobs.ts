/**
 * COBS + CRC16 framing for raw serial (PROTOCOL.md §5.5): frame = COBS(packet ‖ CRC16 BE) ‖ 0x00.
 * Pure-TS twins of the addon's `cobsEncode`, `encodeCobsFrame` and `CobsDecoder`.
 * @module
 */
import { crc16 } from './crc16.js';
import { checkCap, type PacketDecoder } from './console-decoder.js';

/** Worst-case COBS size of `n` bytes (no delimiter). */
export function cobsMaxLength(n: number): number {
  return n + Math.floor(n / 254) + 1;
}

/** Standard COBS encoding of `data` (no delimiter). The output holds no zero byte. */
export function cobsEncode(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(cobsMaxLength(data.length));
  return out.subarray(0, cobsEncodeInto([data], out, 0));
}

/** COBS-encodes the concatenation of `parts` into `out` at `offset`; returns the bytes written. */
function cobsEncodeInto(parts: readonly Uint8Array[], out: Uint8Array, offset: number): number {
  let codeAt = offset;
  let o = offset + 1;
  let code = 1;
  for (const data of parts) {
    for (let i = 0; i < data.length; i++) {
      const b = data[i]!;
      if (b === 0) {
        out[codeAt] = code;
        codeAt = o++;
        code = 1;
      } else {
        out[o++] = b;
        if (++code === 0xff) {
          out[codeAt] = code;
          codeAt = o++;
          code = 1;
        }
      }
    }
  }
  out[codeAt] = code;
  return o - offset;
}

/**
 * Decodes one COBS block sequence (without its delimiter). Returns `null` when malformed: a zero
 * byte inside, or a block running past the end.
 */
export function cobsDecode(enc: Uint8Array): Buffer | null {
  const out = Buffer.allocUnsafe(enc.length);
  let o = 0;
  let i = 0;
  const n = enc.length;
  while (i < n) {
    const code = enc[i++]!;
    if (code === 0) return null;
    const end = i + code - 1;
    if (end > n) return null;
    for (; i < end; i++) {
      const b = enc[i]!;
      if (b === 0) return null;
      out[o++] = b;
    }
    if (code !== 0xff && i < n) out[o++] = 0;
  }
  return out.subarray(0, o);
}

/** Frames `packet` for COBS serial: COBS(packet ‖ CRC16) then one 0x00. */
export function encodeCobsFrame(packet: Uint8Array): Buffer {
  return encodeCobsFrameParts([packet]);
}

/**
 * Frames the packet made of `parts` (in order) for COBS serial, reading each part where it lies:
 * the COBS output is the only copy of the packet's bytes.
 */
export function encodeCobsFrameParts(parts: readonly Uint8Array[], crc: (data: Uint8Array, init: number) => number = crc16): Buffer {
  let n = 0;
  let c = 0;
  for (const p of parts) {
    n += p.length;
    c = crc(p, c);
  }
  if (n < 1 || n > 0xffff) throw new RangeError(`packet must be 1..65535 bytes for COBS framing, got ${n}`);
  const out = Buffer.allocUnsafe(cobsMaxLength(n + 2) + 1);
  const len = cobsEncodeInto([...parts, Buffer.from([c >> 8, c & 0xff])], out, 0);
  out[len] = 0;
  return out.subarray(0, len + 1);
}

/** Caps of a COBS decoder. */
export interface CobsDecoderOptions {
  /** Largest SMP packet accepted (decoded, without CRC). Default 16384. */
  maxPacket?: number;
}

/** Counters of a COBS decoder. */
export interface CobsDecoderStats {
  packets: number;
  /** Zero code or a block running past the frame. */
  malformed: number;
  /** Decoded frame shorter than header + CRC (10 bytes). */
  short: number;
  /** Frame longer than the cap (the buffer filled with no delimiter). */
  oversize: number;
  badCrc: number;
  /** Two delimiters in a row. */
  empty: number;
}

export const COBS_STAT_KEYS = ['packets', 'malformed', 'short', 'oversize', 'badCrc', 'empty'] as const;

/** Streaming COBS + CRC16 decoder: resynchronises at every 0x00 (TS implementation). */
export class CobsDecoderTs implements PacketDecoder<CobsDecoderStats> {
  readonly #maxPacket: number;
  readonly #buf: Buffer;
  #len = 0;
  #overflow = false;
  readonly #s: CobsDecoderStats = { packets: 0, malformed: 0, short: 0, oversize: 0, badCrc: 0, empty: 0 };

  constructor(opts: CobsDecoderOptions = {}) {
    this.#maxPacket = checkCap('maxPacket', opts.maxPacket ?? 16384, 8, 0xffff);
    this.#buf = Buffer.allocUnsafe(cobsMaxLength(this.#maxPacket + 2));
  }

  push(chunk: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b !== 0) {
        if (this.#overflow) continue;
        if (this.#len < this.#buf.length) this.#buf[this.#len++] = b;
        else {
          this.#overflow = true;
          this.#len = 0;
          this.#s.oversize++;
        }
        continue;
      }
      if (this.#overflow) {
        this.#overflow = false;
        continue;
      }
      if (this.#len === 0) {
        this.#s.empty++;
        continue;
      }
      const dec = cobsDecode(this.#buf.subarray(0, this.#len));
      this.#len = 0;
      if (dec === null) this.#s.malformed++;
      else if (dec.length < 10) this.#s.short++;
      else if (dec.length - 2 > this.#maxPacket) this.#s.oversize++;
      else if (crc16(dec) !== 0) this.#s.badCrc++;
      else {
        this.#s.packets++;
        out.push(Buffer.from(dec.subarray(0, dec.length - 2)));
      }
    }
    return out;
  }

  reset(): void {
    this.#len = 0;
    this.#overflow = false;
  }

  stats(): CobsDecoderStats {
    return { ...this.#s };
  }

  buffered(): number {
    return this.#len;
  }
}
