/**
 * Checks a link's options and fills in the defaults (one place, so the servers and the tests get
 * the same answers for the same options).
 * @module
 */
import type { DeviceLimits, SimDeviceCore } from '../types.js';
import type { LinkMode, LinkOptions } from './types.js';

/** A link's options after checks and defaults. */
export interface ResolvedLink {
  mode: LinkMode;
  model: 'zephyr' | 'mcuboot';
  limits: Readonly<DeviceLimits>;
  via: string;
  rxByteMs: number;
  latIn: number;
  latOut: number;
  decodeMs: number;
  rawTimeoutMs: number;
  bootMs: number;
  bootBanner: Buffer | undefined;
  udpMtu: number;
  onCoreError: (err: unknown) => void;
}

function checkNonNeg(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a non-negative number of ms, got ${String(v)}`);
  return v;
}

function checkLimit(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 0xffff) {
    throw new RangeError(`limits.${name} must be an integer ${min}..65535, got ${String(v)}`);
  }
  return v;
}

/**
 * The buffer limits a link enforces: the core's own (what it answers in `os mcumgr params`), with
 * the link's overrides on top (for test cores only: the simulator passes none).
 */
export function resolveLimits(core: SimDeviceCore, overrides: Partial<DeviceLimits> | undefined, mode: LinkMode): Readonly<DeviceLimits> {
  const lim = { ...core.limits, ...(overrides ?? {}) };
  const limits = Object.freeze({
    netbufSize: checkLimit('netbufSize', lim.netbufSize, 16),
    netbufCount: checkLimit('netbufCount', lim.netbufCount, 1),
    lineBufSize: checkLimit('lineBufSize', lim.lineBufSize, 4),
    lineBufCount: checkLimit('lineBufCount', lim.lineBufCount, 1),
    encodings: [...(lim.encodings ?? ['console'])],
  });
  if (mode !== 'packet' && !limits.encodings.includes(mode)) {
    throw new RangeError(`a ${core.personality} device does not speak the ${mode} encoding (it speaks ${limits.encodings.join(', ')})`);
  }
  return limits;
}

/** Validates `opts` against `core`; throws TypeError/RangeError naming the option. */
export function resolveLinkOptions(core: SimDeviceCore, opts: LinkOptions): ResolvedLink {
  if (!core || typeof core.handle !== 'function' || typeof core.reboot !== 'function') {
    throw new TypeError('core must be a SimDeviceCore (handle(), reboot(), limits)');
  }
  if (!opts || typeof opts.onOutput !== 'function') throw new TypeError('opts.onOutput must be a function');
  const mode = opts.mode;
  if (mode !== 'console' && mode !== 'raw' && mode !== 'cobs' && mode !== 'packet') {
    throw new RangeError(`mode must be console, raw, cobs or packet, got ${String(mode)}`);
  }
  const model = opts.model ?? core.personality;
  if (model !== 'zephyr' && model !== 'mcuboot') throw new RangeError(`model must be zephyr or mcuboot, got ${String(model)}`);
  const limits = resolveLimits(core, opts.limits, mode);
  const baud = opts.baudRate ?? (mode === 'packet' ? 0 : 115200);
  if (typeof baud !== 'number' || !Number.isFinite(baud) || baud < 0) throw new RangeError(`baudRate must be a non-negative number, got ${String(baud)}`);
  const rxByteMs = baud > 0 ? 10_000 / baud : 0;
  const lat = opts.latencyMs ?? 0;
  let latIn: number;
  let latOut: number;
  if (typeof lat === 'object' && lat !== null) {
    latIn = checkNonNeg('latencyMs.toDevice', lat.toDevice, 0);
    latOut = checkNonNeg('latencyMs.toHost', lat.toHost, 0);
  } else {
    latIn = latOut = checkNonNeg('latencyMs', lat, 0);
  }
  const mtu = opts.udpMtu ?? 1500;
  if (!Number.isInteger(mtu) || mtu < 8) throw new RangeError(`udpMtu must be an integer >= 8, got ${String(mtu)}`);
  return {
    mode,
    model,
    limits,
    via: opts.via ?? (mode === 'packet' ? 'memory' : 'serial'),
    rxByteMs,
    latIn,
    latOut,
    decodeMs: checkNonNeg('frameDecodeMs', opts.frameDecodeMs, rxByteMs > 0 ? 0.05 : 0),
    // The device's own setting (MCUboot's Kconfig), unless the link overrides it.
    rawTimeoutMs:
      opts.rawInputTimeoutMs === undefined && core.limits.rawInputTimeoutMs === Infinity
        ? Infinity
        : checkNonNeg('rawInputTimeoutMs', opts.rawInputTimeoutMs ?? core.limits.rawInputTimeoutMs, 3000),
    bootMs: checkNonNeg('bootMs', opts.bootMs, 200),
    bootBanner: opts.bootBanner !== undefined && mode === 'console' ? Buffer.from(opts.bootBanner, 'latin1') : undefined,
    udpMtu: mtu,
    onCoreError:
      opts.onCoreError ??
      ((e) => process.emitWarning(`simulated device core threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, 'McuMgrSimWarning')),
  };
}
