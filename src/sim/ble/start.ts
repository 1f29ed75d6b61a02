/**
 * One call to get a simulated Zephyr device on a simulated BLE link, and the adapter to reach it:
 * `MCUmgrClient.ble(sim.target, { adapter: sim.adapter })` or
 * `MCUmgrClient.connect(sim.connection, { ble: { adapter: sim.adapter } })`.
 * @module
 */
import { createZephyrDevice, type ZephyrDeviceOptions } from '../device/index.js';
import type { SimDeviceCore } from '../types.js';
import { SimBleAdapter } from './adapter.js';
import { SimBleRadio, type SimBleRadioOptions, type SimBleStats } from './radio.js';

/** Options of {@link startBleSimulator}. */
export interface BleSimulatorOptions extends SimBleRadioOptions {
  /** Options of the Zephyr core (`createZephyrDevice`). BLE builds use bigger buffers; default netbufSize 2475, netbufCount 4. */
  device?: ZephyrDeviceOptions;
  /** A ready-made core instead. */
  core?: SimDeviceCore;
  /** Advertised name. Default `zephyr-sim`. */
  name?: string;
  /** Address. Default `C0:FF:EE:00:00:01`. */
  address?: string;
  /** RSSI a scan reports, dBm. Default −50. */
  rssi?: number;
  /** ATT MTU the simulated central asks for. Default 517. */
  centralMtu?: number;
}

/** A running simulated BLE device. */
export interface BleSimulator {
  /** Connection string: `ble:NAME`. */
  readonly connection: string;
  /** The advertised name (`ble:` + it is the connection string). */
  readonly target: string;
  /** The adapter a client connects through. */
  readonly adapter: SimBleAdapter;
  /** The radio (link model, faults, `dropLink()`). */
  readonly radio: SimBleRadio;
  /** The protocol core. */
  readonly device: SimDeviceCore;
  stats(): SimBleStats;
  unref(): void;
  close(): Promise<void>;
}

/**
 * Starts a simulated Zephyr device behind the BLE link model.
 * @example
 * const sim = startBleSimulator({ connIntervalMs: 7.5, attMtu: 247, packetsPerEvent: 4 });
 * const client = await MCUmgrClient.ble(sim.target, { adapter: sim.adapter });
 */
export function startBleSimulator(opts: BleSimulatorOptions = {}): BleSimulator {
  const core = opts.core ?? createZephyrDevice({ netbufSize: 2475, netbufCount: 4, ...opts.device });
  const radio = new SimBleRadio(core, opts);
  const name = opts.name ?? 'zephyr-sim';
  const address = opts.address ?? 'C0:FF:EE:00:00:01';
  const adapter = new SimBleAdapter([{ radio, name, address, rssi: opts.rssi ?? -50 }], opts.centralMtu ?? 517);
  return {
    connection: `ble:${name}`,
    target: name,
    adapter,
    radio,
    device: core,
    stats: () => radio.stats(),
    unref: () => radio.unref(),
    close: () => {
      radio.close();
      return Promise.resolve();
    },
  };
}
