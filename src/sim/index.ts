/**
 * `mcumgr-toolkit/sim`: a Zephyr-faithful simulated MCUmgr device for tests, CI and benchmarks.
 * The protocol core (Zephyr and MCUboot-recovery personalities) sits behind a link model (UART
 * pacing, latency, Zephyr's line buffers and net_buf pool, one request at a time, seeded faults)
 * and is served on a real PTY, on UDP, or in memory.
 *
 * @example
 * import { startSimulator } from 'mcumgr-toolkit/sim';
 * const sim = await startSimulator({ transport: 'pty', encoding: 'console', baudRate: 115200 });
 * console.log(sim.connection); // serial:/dev/pts/5?baud=115200&encoding=console
 * @module
 */
export * from './device/index.js';
export {
  DeviceLink,
  enomemResponse,
  type LinkMode,
  type LinkOptions,
  type LinkStats,
  type LinkDrops,
  type LinkFrameStats,
} from './link/index.js';
export {
  FaultInjector,
  resolveFaults,
  makeGarbage,
  type DirectionFaults,
  type FaultOptions,
  type FaultStats,
  type FaultCounts,
  type FaultLogEntry,
  type UnitFaultKind,
  type ResolvedFaults,
  type Direction,
  type UnitStyle,
} from './faults.js';
export type { Pty } from './pty.js';
export { Rng, createRng, hashSeed, type Seed } from './rng.js';
export { serveMemory, type ServeMemoryOptions, type SimMemoryTransport } from './serve-memory.js';
export { servePty, type ServePtyOptions, type SimPtyServer } from './serve-pty.js';
export { serveUdp, type ServeUdpOptions, type SimUdpServer } from './serve-udp.js';
export type { SimServer } from './server.js';
export {
  startSimulator,
  createDevice,
  type Simulator,
  type SimulatorOptions,
  type SimTransportKind,
  type SimPersonality,
  type DeviceFactory,
} from './simulator.js';
export {
  runSimulatorProcess,
  spawnSimulatorProcess,
  expandSpec,
  type SimulatorSpec,
  type SimulatorInfo,
  type SimulatorProcess,
  type SimulatorProcessMessage,
  type SpawnSimulatorOptions,
} from './child.js';
export { createMemoryPair, type MemoryPairOptions } from '../transport/memory.js';
// Types that exported ones refer to (BulkResult, BulkSpec, GroupDef.handlers): a device written
// on these needs them too.
export { BAD, type ValueDecoder } from './device/cbor-reader.js';
export type { CommandDef, Handler, SmpCtx } from './device/smp.js';
export * from './ble/index.js';
