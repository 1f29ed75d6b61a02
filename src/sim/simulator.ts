/**
 * One call to get a running simulated device: builds the protocol core (Zephyr or MCUboot
 * personality), wraps it in the link model and serves it on a PTY, UDP or in memory.
 * @module
 */
import type { SerialEncoding } from '../transport/framing.js';
import type { Transport } from '../transport/transport.js';
import type { FaultOptions } from './faults.js';
import type { DeviceLink, LinkOptions, LinkStats } from './link/index.js';
import type { Seed } from './rng.js';
import { serveMemory } from './serve-memory.js';
import { servePty } from './serve-pty.js';
import { serveUdp } from './serve-udp.js';
import type { DeviceLimits, SimDeviceCore } from './types.js';
import { deviceOptionsWithLimits } from './knobs.js';
import { createMcubootBoard, createZephyrDevice, type McubootBoardOptions, type McubootDeviceOptions, type ZephyrDeviceOptions } from './device/index.js';

/** How the simulated device is reached. */
export type SimTransportKind = 'pty' | 'udp' | 'memory';

/** A device personality. */
export type SimPersonality = 'zephyr' | 'mcuboot';

/** Options of {@link startSimulator}. */
export interface SimulatorOptions {
  /** Default `zephyr`. */
  personality?: SimPersonality;
  /** Default `memory`. */
  transport?: SimTransportKind;
  /** Serial encoding on a PTY. Default `console`. */
  encoding?: SerialEncoding;
  /** UART speed on a PTY (default 115200); packet pacing for UDP/memory (default none). */
  baudRate?: number;
  /** One-way latency in ms, or per direction. */
  latencyMs?: LinkOptions['latencyMs'];
  /** Injected faults. */
  faults?: FaultOptions;
  /** Seed of the fault streams (default random; read it back from `stats().seed`). */
  seed?: Seed;
  /** Silence after a reset, in ms. */
  bootMs?: number;
  /** Console text printed after each reset. */
  bootBanner?: string;
  /** Console line decode time, in ms. */
  frameDecodeMs?: number;
  /** Raw encoding input timeout, in ms. */
  rawInputTimeoutMs?: number;
  /**
   * The device's buffer knobs (`MCUMGR_TRANSPORT_NETBUF_SIZE`/`_COUNT`, UART line buffers,
   * encodings). They configure the device it builds, so its link and its `os mcumgr params`
   * answer agree; with a ready-made `core`, set them on the core instead.
   */
  limits?: Partial<DeviceLimits>;
  /** UDP: address to bind. Default `127.0.0.1`. */
  host?: string;
  /** UDP: port to bind. Default 0 (any free port). */
  port?: number;
  /** Options for the core's factory (`createZephyrDevice(device)` / `createMcubootBoard(device)`). */
  device?: ZephyrDeviceOptions | McubootBoardOptions;
  /** A ready-made core to serve instead of building one (then `personality` and `device` are ignored). */
  core?: SimDeviceCore;
}

/** A running simulated device. */
export interface Simulator {
  /** What a client connects to: `serial:/dev/pts/5?baud=115200&encoding=console`, `udp:127.0.0.1:40123`, or `memory`. */
  readonly connection: string;
  /** How it is served. */
  readonly kind: SimTransportKind;
  /** The personality of the firmware running now (a board switches from `mcuboot` to `zephyr` at a reset). */
  readonly personality: SimPersonality;
  /** The client's transport (memory only). */
  readonly transport?: Transport;
  /** The protocol core, for inspection (flash, slots, upload state). */
  readonly device: SimDeviceCore;
  /** The link model (stats, fault log, `resetNow()`). */
  readonly link: DeviceLink;
  /** The link's counters. */
  stats(): LinkStats;
  /** Lets the process exit while the simulator runs. */
  unref(): void;
  /** Stops serving. Idempotent. */
  close(): Promise<void>;
}

/** A factory of protocol cores (`createZephyrDevice`, `createMcubootDevice`). */
export type DeviceFactory = (opts?: Record<string, unknown>) => SimDeviceCore;

/**
 * Builds a core of the given personality. For Zephyr served over UDP, the pool defaults become
 * Zephyr's UDP ones (NETBUF_SIZE 2048, NETBUF_COUNT 2) unless `opts` sets them.
 */
export function createDevice(
  personality: SimPersonality,
  opts: ZephyrDeviceOptions | McubootDeviceOptions = {},
  transport?: SimTransportKind,
): SimDeviceCore {
  if (personality === 'zephyr') {
    const udpDefaults = transport === 'udp' ? { netbufSize: 2048, netbufCount: 2 } : {};
    return createZephyrDevice({ ...udpDefaults, ...(opts as ZephyrDeviceOptions) });
  }
  // A board: serial recovery now, the application in the primary slot after a reset.
  if (personality === 'mcuboot') return createMcubootBoard(opts as McubootBoardOptions);
  throw new RangeError(`personality must be zephyr or mcuboot, got ${String(personality)}`);
}

/**
 * Starts a simulated device and serves it.
 *
 * @example
 * const sim = await startSimulator({ personality: 'zephyr', transport: 'pty', encoding: 'console', baudRate: 115200 });
 * console.log(sim.connection); // serial:/dev/pts/5?baud=115200&encoding=console
 * // … connect any client to sim.connection …
 * await sim.close();
 */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  if (opts === null || typeof opts !== 'object') throw new TypeError('startSimulator(opts): opts must be an object');
  const kind = opts.transport ?? 'memory';
  if (kind !== 'pty' && kind !== 'udp' && kind !== 'memory') throw new RangeError(`transport must be pty, udp or memory, got ${String(kind)}`);
  if (opts.core && opts.limits) {
    throw new RangeError('limits: set them on the core you pass (its limits are what it answers in os mcumgr params); limits only configure a device startSimulator builds');
  }
  const personality0 = opts.personality ?? 'zephyr';
  const core = opts.core ?? createDevice(personality0, deviceOptionsWithLimits(personality0, opts.limits, opts.device), kind);
  const linkOpts = {
    ...(opts.baudRate !== undefined ? { baudRate: opts.baudRate } : {}),
    ...(opts.latencyMs !== undefined ? { latencyMs: opts.latencyMs } : {}),
    ...(opts.faults !== undefined ? { faults: opts.faults } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.bootMs !== undefined ? { bootMs: opts.bootMs } : {}),
    ...(opts.bootBanner !== undefined ? { bootBanner: opts.bootBanner } : {}),
    ...(opts.frameDecodeMs !== undefined ? { frameDecodeMs: opts.frameDecodeMs } : {}),
    ...(opts.rawInputTimeoutMs !== undefined ? { rawInputTimeoutMs: opts.rawInputTimeoutMs } : {}),
  };
  // One server per kind; they share the handle's shape (link, stats, unref, close).
  const memory = kind === 'memory' ? serveMemory(core, linkOpts) : undefined;
  const served =
    memory ??
    (kind === 'udp'
      ? await serveUdp(core, { ...linkOpts, ...(opts.host !== undefined ? { host: opts.host } : {}), ...(opts.port !== undefined ? { port: opts.port } : {}) })
      : servePty(core, { ...linkOpts, encoding: opts.encoding ?? 'console' }));
  return {
    connection: memory ? 'memory' : (served as { connection: string }).connection,
    kind,
    get personality() {
      return core.personality;
    },
    ...(memory ? { transport: memory } : {}),
    device: core,
    link: served.link,
    stats: () => served.stats(),
    unref: () => served.unref(),
    close: () => served.close(),
  };
}
