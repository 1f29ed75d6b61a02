/**
 * SMP over Bluetooth LE: the transport, the GATT framing, the adapter interface, and the noble
 * adapter (loaded only when used).
 * @module
 */
export { BleTransport, openBleTransport, matchesTarget, type BleTransportOptions, type BleTransportStats } from './transport.js';
export type { BleAdapter, BleAdvertisement, BleLink, BleScanOptions, BleConnectOptions } from './adapter.js';
export {
  SMP_SERVICE_UUID,
  SMP_CHARACTERISTIC_UUID,
  ATT_OVERHEAD,
  DEFAULT_ATT_MTU,
  MAX_ATT_MTU,
  MAX_SMP_PACKET,
  attPayload,
  splitPacket,
  pieceCount,
  GattReassembler,
  type ReassemblerOptions,
  type ReassemblerStats,
} from './gatt.js';
export { BleUnavailableError } from './errors.js';
export { scanSmpDevices, type ScanSmpOptions } from './scan.js';
