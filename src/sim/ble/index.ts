/**
 * The simulated BLE link: a link model (connection interval, ATT MTU, packets per event,
 * notification queue depth, link loss), Zephyr's SMP GATT server in front of a device core, and
 * the in-process adapter a client connects through.
 * @module
 */
export { startBleSimulator, type BleSimulator, type BleSimulatorOptions } from './start.js';
export { SimBleAdapter, type SimBlePeripheral } from './adapter.js';
export { SimBleRadio, type SimBleRadioOptions, type SimBleStats, type RadioConnection, type CentralHandlers } from './radio.js';
export { SmpGattServer, type SmpGattServerOptions, type SmpGattDrops } from './peripheral.js';
export { resolveBleLink, requestsPerSecondBound, llPackets, type BleLinkOptions, type BleFaultOptions, type ResolvedBleLink } from './options.js';
