/**
 * Loads the C++ addon (node-gyp-build: prebuilds first, then a local build). `MCUMGR_NATIVE=0`
 * forces the TypeScript twins; `MCUMGR_NATIVE_ADDON=/path/to/addon.node` loads that build instead. The addon holds no process-wide state, so every worker thread
 * loads its own instance safely.
 * @module
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';

/** A native streaming decoder; counters come back as an array in the TS twin's key order. */
export interface NativeDecoder {
  push(chunk: Uint8Array): Buffer[];
  reset(): void;
  stats(): number[];
  buffered(): number;
}

/** The functions the addon exports (each codec function has a TS twin in `src/codec/`). */
export interface NativeAddon {
  crc16(data: Uint8Array, init: number): number;
  base64Encode(data: Uint8Array): Buffer;
  base64Decode(text: Uint8Array): Buffer | null;
  encodeConsole(packet: Uint8Array, zephyrSplit: boolean): Buffer;
  /** `encodeConsole` of the packet made of `parts` (at most 64), read where they lie. Absent from builds before it. */
  encodeConsoleParts?(parts: readonly Uint8Array[], zephyrSplit: boolean): Buffer;
  cobsEncode(data: Uint8Array): Buffer;
  cobsDecode(enc: Uint8Array): Buffer | null;
  encodeCobsFrame(packet: Uint8Array): Buffer;
  /** `encodeCobsFrame` of the packet made of `parts` (at most 64), read where they lie. Absent from builds before it. */
  encodeCobsFrameParts?(parts: readonly Uint8Array[]): Buffer;
  ConsoleDecoder: new (maxLine: number, maxPacket: number) => NativeDecoder;
  CobsDecoder: new (maxPacket: number) => NativeDecoder;
  RawDecoder: new (maxPacket: number) => NativeDecoder;
  /**
   * Worker-safe POSIX serial I/O and PTYs (absent on Windows). `SerialPort` opens `path` raw 8N1
   * at a standard `baudRate` (a RangeError names an unsupported rate); `onData` gets every chunk
   * read, `onError` an Error whose `code` is the errno name (the port is closed by then), `onDrain`
   * runs when the write queue empties.
   */
  SerialPort?: new (
    path: string,
    baudRate: number,
    onData: (chunk: Buffer) => void,
    onError: (err: Error & { code: string; syscall?: string; path?: string }) => void,
    onDrain?: () => void,
  ) => NativeSerialPort;
  /** A new PTY master (raw, non-blocking, close-on-exec) and the path of its slave side. */
  openPty?: () => { fd: number; path: string };
  /** Takes ownership of a master fd from `openPty()`; keeps a slave fd open so the master never reads EIO. */
  PtyHandle?: new (
    fd: number,
    onData: (chunk: Buffer) => void,
    onError: (err: Error & { code: string; syscall?: string; path?: string }) => void,
    onDrain?: () => void,
  ) => NativeSerialPort;
}

/** A native serial port or PTY master, read on the calling thread's event loop. */
export interface NativeSerialPort {
  /** Writes at once what the kernel takes and queues the rest; throws (code = errno name) if the kernel refuses. */
  write(data: Uint8Array): void;
  /**
   * Writes the pieces in order in one system call (writev), as `write` would their concatenation;
   * at most 64 pieces. Absent from addons built before it existed.
   */
  writev?(pieces: readonly Uint8Array[]): void;
  /** Bytes written but not yet accepted by the kernel. */
  pending(): number;
  /** Stops polling and closes the fd; idempotent; queued bytes are dropped. */
  close(): void;
  ref(): void;
  unref(): void;
  /** False once closed (by `close()` or after an error). */
  isOpen(): boolean;
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = dirname(dir);
  }
  return dirname(dirname(fileURLToPath(import.meta.url)));
}

let loadError: Error | undefined;

function load(): NativeAddon | undefined {
  if (process.env.MCUMGR_NATIVE === '0') return undefined;
  try {
    const require = createRequire(import.meta.url);
    // MCUMGR_NATIVE_ADDON: the path of another build of the addon to load instead (the ASan/UBSan
    // build of `node scripts/build-native.mjs --sanitize`, run by scripts/test-sanitize.mjs).
    const override = process.env.MCUMGR_NATIVE_ADDON;
    if (override) return require(resolve(override)) as NativeAddon;
    const gypBuild = require('node-gyp-build') as (dir: string) => NativeAddon;
    return gypBuild(packageRoot());
  } catch (e) {
    loadError = e as Error;
    if (process.env.MCUMGR_NATIVE === '1') throw e;
    return undefined;
  }
}

/** The loaded addon, or `undefined` when the TS twins are in use. */
export const native: NativeAddon | undefined = load();

/** Why the addon did not load (undefined when it loaded or was disabled on purpose). */
export function nativeLoadError(): Error | undefined {
  return loadError;
}
