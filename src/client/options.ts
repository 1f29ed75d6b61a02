/**
 * The client's options: their types, defaults and checks, run before any port is opened or byte
 * sent.
 * @module
 */
import type { SmpVersion } from '../session.js';
import type { CallOptions } from '../groups/util.js';
import type { OpenSerialOptions } from '../transport/serial.js';
import type { UdpTransportOptions } from '../transport/udp.js';
import type { BleTransportOptions } from '../transport/ble/transport.js';
import { argBool, argInt, argMs, argOptions, describe } from '../groups/util.js';

/** The frame size assumed until the device says otherwise: Zephyr's default netbuf size. */
export const DEFAULT_FRAME_SIZE = 384;
/** Default deadline of ordinary requests, ms. */
export const DEFAULT_TIMEOUT_MS = 5000;
/** Default deadline of slow requests (first image chunk / slot erase, storage erase, fs hash), ms. */
export const DEFAULT_LONG_TIMEOUT_MS = 30000;
/** Smallest frame size accepted. */
export const MIN_FRAME_SIZE = 64;
/** Largest frame size accepted (the SMP length field is 16 bits). */
export const MAX_FRAME_SIZE = 65535;

/** Options of every client constructor. */
export interface ClientOptions {
  /** SMP header version: 1 = SMP v2 (default, `err` maps), 0 = SMP v1 (old devices, MCUboot). */
  version?: SmpVersion;
  /** Deadline of ordinary requests, ms. Default 5000. */
  timeoutMs?: number;
  /** Deadline of slow requests (first image chunk with the slot erase, image erase, storage erase, fs hash, settings save), ms. Default 30000. */
  longTimeoutMs?: number;
  /** Deadline of the reset request, ms. Default: `timeoutMs`. */
  resetTimeoutMs?: number;
  /**
   * The device's SMP buffer size (`MCUMGR_TRANSPORT_NETBUF_SIZE`) to assume. Default 384.
   * {@link MCUmgrClient.useAutoFrameSize} asks the device instead.
   */
  frameSize?: number;
  /** Times an idempotent read (READ op) is resent after a timeout. Default 0. */
  retries?: number;
  /**
   * Whether requests travel in console (base64 line) framing, where the length prefix and CRC
   * share the device's buffer so requests may be at most `frameSize − 4` bytes. Default: detected
   * from the transport (a serial transport with the `console` encoding).
   */
  consoleFraming?: boolean;
  /** Close the transport when the client closes (default true). */
  closeTransport?: boolean;
}

/**
 * Options of {@link MCUmgrClient.serial} and {@link MCUmgrClient.usbSerial}: client options plus
 * the serial transport's (`baudRate`, default 115200; `encoding`: `console` (default), `raw` or
 * `cobs`; `backend`; …).
 */
export interface SerialClientOptions extends ClientOptions, Omit<OpenSerialOptions, 'path' | 'maxPacket'> {}

/** Options of {@link MCUmgrClient.udp}: client options plus UDP settings. */
export interface UdpClientOptions extends ClientOptions, Omit<UdpTransportOptions, 'host' | 'port'> {}

/** Options of {@link MCUmgrClient.ble}: the client's, and the BLE transport's (`adapter`, `scanTimeoutMs`, …). */
export interface BleClientOptions extends ClientOptions, Omit<BleTransportOptions, 'target'> {}

/** The per-class deadlines, ms. */
export interface ClientTimeouts {
  /** Ordinary requests. */
  default: number;
  /** Slow requests (erase, first upload chunk, hashing). */
  long: number;
  /** The reset request. */
  reset: number;
}

/** What {@link MCUmgrClient.useAutoFrameSize} settled on. */
export interface AutoFrameSize {
  /** The frame size now in use. */
  frameSize: number;
  /** The largest request now allowed (frame size, minus 4 over console serial, capped by the transport). */
  maxRequest: number;
  /** The device's buffer count, when it answered. */
  bufCount: number | undefined;
  /** `device` when the device answered `os mcumgr params`, `fallback` when it does not support it. */
  source: 'device' | 'fallback';
}

/** Options of {@link MCUmgrClient.raw}. */
export interface RawRequestOptions extends CallOptions {
  /** Resolve with error answers instead of throwing {@link SmpDeviceError}. */
  rawErrors?: boolean;
}

export const CLIENT_KEYS = ['version', 'timeoutMs', 'longTimeoutMs', 'resetTimeoutMs', 'frameSize', 'retries', 'consoleFraming', 'closeTransport'] as const;

export interface ResolvedOptions {
  timeouts: ClientTimeouts;
  version: SmpVersion;
  retries: number;
  frameSize: number;
  consoleFraming: boolean | undefined;
  closeTransport: boolean;
}

/** Validates client options (before any port is opened or byte sent) and fills in defaults. */
export function resolveOptions(options: ClientOptions | undefined): ResolvedOptions {
  const o = argOptions('options', options);
  const timeoutMs = argMs('options.timeoutMs', o.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  if (o.version !== undefined && o.version !== 0 && o.version !== 1) {
    throw new RangeError(`options.version must be 1 (SMP v2, the default) or 0 (SMP v1), got ${describe(o.version)}`);
  }
  if (o.consoleFraming !== undefined) argBool('options.consoleFraming', o.consoleFraming);
  if (o.closeTransport !== undefined) argBool('options.closeTransport', o.closeTransport);
  return {
    timeouts: {
      default: timeoutMs,
      long: argMs('options.longTimeoutMs', o.longTimeoutMs ?? Math.max(DEFAULT_LONG_TIMEOUT_MS, timeoutMs)),
      reset: argMs('options.resetTimeoutMs', o.resetTimeoutMs ?? timeoutMs),
    },
    version: o.version ?? 1,
    retries: checkRetries(o.retries ?? 0),
    frameSize: checkFrameSize('options.frameSize', o.frameSize ?? DEFAULT_FRAME_SIZE),
    consoleFraming: o.consoleFraming,
    closeTransport: o.closeTransport ?? true,
  };
}

export function splitOptions(o: Record<string, unknown>): [ClientOptions, Record<string, unknown>] {
  const client: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if ((CLIENT_KEYS as readonly string[]).includes(k)) client[k] = v;
    else if (v !== undefined) rest[k] = v;
  }
  return [client as ClientOptions, rest];
}

export function serialPart(c: { baudRate?: number; encoding?: 'console' | 'raw' | 'cobs' }): { baudRate?: number; encoding?: 'console' | 'raw' | 'cobs' } {
  const o: { baudRate?: number; encoding?: 'console' | 'raw' | 'cobs' } = {};
  if (c.baudRate !== undefined) o.baudRate = c.baudRate;
  if (c.encoding !== undefined) o.encoding = c.encoding;
  return o;
}

/** Checks a frame size: the device's netbuf size, within what the 16-bit SMP length carries. */
export function checkFrameSize(name: string, v: unknown): number {
  return argInt(name, v, MIN_FRAME_SIZE, MAX_FRAME_SIZE, "the device's MCUMGR_TRANSPORT_NETBUF_SIZE, 384 by default");
}

/** Checks a change of the per-class deadlines and merges it into the current ones. */
export function mergeTimeouts(current: ClientTimeouts, t: Partial<ClientTimeouts>): ClientTimeouts {
  const o = argOptions('timeouts', t);
  for (const k of Object.keys(o)) {
    if (k !== 'default' && k !== 'long' && k !== 'reset') throw new RangeError(`timeouts.${k} is not a timeout class; use default, long or reset`);
  }
  return {
    default: argMs('timeouts.default', o.default ?? current.default),
    long: argMs('timeouts.long', o.long ?? current.long),
    reset: argMs('timeouts.reset', o.reset ?? current.reset),
  };
}

/** Checks the retries of idempotent reads. */
export function checkRetries(v: unknown): number {
  return argInt('retries', v, 0, 100);
}
