/**
 * The in-process stand-in for a Bluetooth stack: a {@link BleAdapter} whose scan sees the
 * simulated peripherals and whose links write into and hear from their radio. It is the one test
 * double where real hardware would stand, and it is kept to GATT writes and notifications: all
 * framing, reassembly and pipelining are the real transport's.
 * @module
 */
import type { BleAdapter, BleAdvertisement, BleConnectOptions, BleLink, BleScanOptions } from '../../transport/ble/adapter.js';
import { DEFAULT_ATT_MTU } from '../../protocol/ble-gatt.js';
import type { SimBleRadio } from './radio.js';

/** A simulated peripheral as it advertises. */
export interface SimBlePeripheral {
  radio: SimBleRadio;
  /** Advertised name. */
  name: string;
  /** Address `AA:BB:CC:DD:EE:FF`. */
  address: string;
  /** RSSI the scan reports, dBm. Default −50. */
  rssi?: number;
}

/** A {@link BleAdapter} over simulated peripherals. */
export class SimBleAdapter implements BleAdapter {
  readonly name = 'sim';
  readonly #peripherals: SimBlePeripheral[];
  /** The ATT MTU this "central" asks for. */
  readonly askMtu: number;

  constructor(peripherals: SimBlePeripheral[], askMtu = 517) {
    this.#peripherals = peripherals;
    this.askMtu = askMtu;
  }

  async scan(opts: BleScanOptions): Promise<BleAdvertisement[]> {
    // Advertising intervals are not modelled: what advertises is seen at once, unless it boots.
    const deadline = performance.now() + opts.timeoutMs;
    for (;;) {
      const seen = this.#peripherals.filter((p) => p.radio.advertising).map(advertisement);
      if (seen.some((a) => opts.until?.(a)) || performance.now() >= deadline || opts.signal?.aborted) return seen;
      await new Promise((r) => setTimeout(r, Math.min(20, Math.max(1, deadline - performance.now()))));
    }
  }

  async connect(id: string, opts: BleConnectOptions): Promise<BleLink> {
    const p = this.#peripherals.find((x) => advertisement(x).id === id);
    if (!p) throw new Error(`no simulated BLE device with id ${id}`);
    const notify = new Set<(piece: Uint8Array) => void>();
    const gone = new Set<(reason: string) => void>();
    let down = false;
    const conn = await p.radio.connect(Math.max(DEFAULT_ATT_MTU, opts.mtu ?? this.askMtu), {
      notification: (piece) => {
        for (const l of notify) l(piece);
      },
      disconnected: (reason) => {
        down = true;
        for (const l of [...gone]) l(reason);
        gone.clear();
      },
    });
    return {
      mtu: conn.mtu,
      write: (piece) => (conn.write(piece) ? Promise.resolve() : Promise.reject(new Error('not connected'))),
      onNotification: (l) => {
        notify.add(l);
        return () => notify.delete(l);
      },
      onDisconnect: (l) => {
        if (down) queueMicrotask(() => l('disconnected'));
        else gone.add(l);
        return () => gone.delete(l);
      },
      disconnect: () => {
        conn.disconnect();
        return Promise.resolve();
      },
    };
  }
}

function advertisement(p: SimBlePeripheral): BleAdvertisement {
  return { id: p.address.replace(/:/g, '').toLowerCase(), address: p.address, name: p.name, rssi: p.rssi ?? -50, smp: true };
}
