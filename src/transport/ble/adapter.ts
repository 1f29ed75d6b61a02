/**
 * The few things the BLE transport needs from a Bluetooth stack, as types only: scan, connect to
 * the SMP characteristic, write without response, notifications, the ATT MTU, disconnects.
 * `noble.ts` implements it over `@abandonware/noble`; the simulator implements it in-process
 * (`mcumgr-toolkit/sim`), and a Web Bluetooth adapter could too.
 * @module
 */

/** One advertising device seen by a scan. */
export interface BleAdvertisement {
  /** The stack's handle of the device (noble's peripheral id: the address without colons on Linux, a UUID on macOS). */
  id: string;
  /** Bluetooth address `AA:BB:CC:DD:EE:FF`, when the stack knows it (not on macOS). */
  address?: string;
  /** Advertised local name. */
  name?: string;
  /** Signal strength, dBm. */
  rssi: number;
  /** Whether the advertisement lists the SMP service UUID. */
  smp: boolean;
}

/** Options of {@link BleAdapter.scan}. */
export interface BleScanOptions {
  /** How long to listen, ms. */
  timeoutMs: number;
  /** Stops early when this returns true for an advertisement (it is included). */
  until?: (adv: BleAdvertisement) => boolean;
  /** Cancels the scan; it then resolves with what was seen. */
  signal?: AbortSignal;
}

/** Options of {@link BleAdapter.connect}. */
export interface BleConnectOptions {
  /** Deadline of connect + MTU exchange + discovery + subscribe, ms. */
  timeoutMs: number;
  /** The ATT MTU to ask for; the link uses what both sides accept. */
  mtu?: number;
}

/**
 * An open link to the SMP characteristic of one device: notifications are subscribed, the MTU
 * is negotiated.
 */
export interface BleLink {
  /** The negotiated ATT MTU (23 when no exchange took place). */
  readonly mtu: number;
  /** Writes one piece (≤ mtu − 3 bytes) without response; resolves when the stack took it. */
  write(piece: Uint8Array): Promise<void>;
  /** Calls `listener` with every notification of the characteristic; returns an unsubscribe function. */
  onNotification(listener: (piece: Uint8Array) => void): () => void;
  /** Calls `listener` once when the link drops (or is closed); returns an unsubscribe function. */
  onDisconnect(listener: (reason: string) => void): () => void;
  /** Disconnects; idempotent. */
  disconnect(): Promise<void>;
}

/** A Bluetooth stack as the BLE transport sees it. */
export interface BleAdapter {
  /** A short name for messages: `noble`, `sim`, `web-bluetooth`. */
  readonly name: string;
  /** Listens for advertisements (duplicates merged by id, the last RSSI kept). */
  scan(opts: BleScanOptions): Promise<BleAdvertisement[]>;
  /** Connects to a device found by a scan, sets up the SMP characteristic and subscribes. */
  connect(id: string, opts: BleConnectOptions): Promise<BleLink>;
}
