/**
 * The public types of the link model: what a link carries, its options and its counters.
 * @module
 */
import type { DeviceLimits } from '../types.js';
import type { FaultOptions, FaultStats } from '../faults.js';
import type { Seed } from '../rng.js';

/** What the link carries: a serial byte stream in one encoding, or whole packets (UDP, in-memory). */
export type LinkMode = 'console' | 'raw' | 'cobs' | 'packet';

/** Options of a {@link DeviceLink}. */
export interface LinkOptions {
  /** Serial encoding, or `packet` for datagram-like links. */
  mode: LinkMode;
  /** Transport name given to `core.handle(packet, via)`. Default `serial` for serial modes, `memory` for packets. */
  via?: string;
  /**
   * UART speed in bit/s (8N1: a byte takes 10 bit times). Default 115200 for serial modes, none
   * (instant) for packets; 0 turns pacing off. For packets a value makes each packet take
   * `length × 10 / baudRate` seconds on the wire.
   */
  baudRate?: number;
  /** One-way latency in ms (both directions), or per direction. Default 0. */
  latencyMs?: number | { toDevice?: number; toHost?: number };
  /**
   * Time the work queue needs to decode one received console line, in ms. Default 0.05 (0 when
   * `baudRate` is 0: an unpaced wire would otherwise overrun the line buffers at once).
   */
  frameDecodeMs?: number;
  /** Raw encoding: a partial packet is discarded after this many ms without a byte. Default 3000. */
  rawInputTimeoutMs?: number;
  /** The device is deaf and mute for this long after a reset, in ms. Default 200. */
  bootMs?: number;
  /** Text the device prints when it has booted (console mode only), e.g. a Zephyr banner. Default none. */
  bootBanner?: string;
  /** Largest datagram the device receives when `via` is `udp` (`MCUMGR_TRANSPORT_UDP_MTU`). Default 1500. */
  udpMtu?: number;
  /** Overrides of the core's buffer limits (Kconfig knobs). */
  limits?: Partial<DeviceLimits>;
  /** Processing model; default: the core's personality. */
  model?: 'zephyr' | 'mcuboot';
  /** Injected faults. */
  faults?: FaultOptions;
  /** Seed of the fault streams. Default: random (read it back from `stats().seed`). */
  seed?: Seed;
  /** Where the device's output goes: wire bytes (serial modes) or whole packets, with the requester's address for packets. */
  onOutput: (data: Buffer, to: unknown) => void;
  /** Millisecond clock. Default `performance.now`. */
  clock?: () => number;
  /**
   * Called when the core throws (the request is then dropped, as a crashed handler would lose it).
   * Default: a process warning, so a core bug is visible without stopping the simulator.
   */
  onCoreError?: (err: unknown) => void;
}

/** Why the link model lost bytes or packets (not counting injected faults). */
export interface LinkDrops {
  /** Console lines begun when every line buffer was in use. */
  lineNoBuffer: number;
  /** Console lines longer than a line buffer. */
  lineTooLong: number;
  /** Frames/packets lost because the net_buf pool was empty. */
  netbufExhausted: number;
  /** Packets larger than the device accepts (NETBUF_SIZE − 4 console, NETBUF_SIZE raw/COBS/packets). */
  oversize: number;
  /** Raw partial packets discarded by the input timeout. */
  rawTimeout: number;
  /** Raw headers with an invalid op or reserved bits (everything buffered was thrown away). */
  rawBadHeader: number;
  /** MCUboot: bytes or packets that did not fit the receive buffer while the loop was busy. */
  rxOverflow: number;
  /** Datagrams cut at the UDP MTU. */
  udpTruncated: number;
  /** Bytes (serial) or packets that arrived while the device was booting. */
  duringBoot: number;
  /** Responses not sent because the device is `silent`. */
  silenced: number;
  /** Requests whose response buffer could not be allocated (answered with ENOMEM). */
  enomem: number;
}

/** What the device's frame decoder rejected (console lines / COBS frames). */
export interface LinkFrameStats {
  /** Lines without a frame marker (logs, junk). */
  nonFrame: number;
  /** Continuation frames with no packet in progress. */
  orphanContinuation: number;
  /** Frames that were not valid base64 / COBS. */
  badEncoding: number;
  /** Packets whose length prefix was wrong (too short, overrun). */
  badLength: number;
  /** Packets whose CRC did not match. */
  badCrc: number;
}

/** Counters of a link. */
export interface LinkStats {
  /** The fault seed (replays the same faults). */
  seed: Seed;
  /** Milliseconds since the link started. */
  uptimeMs: number;
  /** Bytes that reached the device (after faults; serial and packet payloads). */
  bytesToDevice: number;
  /** Bytes the device put on the wire (after faults). */
  bytesToHost: number;
  /** Requests that reached the SMP queue. */
  requests: number;
  /** Requests the core handled. */
  handled: number;
  /** Response packets the device produced (before toHost faults). */
  responses: number;
  /** The most requests that were waiting at once (queued, not being processed). */
  maxWaiting: number;
  /** Free net_bufs now. */
  netbufFree: number;
  /** Device resets (scheduled faults and `os reset`). */
  resets: number;
  /** Exceptions thrown by the core (the request is then dropped). */
  coreErrors: number;
  drops: LinkDrops;
  frames: LinkFrameStats;
  faults: FaultStats;
}
