/**
 * The knobs of the simulated BLE link and what they imply: how many link-layer packets an ATT
 * PDU takes, and the fastest a request can cross the link (the bound `bench:ble` compares with).
 * @module
 */
import type { Seed } from '../rng.js';

/** Faults of the simulated radio. */
export interface BleFaultOptions {
  /** Probability that a notification is lost (the device believes it was sent). Default 0. */
  notificationLoss?: number;
  /** 1-based numbers of notifications (counted over the radio's life) to lose. */
  dropNotifications?: readonly number[];
  /** The link drops right after the device has received this many writes (counted over the radio's life). */
  dropLinkAfterWrites?: number;
  /** Seed of `notificationLoss`. Default random. */
  seed?: Seed;
}

/** Options of the BLE link model. */
export interface BleLinkOptions {
  /** Connection interval, ms (1.25 ms steps from 7.5 ms on real links). Default 7.5. */
  connIntervalMs?: number;
  /** The largest ATT MTU the device accepts; a link uses the smaller of this and the central's ask. Default 247. */
  attMtu?: number;
  /** Link-layer packets each direction per connection event (the controllers' limit). Default 4. */
  packetsPerEvent?: number;
  /** Link-layer payload (Data Length Extension: 251; without it 27). Default 251. */
  llPayload?: number;
  /** Notification pieces the device's stack takes before the SMP thread waits for them to complete. Zephyr's smp_bt: 1. */
  notifyQueueDepth?: number;
  /** Time from connect request to a usable link (connection, MTU exchange, discovery, subscribe), ms. Default 4 intervals. */
  connectMs?: number;
  /** The device is silent this long after a reset before it advertises again, ms. Default 100. */
  bootMs?: number;
  /** Injected faults. */
  faults?: BleFaultOptions;
}

/** {@link BleLinkOptions} with every default filled in. */
export interface ResolvedBleLink {
  connIntervalMs: number;
  attMtu: number;
  packetsPerEvent: number;
  llPayload: number;
  notifyQueueDepth: number;
  connectMs: number;
  bootMs: number;
  faults: BleFaultOptions;
}

function num(name: string, v: unknown, dflt: number, min: number, max: number, int = false): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) {
    throw new RangeError(`${name} must be ${int ? 'an integer' : 'a number'} ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

/** Checks the options and fills in defaults. */
export function resolveBleLink(o: BleLinkOptions = {}): ResolvedBleLink {
  if (o === null || typeof o !== 'object') throw new TypeError('BLE link options must be an object');
  const ci = num('connIntervalMs', o.connIntervalMs, 7.5, 0.5, 4000);
  const f = o.faults ?? {};
  num('faults.notificationLoss', f.notificationLoss, 0, 0, 1);
  if (f.dropLinkAfterWrites !== undefined) num('faults.dropLinkAfterWrites', f.dropLinkAfterWrites, 0, 1, 2 ** 31, true);
  return {
    connIntervalMs: ci,
    attMtu: num('attMtu', o.attMtu, 247, 23, 517, true),
    packetsPerEvent: num('packetsPerEvent', o.packetsPerEvent, 4, 1, 64, true),
    llPayload: num('llPayload', o.llPayload, 251, 27, 251, true),
    notifyQueueDepth: num('notifyQueueDepth', o.notifyQueueDepth, 1, 1, 64, true),
    connectMs: num('connectMs', o.connectMs, 4 * ci, 0, 60000),
    bootMs: num('bootMs', o.bootMs, 100, 0, 60000),
    faults: f,
  };
}

/** Link-layer packets one ATT PDU of `attBytes` (opcode + handle + value) takes: L2CAP adds 4 bytes. */
export function llPackets(attBytes: number, llPayload: number): number {
  return Math.ceil((attBytes + 4) / llPayload);
}

/**
 * The fastest the link can carry a stream of requests of `requestBytes` each, in requests per
 * second: every request is cut into MTU − 3 pieces, each piece is one ATT write of
 * `llPackets(piece + 3)` link-layer packets, and the central sends at most `packetsPerEvent`
 * of them per connection interval, back to back across request boundaries. Answers travel the
 * other way in the same events and cost nothing here. Neither the device's processing nor the
 * host's reaction time is counted: this is the radio's ceiling.
 */
export function requestsPerSecondBound(requestBytes: number, link: Pick<ResolvedBleLink, 'connIntervalMs' | 'attMtu' | 'packetsPerEvent' | 'llPayload'>): number {
  const piece = link.attMtu - 3;
  const full = Math.floor(requestBytes / piece);
  const rest = requestBytes - full * piece;
  const packets = full * llPackets(link.attMtu, link.llPayload) + (rest > 0 ? llPackets(rest + 3, link.llPayload) : 0);
  const eventsPerRequest = packets / link.packetsPerEvent;
  return 1000 / (eventsPerRequest * link.connIntervalMs);
}
