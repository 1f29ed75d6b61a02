/**
 * What every server of a simulated device (PTY, UDP) has in common.
 * @module
 */
import type { DeviceLink, LinkStats } from './link/index.js';
import type { SimDeviceCore } from './types.js';

/** A running server of one simulated device. */
export interface SimServer {
  /** Connection string for the client (`serial:…` or `udp:…`). */
  readonly connection: string;
  /** The link model (stats, fault log, resets). */
  readonly link: DeviceLink;
  /** The device's protocol core. */
  readonly device: SimDeviceCore;
  /** The link's counters. */
  stats(): LinkStats;
  /** Lets the process exit while the server runs. */
  unref(): void;
  /** Stops the server (a PTY's client then reads a hangup). Idempotent. */
  close(): Promise<void>;
}
