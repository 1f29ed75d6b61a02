/**
 * Simulated devices in a process (or worker thread) of their own, so the host program's event
 * loop never carries them: a demo or a benchmark starts N devices here, reads their connection
 * strings, and talks to them like real boards.
 *
 * As a script: `node child.js '<json>'` where the JSON is a list of {@link SimulatorOptions} or
 * `{"count": N, "options": {...}}`. It prints one JSON line
 * `{"type":"ready","simulators":[{"connection":…,"personality":…,"kind":…,"seed":…}, …]}`
 * (or `{"type":"error","message":…}` and exits 1), then runs until SIGTERM/SIGINT or a `close`
 * line on stdin; a `stats` line on stdin prints `{"type":"stats","stats":[…]}`.
 * As a worker (`workerData` = `{mcumgrSimulator: true, spec}` with the same JSON value as `spec`):
 * the same objects are posted to the parent, which may post `{type:'stats'}` or `{type:'close'}`.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startSimulator, type Simulator, type SimulatorOptions } from './simulator.js';
import type { LinkStats } from './link/index.js';

/** Environment variable that tells the script its parent holds the stdin pipe. */
const EXIT_ON_STDIN_CLOSE = 'MCUMGR_SIM_EXIT_ON_STDIN_CLOSE';

/** What one started simulator reports. */
export interface SimulatorInfo {
  connection: string;
  personality: string;
  kind: string;
  /** The fault seed in use (replays its faults). */
  seed: number | string;
}

/** Messages from the simulator process. */
export type SimulatorProcessMessage =
  | { type: 'ready'; simulators: SimulatorInfo[] }
  | { type: 'stats'; stats: LinkStats[] }
  | { type: 'error'; message: string };

/** What the process is told to start: a list of options, or a count of identical devices. */
export type SimulatorSpec = SimulatorOptions[] | { count: number; options?: SimulatorOptions };

/** Expands a spec into one options object per device; seeds of a `count` spec differ per device. */
export function expandSpec(spec: SimulatorSpec): SimulatorOptions[] {
  if (Array.isArray(spec)) return spec;
  if (spec && typeof spec === 'object' && Number.isInteger(spec.count) && spec.count >= 1 && spec.count <= 1024) {
    const base = spec.options ?? {};
    return Array.from({ length: spec.count }, (_, i) => ({
      ...base,
      ...(typeof base.seed === 'number' ? { seed: base.seed + i } : typeof base.seed === 'string' ? { seed: `${base.seed}#${i}` } : {}),
    }));
  }
  throw new RangeError('the simulator spec must be a list of simulator options or {"count": 1..1024, "options": {...}}');
}

/**
 * Starts the simulators of `spec` and reports through `post`; returns a function that stops them.
 * The in-memory transport makes no sense across processes and is refused.
 */
export async function runSimulatorProcess(
  spec: SimulatorSpec,
  post: (m: SimulatorProcessMessage) => void,
): Promise<{ sims: Simulator[]; stats: () => void; close: () => Promise<void> }> {
  const list = expandSpec(spec);
  const sims: Simulator[] = [];
  try {
    for (const o of list) {
      if ((o.transport ?? 'pty') === 'memory') throw new RangeError('a simulator process serves pty or udp, not memory');
      sims.push(await startSimulator({ ...o, transport: o.transport ?? 'pty' }));
    }
  } catch (e) {
    await Promise.all(sims.map((s) => s.close()));
    throw e;
  }
  post({
    type: 'ready',
    simulators: sims.map((s) => ({ connection: s.connection, personality: s.personality, kind: s.kind, seed: s.stats().seed })),
  });
  let closed = false;
  return {
    sims,
    stats: () => post({ type: 'stats', stats: sims.map((s) => s.stats()) }),
    close: async () => {
      if (closed) return;
      closed = true;
      await Promise.all(sims.map((s) => s.close()));
    },
  };
}

/** Options of {@link spawnSimulatorProcess}. */
export interface SpawnSimulatorOptions {
  /** Extra node flags. Under TypeScript sources `--import tsx` is added automatically. */
  execArgv?: string[];
  /** Give up waiting for the ready line after this many ms. Default 20000. */
  timeoutMs?: number;
}

/** A simulator process started by {@link spawnSimulatorProcess}. */
export interface SimulatorProcess {
  /** The started devices, in spec order. */
  readonly simulators: SimulatorInfo[];
  /** Connection strings, in spec order. */
  readonly connections: string[];
  /** The child process. */
  readonly child: ChildProcess;
  /** Asks for the link counters of every device. */
  stats(): Promise<LinkStats[]>;
  /** Stops the devices and waits for the process to exit. */
  close(): Promise<void>;
}

/**
 * Starts simulators in a child process (this module run as a script) and resolves once their
 * connection strings are known.
 *
 * @example
 * const proc = await spawnSimulatorProcess({ count: 8, options: { transport: 'pty', baudRate: 115200 } });
 * console.log(proc.connections); // 8 × serial:/dev/pts/N?baud=115200&encoding=console
 * await proc.close();
 */
export function spawnSimulatorProcess(spec: SimulatorSpec, opts: SpawnSimulatorOptions = {}): Promise<SimulatorProcess> {
  expandSpec(spec); // validate before spawning
  const self = fileURLToPath(import.meta.url);
  const execArgv = [...(self.endsWith('.ts') ? ['--import', 'tsx'] : []), ...(opts.execArgv ?? [])];
  const child = spawn(process.execPath, [...execArgv, self, JSON.stringify(spec)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    // The devices stop when this process goes away (its end of the stdin pipe closes).
    env: { ...process.env, [EXIT_ON_STDIN_CLOSE]: '1' },
  });
  const rl = createInterface({ input: child.stdout! });
  const waiters: Array<(m: SimulatorProcessMessage) => void> = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  rl.on('line', (line) => {
    let m: SimulatorProcessMessage;
    try {
      m = JSON.parse(line) as SimulatorProcessMessage;
    } catch {
      return; // not ours
    }
    waiters.shift()?.(m);
  });
  const next = (): Promise<SimulatorProcessMessage> => new Promise((resolve) => waiters.push(resolve));
  return new Promise<SimulatorProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`the simulator process did not report ready within ${opts.timeoutMs ?? 20000} ms`));
    }, opts.timeoutMs ?? 20000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the simulator process exited before it was ready (code ${code}, signal ${signal})`));
    });
    void next().then((m) => {
      clearTimeout(timer);
      if (m.type !== 'ready') {
        child.kill('SIGTERM');
        reject(new Error(`the simulator process failed: ${m.type === 'error' ? m.message : m.type}`));
        return;
      }
      resolve({
        simulators: m.simulators,
        connections: m.simulators.map((s) => s.connection),
        child,
        stats: async () => {
          const p = next();
          child.stdin!.write('stats\n');
          const r = await p;
          if (r.type !== 'stats') throw new Error(`unexpected message ${r.type} from the simulator process`);
          return r.stats;
        },
        close: async () => {
          if (child.exitCode === null && child.signalCode === null) {
            child.stdin!.write('close\n');
            const t = setTimeout(() => child.kill('SIGKILL'), 5000);
            await exited;
            clearTimeout(t);
          }
        },
      });
    });
  });
}

async function main(): Promise<void> {
  const write = (m: SimulatorProcessMessage): void => {
    process.stdout.write(`${JSON.stringify(m)}\n`);
  };
  let spec: SimulatorSpec;
  try {
    spec = JSON.parse(process.argv[2] ?? '{"count":1}') as SimulatorSpec;
  } catch (e) {
    write({ type: 'error', message: `argument is not JSON: ${(e as Error).message}` });
    process.exitCode = 1;
    return;
  }
  let run: Awaited<ReturnType<typeof runSimulatorProcess>>;
  try {
    run = await runSimulatorProcess(spec, write);
  } catch (e) {
    write({ type: 'error', message: (e as Error).message });
    process.exitCode = 1;
    return;
  }
  const stop = (): void => {
    void run.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  if (!process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin });
    rl.on('line', (line) => {
      const cmd = line.trim();
      if (cmd === 'stats') run.stats();
      else if (cmd === 'close') stop();
    });
    // Started by spawnSimulatorProcess: a closed stdin means the parent is gone. Started by
    // hand (stdin ignored or at EOF), the devices keep running until a signal.
    rl.on('close', () => {
      if (process.env[EXIT_ON_STDIN_CLOSE] === '1') stop();
    });
  }
}

async function workerMain(): Promise<void> {
  const port = parentPort!;
  const post = (m: SimulatorProcessMessage): void => port.postMessage(m);
  let run: Awaited<ReturnType<typeof runSimulatorProcess>>;
  try {
    run = await runSimulatorProcess((workerData as { spec: SimulatorSpec }).spec, post);
  } catch (e) {
    post({ type: 'error', message: (e as Error).message });
    return;
  }
  port.on('message', (m: { type?: string }) => {
    if (m?.type === 'stats') run.stats();
    else if (m?.type === 'close') void run.close().then(() => port.close());
  });
}

const isScript = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMainThread && isScript) {
  void main();
} else if (!isMainThread && (workerData as { mcumgrSimulator?: boolean } | null)?.mcumgrSimulator === true) {
  void workerMain();
}
