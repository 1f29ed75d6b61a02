/**
 * Lists the devices that advertise the SMP service (for `mcumgr list --ble`).
 * @module
 */
import type { BleAdapter, BleAdvertisement } from './adapter.js';

/** Options of {@link scanSmpDevices}. */
export interface ScanSmpOptions {
  /** How long to listen, ms. Default 5000. */
  timeoutMs?: number;
  /** The stack. Default: noble. */
  adapter?: BleAdapter;
  /** Also list devices that do not advertise the SMP service. Default false. */
  all?: boolean;
  signal?: AbortSignal;
}

/**
 * Scans and returns the SMP devices heard, strongest signal first. Zephyr advertises the SMP
 * service UUID only if the application puts it in its advertising data (the smp_svr sample does).
 * @example
 * for (const d of await scanSmpDevices({ timeoutMs: 3000 })) console.log(d.name, d.address, d.rssi);
 */
export async function scanSmpDevices(opts: ScanSmpOptions = {}): Promise<BleAdvertisement[]> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new RangeError(`timeoutMs must be a positive number of ms, got ${String(timeoutMs)}`);
  const adapter = opts.adapter ?? (await (await import('./noble.js')).nobleAdapter());
  const seen = await adapter.scan({ timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) });
  return seen.filter((a) => opts.all || a.smp).sort((a, b) => b.rssi - a.rssi);
}
