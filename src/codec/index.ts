/**
 * The codec layer: CRC16, base64, the three serial encodings (console, raw, COBS) and the SMP
 * header and CBOR. Each native function has a pure-TS twin; the addon is used when it loads
 * (see {@link codecBackend}), and `MCUMGR_NATIVE=0` forces the twins.
 * @module
 */
import { native, type NativeDecoder } from '../addon.js';
import * as tsCrc from './crc16.js';
import * as tsB64 from './base64.js';
import * as tsCons from './console-encoder.js';
import {
  ConsoleDecoderTs,
  CONSOLE_STAT_KEYS,
  DEFAULT_MAX_LINE,
  DEFAULT_MAX_PACKET,
  checkCap,
  type ConsoleDecoderOptions,
  type ConsoleDecoderStats,
  type PacketDecoder,
} from './console-decoder.js';
import * as tsCobs from './cobs.js';
import { CobsDecoderTs, COBS_STAT_KEYS, type CobsDecoderOptions, type CobsDecoderStats } from './cobs.js';
import { RawDecoderTs, RAW_STAT_KEYS, type RawDecoderOptions, type RawDecoderStats } from './raw.js';
import type { ConsoleSplit } from './console-encoder.js';

export * from './header.js';
export * from './cbor.js';
export { consoleFrameSizes, MAX_CONSOLE_FRAME, MAX_CONSOLE_PACKET, type ConsoleSplit } from './console-encoder.js';
export { cobsMaxLength } from './cobs.js';
export { encodeRaw } from './raw.js';
export type {
  ConsoleDecoderOptions,
  ConsoleDecoderStats,
  CobsDecoderOptions,
  CobsDecoderStats,
  RawDecoderOptions,
  RawDecoderStats,
  PacketDecoder,
};

/** Which implementation the codec functions use: the C++ addon or the TypeScript twins. */
export const codecBackend: 'native' | 'ts' = native ? 'native' : 'ts';

/** The set of codec functions one backend provides. */
export interface Codec {
  readonly backend: 'native' | 'ts';
  crc16(data: Uint8Array, init?: number): number;
  base64Encode(data: Uint8Array): Buffer;
  base64Decode(text: Uint8Array): Buffer | null;
  encodeConsole(packet: Uint8Array, split?: ConsoleSplit): Buffer;
  cobsEncode(data: Uint8Array): Buffer;
  cobsDecode(enc: Uint8Array): Buffer | null;
  encodeCobsFrame(packet: Uint8Array): Buffer;
  /** {@link Codec.encodeConsole} of the packet made of `parts`, without joining them first. */
  encodeConsoleParts(parts: readonly Uint8Array[], split?: ConsoleSplit): Buffer;
  /** {@link Codec.encodeCobsFrame} of the packet made of `parts`, without joining them first. */
  encodeCobsFrameParts(parts: readonly Uint8Array[]): Buffer;
  createConsoleDecoder(opts?: ConsoleDecoderOptions): PacketDecoder<ConsoleDecoderStats>;
  createCobsDecoder(opts?: CobsDecoderOptions): PacketDecoder<CobsDecoderStats>;
  createRawDecoder(opts?: RawDecoderOptions): PacketDecoder<RawDecoderStats>;
}

/** The pure-TypeScript codec (always available). */
export const tsCodec: Codec = {
  backend: 'ts',
  crc16: (d, init = 0) => tsCrc.crc16(d, init),
  base64Encode: tsB64.base64Encode,
  base64Decode: tsB64.base64Decode,
  encodeConsole: (p, split = 'plain') => tsCons.encodeConsole(p, split),
  cobsEncode: tsCobs.cobsEncode,
  cobsDecode: tsCobs.cobsDecode,
  encodeCobsFrame: tsCobs.encodeCobsFrame,
  encodeConsoleParts: (parts, split = 'plain') => tsCons.encodeConsoleParts(parts, split),
  encodeCobsFrameParts: (parts) => tsCobs.encodeCobsFrameParts(parts),
  createConsoleDecoder: (o) => new ConsoleDecoderTs(o),
  createCobsDecoder: (o) => new CobsDecoderTs(o),
  createRawDecoder: (o) => new RawDecoderTs(o),
};

/** Wraps a native decoder so its counters come back as the twin's named object. */
class NativeDecoderView<S> implements PacketDecoder<S> {
  constructor(
    private readonly inner: NativeDecoder,
    private readonly keys: readonly string[],
  ) {}
  push(chunk: Uint8Array): Buffer[] {
    return this.inner.push(chunk);
  }
  reset(): void {
    this.inner.reset();
  }
  stats(): S {
    const arr = this.inner.stats();
    const o: Record<string, number> = {};
    this.keys.forEach((k, i) => (o[k] = arr[i]!));
    return o as S;
  }
  buffered(): number {
    return this.inner.buffered();
  }
}

/** Most pieces one call of the addon's *Parts functions takes (`kMaxParts`). */
const MAX_NATIVE_PARTS = 64;

function checkSplit(split: ConsoleSplit): boolean {
  if (split !== 'plain' && split !== 'zephyr') throw new RangeError(`split must be 'plain' or 'zephyr', got ${String(split)}`);
  return split === 'zephyr';
}

function makeNativeCodec(): Codec | undefined {
  const n = native;
  if (!n) return undefined;
  const nativeCrc = (d: Uint8Array, init: number): number => n.crc16(d, init);
  const encodeConsole = (p: Uint8Array, split: ConsoleSplit = 'plain'): Buffer => {
    const z = checkSplit(split);
    if (p.length < 1 || p.length > tsCons.MAX_CONSOLE_PACKET) return tsCons.encodeConsole(p, split); // throws the twin's RangeError
    return n.encodeConsole(p, z);
  };
  const encodeCobsFrame = (p: Uint8Array): Buffer => {
    if (p.length < 1 || p.length > 0xffff) return tsCobs.encodeCobsFrame(p);
    return n.encodeCobsFrame(p);
  };
  return {
    backend: 'native',
    crc16: (d, init = 0) => n.crc16(d, init),
    base64Encode: (d) => n.base64Encode(d),
    base64Decode: (t) => n.base64Decode(t),
    encodeConsole,
    cobsEncode: (d) => n.cobsEncode(d),
    cobsDecode: (e) => n.cobsDecode(e),
    encodeCobsFrame,
    // Pieces are read where they lie (never joined into a copy first): by the addon, or by the
    // twin's loop with the addon's CRC when there are too many for one call.
    encodeConsoleParts: (parts, split = 'plain') => {
      if (parts.length === 1) return encodeConsole(parts[0]!, split);
      if (n.encodeConsoleParts && parts.length <= MAX_NATIVE_PARTS) return n.encodeConsoleParts(parts, checkSplit(split));
      return tsCons.encodeConsoleParts(parts, split, nativeCrc);
    },
    encodeCobsFrameParts: (parts) => {
      if (parts.length === 1) return encodeCobsFrame(parts[0]!);
      if (n.encodeCobsFrameParts && parts.length <= MAX_NATIVE_PARTS) return n.encodeCobsFrameParts(parts);
      return tsCobs.encodeCobsFrameParts(parts, nativeCrc);
    },
    createConsoleDecoder: (o = {}) =>
      new NativeDecoderView(
        new n.ConsoleDecoder(
          checkCap('maxLine', o.maxLine ?? DEFAULT_MAX_LINE, 4, 1 << 20),
          checkCap('maxPacket', o.maxPacket ?? DEFAULT_MAX_PACKET, 8, 0xffff - 2),
        ),
        CONSOLE_STAT_KEYS,
      ),
    createCobsDecoder: (o = {}) =>
      new NativeDecoderView(new n.CobsDecoder(checkCap('maxPacket', o.maxPacket ?? DEFAULT_MAX_PACKET, 8, 0xffff)), COBS_STAT_KEYS),
    createRawDecoder: (o = {}) =>
      new NativeDecoderView(new n.RawDecoder(checkCap('maxPacket', o.maxPacket ?? DEFAULT_MAX_PACKET, 8, 0xffff + 8)), RAW_STAT_KEYS),
  };
}

/** The native codec, or `undefined` when the addon is not loaded. */
export const nativeCodec: Codec | undefined = makeNativeCodec();

/** The codec in use: native when loaded, else the TS twins. */
export const codec: Codec = nativeCodec ?? tsCodec;

export const {
  crc16,
  base64Encode,
  base64Decode,
  encodeConsole,
  cobsEncode,
  cobsDecode,
  encodeCobsFrame,
  encodeConsoleParts,
  encodeCobsFrameParts,
  createConsoleDecoder,
  createCobsDecoder,
  createRawDecoder,
} = codec;
