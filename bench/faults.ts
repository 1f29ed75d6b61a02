/**
 * Fault matrix: every injected link fault × every transfer × PTY and UDP, several seeded runs per
 * cell, each against a fresh simulated Zephyr device.
 *
 * A run ends in one of:
 * - verified: the operation resolved and the device (or the caller) holds exactly the right
 *   bytes: the secondary slot holds the image, the device file equals the uploaded bytes, the
 *   downloaded bytes equal the device file, the new image runs confirmed in the primary slot;
 * - typed error: it rejected with an `McuMgrError` subclass within the deadline;
 * - hang: no outcome within the hard per-run deadline (the run is abandoned and counted);
 * - wrong: it resolved but the bytes differ, or an update (successful or not) left the device
 *   running or marked for boot an image other than the original and the given one, or a plain
 *   image upload marked anything for boot;
 * - untyped: it rejected with something that is not an `McuMgrError` (a library defect too).
 *
 * Runs go to worker processes (`--jobs`, default 2); a worker that does not report within the
 * deadline plus a margin is killed and the run counted as a hang.
 *
 * Usage:
 *   npm run bench:faults [-- --runs N] [--jobs J] [--rate P] [--deadline MS]
 *                        [--only pty/fileUpload/bitFlip,udp/*\/reset] [--run I] [-v]
 * `--only` selects cells (transport/operation/fault, `*` matches anything); `--run I` runs only
 * the run with index I of each selected cell (a reproducer); `-v` prints every run.
 *
 * Prints a table, then exactly one JSON line as the last line:
 *   {"bench":"faults","runs":…,"verified":…,"typed_errors":…,"hangs":0,"wrong":0,"untyped":0}
 * Exits 1 when a run hung, gave a wrong result or failed untyped.
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createDevice, startSimulator, type Simulator } from '../src/sim/simulator.js';
import type { ZephyrDevice } from '../src/sim/device/zephyr.js';
import type { FaultOptions } from '../src/sim/faults.js';
import { Rng } from '../src/sim/rng.js';
import { MCUmgrClient } from '../src/client.js';
import { buildImage, deterministicBytes, parseImage } from '../src/image/index.js';
import { McuMgrError } from '../src/errors.js';

/* ------------------------------------------------------------------------------------------ */
/* The matrix                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/**
 * How the device is reached. `memory` (no checksum of any kind: a flipped bit reaches the
 * parsers) is for tests; the bench's table covers the real links, PTY and UDP.
 */
export type BenchTransport = 'pty' | 'udp' | 'memory';
/** The operation under test. */
export type BenchOp = 'imageUpload' | 'fileUpload' | 'fileDownload' | 'firmwareUpdate';
/** The injected fault (`none` is the control). */
export type BenchFault = 'none' | 'drop' | 'bitFlip' | 'duplicate' | 'truncate' | 'garbage' | 'reset';

export const TRANSPORTS: readonly BenchTransport[] = ['pty', 'udp'];
export const OPS: readonly BenchOp[] = ['imageUpload', 'fileUpload', 'fileDownload', 'firmwareUpdate'];
export const FAULT_KINDS: readonly BenchFault[] = ['none', 'drop', 'bitFlip', 'duplicate', 'truncate', 'garbage', 'reset'];

const OP_LABEL: Record<BenchOp, string> = {
  imageUpload: 'image upload',
  fileUpload: 'file upload',
  fileDownload: 'file download',
  firmwareUpdate: 'firmwareUpdate',
};

/** One run of one cell. */
export interface RunSpec {
  transport: BenchTransport;
  op: BenchOp;
  fault: BenchFault;
  /** Run index within the cell. */
  index: number;
  /** Seed of the link faults and of the payload. */
  seed: string;
  /** The link faults (for `reset`: the byte threshold, already chosen). */
  faults: FaultOptions;
  /** Payload size (image or file), bytes. */
  size: number;
  /** Hard deadline of the run, ms. */
  deadlineMs: number;
  /** Per-request deadline, ms. */
  timeoutMs: number;
  /** Deadline of the first image chunk (slot erase), ms. */
  firstTimeoutMs: number;
  /** Measure the bytes the device received by the end of the data phase (calibration run). */
  measure?: boolean;
}

/** What a run ended in. */
export type RunKind = 'verified' | 'typed' | 'hang' | 'wrong' | 'untyped';

/** The outcome of one run. */
export interface RunOutcome {
  kind: RunKind;
  /** Error code (typed), class and message (untyped), or what differed (wrong). */
  detail?: string;
  ms: number;
  /** Bytes the device had received at the end of the data phase (`measure` runs). */
  bytesToDevice?: number;
  /** Injected fault counts and resets, for the log. */
  injected?: string;
}

/** Options of the whole bench. */
export interface BenchOptions {
  runs: number;
  rate: number;
  deadlineMs: number;
  timeoutMs: number;
  firstTimeoutMs: number;
  size: number;
}

export const DEFAULTS: BenchOptions = { runs: 5, rate: 0.02, deadlineMs: 60_000, timeoutMs: 500, firstTimeoutMs: 3000, size: 12 * 1024 };

/** The link faults of a fault kind at `rate` per wire unit, both directions. */
export function faultsFor(fault: BenchFault, rate: number, resetAfterBytes?: number): FaultOptions {
  switch (fault) {
    case 'none':
      return {};
    case 'reset':
      if (resetAfterBytes === undefined) throw new RangeError('reset needs a byte threshold');
      return { resetAfterBytes };
    default:
      return { toDevice: { [fault]: rate }, toHost: { [fault]: rate } };
  }
}

/** The seed of run `index` of a cell. */
export function seedOf(transport: BenchTransport, op: BenchOp, fault: BenchFault, index: number): string {
  return `faults/${transport}/${op}/${fault}/${index}`;
}

/**
 * Where a device reset lands for run `seed`: between 20 % and 80 % of the bytes the device
 * receives during the data phase of a clean run (`calibrated`).
 */
export function resetPoint(seed: string, calibrated: number): number {
  const u = new Rng(`${seed}/reset`).next();
  return Math.max(1, Math.floor(calibrated * (0.2 + 0.6 * u)));
}

/** Builds the run list of a cell. */
export function cellRuns(
  transport: BenchTransport,
  op: BenchOp,
  fault: BenchFault,
  o: BenchOptions,
  calibrated?: number,
  only?: number,
): RunSpec[] {
  const out: RunSpec[] = [];
  for (let index = 0; index < o.runs; index++) {
    if (only !== undefined && index !== only) continue;
    const seed = seedOf(transport, op, fault, index);
    const faults = faultsFor(fault, o.rate, fault === 'reset' ? resetPoint(seed, calibrated ?? 4096) : undefined);
    out.push({
      transport,
      op,
      fault,
      index,
      seed,
      faults,
      size: o.size,
      deadlineMs: o.deadlineMs,
      timeoutMs: o.timeoutMs,
      firstTimeoutMs: o.firstTimeoutMs,
    });
  }
  return out;
}

/* ------------------------------------------------------------------------------------------ */
/* One run                                                                                      */
/* ------------------------------------------------------------------------------------------ */

const FILE_PATH = '/lfs/bench.bin';

function payloadSeed(seed: string): number {
  return new Rng(`${seed}/payload`).u32() || 1;
}

/** A run in progress: what the verdict looks at, and what has to be closed. */
interface Live {
  core: ZephyrDevice;
  sim?: Simulator;
  client?: MCUmgrClient;
}

async function closeLive(live: Live): Promise<void> {
  const cap = <T>(p: Promise<T>): Promise<unknown> => Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())]);
  if (live.client) await cap(live.client.close());
  if (live.sim) await cap(live.sim.close());
}

function describeError(e: unknown): string {
  if (e instanceof McuMgrError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/**
 * Runs one cell run: a fresh device, a fresh client, the operation, the verdict. Never rejects;
 * a run that does not settle within `spec.deadlineMs` is a `hang` (its promise is abandoned: the
 * caller should not reuse the process for timing-sensitive work afterwards).
 */
export async function runOne(spec: RunSpec): Promise<RunOutcome> {
  const t0 = performance.now();
  const payload = payloadSeed(spec.seed);
  const image = buildImage({ size: spec.size, version: '2.0.0', seed: payload });
  const info = parseImage(image);
  const fileData = deterministicBytes(spec.size, payload);
  const core = createDevice(
    'zephyr',
    {
      slotSize: 64 * 1024,
      ...(spec.op === 'fileDownload' ? { files: { [FILE_PATH]: fileData } } : {}),
    },
    spec.transport,
  ) as ZephyrDevice;
  const original = core.slots()[0]!.hash;
  const live: Live = { core };
  let measured: number | undefined;
  let step: string | undefined;

  const work = async (): Promise<{ resolved: boolean; value?: unknown; error?: unknown }> => {
    live.sim = await startSimulator({
      transport: spec.transport,
      core,
      faults: spec.faults,
      seed: spec.seed,
      bootMs: 50,
      ...(spec.transport === 'pty' ? { baudRate: 1_000_000 } : {}),
    });
    const clientOpts = { timeoutMs: spec.timeoutMs, longTimeoutMs: spec.firstTimeoutMs, retries: 2 };
    live.client =
      live.sim.kind === 'memory'
        ? MCUmgrClient.fromTransport(live.sim.transport!, clientOpts)
        : await MCUmgrClient.connect(live.sim.connection, clientOpts);
    const c = live.client;
    // The device's buffer size; under faults this read may fail: then the default (384) stays.
    await c.useAutoFrameSize().catch(() => undefined);
    const measure = (): void => {
      if (spec.measure) measured = live.sim!.stats().bytesToDevice;
    };
    const common = { maxTimeouts: 8, timeoutMs: spec.timeoutMs };
    try {
      let value: unknown;
      switch (spec.op) {
        case 'imageUpload':
          value = await c.image.upload(image, { ...common, firstTimeoutMs: spec.firstTimeoutMs });
          measure();
          break;
        case 'fileUpload':
          value = await c.fs.upload(FILE_PATH, fileData, common);
          measure();
          break;
        case 'fileDownload':
          value = await c.fs.download(FILE_PATH, common);
          measure();
          break;
        case 'firmwareUpdate':
          value = await c.firmwareUpdate(image, {
            ...common,
            mode: 'confirm',
            firstTimeoutMs: spec.firstTimeoutMs,
            reconnectTimeoutMs: 10_000,
            onStep: (s) => {
              step = s;
              if (s === 'mark') measure();
            },
          });
          break;
      }
      return { resolved: true, value };
    } catch (error) {
      return { resolved: false, error };
    }
  };

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => resolve('hang'), spec.deadlineMs);
  });
  let r: Awaited<ReturnType<typeof work>> | 'hang';
  try {
    r = await Promise.race([work().catch((error: unknown) => ({ resolved: false, error })), deadline]);
  } finally {
    clearTimeout(timer);
  }
  const ms = Math.round(performance.now() - t0);
  const injected = live.sim ? summarizeInjected(live.sim) : undefined;
  if (r === 'hang') {
    void closeLive(live);
    return { kind: 'hang', detail: `no outcome within ${spec.deadlineMs} ms`, ms, ...(injected ? { injected } : {}) };
  }
  await closeLive(live);
  const verdict = judge(spec, r, { core, image, imageHash: info.hash.toString('hex'), original: original!, fileData });
  if (verdict.kind !== 'verified' && step !== undefined) verdict.detail = `${verdict.detail ?? ''} at ${step}`;
  return { ...verdict, ms, ...(measured !== undefined ? { bytesToDevice: measured } : {}), ...(injected ? { injected } : {}) };
}

function summarizeInjected(sim: Simulator): string {
  const f = sim.stats().faults;
  const part = (d: Record<string, number>): string =>
    Object.entries(d)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k}=${n}`)
      .join(' ') || '-';
  return `toDevice[${part(f.toDevice)}] toHost[${part(f.toHost)}] resets=${f.resets}`;
}

interface Truth {
  core: ZephyrDevice;
  image: Buffer;
  imageHash: string;
  original: string;
  fileData: Buffer;
}

/** The verdict of a settled run, from the device's own state. */
export function judge(spec: RunSpec, r: { resolved: boolean; value?: unknown; error?: unknown }, t: Truth): Pick<RunOutcome, 'kind' | 'detail'> {
  const { core, image } = t;
  // Checks that hold whatever the outcome.
  if (spec.op === 'imageUpload' && core.swapType(0) !== 'none') {
    return { kind: 'wrong', detail: `a plain image upload left swap type ${core.swapType(0)}` };
  }
  if (spec.op === 'firmwareUpdate') {
    const slots = core.slots();
    const running = slots[0]!;
    if (running.hash !== t.original && running.hash !== t.imageHash) {
      return { kind: 'wrong', detail: `the device runs ${running.hash ?? 'no readable image'}, neither the original nor the given image` };
    }
    if (running.hash === t.imageHash && !core.readSlot(0, 0).subarray(0, image.length).equals(image)) {
      return { kind: 'wrong', detail: 'the primary slot carries the new hash but not the given bytes' };
    }
    const swap = core.swapType(0);
    if (swap === 'test' || swap === 'perm') {
      if (!core.readSlot(0, 1).subarray(0, image.length).equals(image)) {
        return { kind: 'wrong', detail: `an image other than the given one is marked for boot (${swap})` };
      }
    }
  }
  if (!r.resolved) {
    if (r.error instanceof McuMgrError) return { kind: 'typed', detail: r.error.code };
    return { kind: 'untyped', detail: describeError(r.error) };
  }
  switch (spec.op) {
    case 'imageUpload': {
      const v = r.value as { match?: boolean };
      if (!core.readSlot(0, 1).subarray(0, image.length).equals(image)) return { kind: 'wrong', detail: 'the upload resolved but the secondary slot differs from the image' };
      if (v.match === false) return { kind: 'wrong', detail: 'the upload resolved with match: false' };
      return { kind: 'verified' };
    }
    case 'fileUpload': {
      const f = core.files.get(FILE_PATH);
      if (!f) return { kind: 'wrong', detail: 'the upload resolved but the device has no such file' };
      if (!f.equals(t.fileData)) return { kind: 'wrong', detail: `the upload resolved but the device file differs (${f.length} bytes, ${firstDiff(f, t.fileData)})` };
      return { kind: 'verified' };
    }
    case 'fileDownload': {
      const d = (r.value as { data: Buffer }).data;
      if (!d.equals(t.fileData)) return { kind: 'wrong', detail: `the download resolved with different bytes (${d.length} bytes, ${firstDiff(d, t.fileData)})` };
      return { kind: 'verified' };
    }
    case 'firmwareUpdate': {
      const running = core.slots()[0]!;
      if (running.hash !== t.imageHash) return { kind: 'wrong', detail: `the update resolved but the device runs ${running.hash ?? '?'}` };
      if (core.swapType(0) !== 'none') return { kind: 'wrong', detail: `the update resolved but the new image is not confirmed (swap type ${core.swapType(0)})` };
      return { kind: 'verified' };
    }
  }
}

function firstDiff(a: Buffer, b: Buffer): string {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return `first difference at byte ${i}`;
  return a.length === b.length ? 'equal' : `lengths ${a.length} vs ${b.length}`;
}

/* ------------------------------------------------------------------------------------------ */
/* Worker processes                                                                             */
/* ------------------------------------------------------------------------------------------ */

type ToWorker = { run: RunSpec } | { exit: true };
type FromWorker = { ready: true } | { done: RunOutcome; key: string } | { unhandled: string };

function keyOf(s: RunSpec): string {
  return `${s.transport}/${s.op}/${s.fault}/${s.index}${s.measure ? '/measure' : ''}`;
}

async function workerMain(): Promise<void> {
  const send = (m: FromWorker): void => {
    process.send?.(m);
  };
  // An abandoned (hung) run or a library defect may reject later; record it instead of dying.
  process.on('unhandledRejection', (e) => send({ unhandled: describeError(e) }));
  process.on('message', (m: ToWorker) => {
    if ('exit' in m) {
      process.exit(0);
    }
    void runOne(m.run).then((out) => {
      send({ done: out, key: keyOf(m.run) });
      // After a hang the process carries an abandoned run: let the parent start a fresh worker.
      if (out.kind === 'hang') setTimeout(() => process.exit(0), 100);
    });
  });
  process.on('disconnect', () => process.exit(0));
  send({ ready: true });
}

/** Runs specs on `jobs` worker processes; `onDone` is called in completion order. */
async function runPool(specs: RunSpec[], jobs: number, onDone: (s: RunSpec, o: RunOutcome) => void, onWarn: (w: string) => void): Promise<void> {
  const queue = [...specs];
  const script = fileURLToPath(import.meta.url);
  await new Promise<void>((resolveAll) => {
    let active = 0;
    const start = (): void => {
      if (queue.length === 0) {
        if (active === 0) resolveAll();
        return;
      }
      active++;
      const child: ChildProcess = fork(script, ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      let current: RunSpec | undefined;
      let guard: NodeJS.Timeout | undefined;
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(guard);
        active--;
        if (current) {
          onDone(current, { kind: 'hang', detail: 'the worker stopped or did not report in time', ms: current.deadlineMs });
          current = undefined;
        }
        start();
      };
      const next = (): void => {
        current = queue.shift();
        if (!current) {
          child.send({ exit: true } satisfies ToWorker);
          return;
        }
        child.send({ run: current } satisfies ToWorker);
        clearTimeout(guard);
        // Backstop: the run enforces its own deadline; this catches a blocked worker.
        guard = setTimeout(() => child.kill('SIGKILL'), current.deadlineMs + 20_000);
      };
      child.on('message', (m: FromWorker) => {
        if ('ready' in m) next();
        else if ('unhandled' in m) onWarn(`unhandled rejection in a worker: ${m.unhandled}`);
        else if ('done' in m) {
          const s = current!;
          current = undefined;
          clearTimeout(guard);
          onDone(s, m.done);
          if (m.done.kind !== 'hang') next();
        }
      });
      child.on('exit', finish);
      child.on('error', (e) => {
        onWarn(`worker error: ${e.message}`);
        finish();
      });
    };
    for (let i = 0; i < Math.max(1, Math.min(jobs, queue.length)); i++) start();
    if (queue.length === 0) resolveAll();
  });
}

/* ------------------------------------------------------------------------------------------ */
/* The report                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/** Counters of one cell. */
export interface CellCounts {
  runs: number;
  verified: number;
  typed: number;
  hang: number;
  wrong: number;
  untyped: number;
  /** Typed error codes seen, with counts. */
  codes: Map<string, number>;
  ms: number;
}

function newCounts(): CellCounts {
  return { runs: 0, verified: 0, typed: 0, hang: 0, wrong: 0, untyped: 0, codes: new Map(), ms: 0 };
}

/** Adds one outcome to a cell's counters. */
export function count(c: CellCounts, o: RunOutcome): void {
  c.runs++;
  c.ms += o.ms;
  if (o.kind === 'verified') c.verified++;
  else if (o.kind === 'typed') {
    c.typed++;
    const code = o.detail ?? '?';
    c.codes.set(code, (c.codes.get(code) ?? 0) + 1);
  } else if (o.kind === 'hang') c.hang++;
  else if (o.kind === 'wrong') c.wrong++;
  else c.untyped++;
}

function pad(s: string | number, n: number, right = false): string {
  const t = String(s);
  return right ? t.padStart(n) : t.padEnd(n);
}

function printTable(cells: Map<string, CellCounts>, faults: readonly BenchFault[], ops: readonly BenchOp[], transports: readonly BenchTransport[]): void {
  const head = ['fault'.padEnd(10), 'operation'.padEnd(15)];
  for (const t of transports) head.push(`│ ${t.toUpperCase().padEnd(4)} ${pad('ok', 3, true)} ${pad('typed', 5, true)} ${pad('hang', 4, true)} ${pad('wrong', 5, true)} ${pad('s/run', 5, true)}`);
  const line = head.join(' ');
  console.log(line);
  console.log('─'.repeat(line.length));
  for (const f of faults) {
    for (const op of ops) {
      const row = [pad(f, 10), pad(OP_LABEL[op], 15)];
      let any = false;
      for (const t of transports) {
        const c = cells.get(`${t}/${op}/${f}`);
        if (!c || c.runs === 0) {
          row.push(`│ ${''.padEnd(4)} ${pad('-', 3, true)} ${pad('-', 5, true)} ${pad('-', 4, true)} ${pad('-', 5, true)} ${pad('-', 5, true)}`);
          continue;
        }
        any = true;
        const bad = (n: number, w: number): string => pad(n === 0 ? '0' : `${n}!`, w, true);
        const typed = c.typed + c.untyped;
        row.push(
          `│ ${''.padEnd(4)} ${pad(c.verified, 3, true)} ${pad(c.untyped > 0 ? `${typed}!` : typed, 5, true)} ${bad(c.hang, 4)} ${bad(c.wrong, 5)} ${pad((c.ms / c.runs / 1000).toFixed(1), 5, true)}`,
        );
      }
      if (any) console.log(row.join(' '));
    }
  }
  const codes = new Map<string, number>();
  for (const c of cells.values()) for (const [k, n] of c.codes) codes.set(k, (codes.get(k) ?? 0) + n);
  if (codes.size > 0) {
    console.log(`typed errors by code: ${[...codes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Command line                                                                                 */
/* ------------------------------------------------------------------------------------------ */

interface Args extends BenchOptions {
  jobs: number;
  only: string[] | undefined;
  run: number | undefined;
  verbose: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { ...DEFAULTS, jobs: 2, only: undefined, run: undefined, verbose: false };
  const num = (name: string, v: string | undefined, min: number, max: number, int = true): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min || n > max || (int && !Number.isInteger(n))) {
      throw new RangeError(`${name} must be ${int ? 'an integer' : 'a number'} ${min}..${max}, got ${String(v)}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): string | undefined => argv[++i];
    if (k === '--runs') a.runs = num('--runs', v(), 1, 1000);
    else if (k === '--jobs') a.jobs = num('--jobs', v(), 1, 64);
    else if (k === '--rate') a.rate = num('--rate', v(), 0, 1, false);
    else if (k === '--deadline') a.deadlineMs = num('--deadline', v(), 1000, 3_600_000);
    else if (k === '--timeout') a.timeoutMs = num('--timeout', v(), 50, 60_000);
    else if (k === '--size') a.size = num('--size', v(), 1024, 48 * 1024);
    else if (k === '--only') a.only = v()!.split(',').filter((s) => s !== '');
    else if (k === '--run') a.run = num('--run', v(), 0, 1_000_000);
    else if (k === '-v' || k === '--verbose') a.verbose = true;
    else if (k === '-h' || k === '--help') {
      console.log('usage: npm run bench:faults -- [--runs N] [--jobs J] [--rate P] [--deadline MS] [--timeout MS] [--size BYTES] [--only t/op/fault,…] [--run I] [-v]');
      process.exit(0);
    } else throw new RangeError(`unknown argument ${k}; see --help`);
  }
  return a;
}

function selected(only: string[] | undefined, t: string, op: string, f: string): boolean {
  if (!only) return true;
  return only.some((pat) => {
    const [pt = '*', po = '*', pf = '*'] = pat.split('/');
    const m = (p: string, v: string): boolean => p === '*' || p.toLowerCase() === v.toLowerCase();
    return m(pt, t) && m(po, op) && m(pf, f);
  });
}

async function main(): Promise<void> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`bench:faults: ${(e as Error).message}`);
    process.exit(2);
  }
  const t0 = performance.now();
  const warnings: string[] = [];
  const warn = (w: string): void => {
    warnings.push(w);
    console.error(`warning: ${w}`);
  };
  const cellsSel: Array<[BenchTransport, BenchOp, BenchFault]> = [];
  for (const t of TRANSPORTS) for (const op of OPS) for (const f of FAULT_KINDS) if (selected(args.only, t, op, f)) cellsSel.push([t, op, f]);
  if (cellsSel.length === 0) {
    console.error('bench:faults: --only selects no cell (cells are transport/operation/fault, e.g. pty/fileUpload/bitFlip)');
    process.exit(2);
  }

  // Calibration: the bytes the device receives during the data phase of a clean run, per
  // transport and operation, so that a scheduled reset lands mid-transfer.
  const calib = new Map<string, number>();
  const needCalib = [...new Set(cellsSel.filter(([, , f]) => f === 'reset').map(([t, op]) => `${t}/${op}`))];
  if (needCalib.length > 0) {
    const specs = needCalib.map((k) => {
      const [t, op] = k.split('/') as [BenchTransport, BenchOp];
      return { ...cellRuns(t, op, 'none', { ...args, runs: 1 })[0]!, seed: `faults/calibrate/${k}`, measure: true };
    });
    await runPool(specs, args.jobs, (s, o) => {
      if (o.bytesToDevice === undefined) warn(`calibration of ${s.transport}/${s.op} did not finish (${o.kind} ${o.detail ?? ''}); using a guess`);
      calib.set(`${s.transport}/${s.op}`, o.bytesToDevice ?? args.size);
    }, warn);
    console.log(`calibration (bytes to the device in a clean data phase): ${[...calib].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  }

  const specs: RunSpec[] = [];
  for (const [t, op, f] of cellsSel) specs.push(...cellRuns(t, op, f, args, calib.get(`${t}/${op}`), args.run));
  // Slow cells first, so the tail of the bench is short.
  const weight = (s: RunSpec): number => (s.op === 'firmwareUpdate' ? 2 : 0) + (s.fault === 'none' ? 0 : 1);
  specs.sort((a, b) => weight(b) - weight(a));

  console.log(
    `fault matrix: ${cellsSel.length} cells × ${args.run !== undefined ? `run ${args.run}` : `${args.runs} runs`} = ${specs.length} runs on ${args.jobs} workers; ` +
      `fault rate ${args.rate * 100}% per wire unit both ways; PTY 1 Mbaud console, UDP loopback; ` +
      `${args.size}-byte payloads; request timeout ${args.timeoutMs} ms, first chunk ${args.firstTimeoutMs} ms, run deadline ${args.deadlineMs / 1000} s`,
  );
  const cells = new Map<string, CellCounts>();
  const bad: string[] = [];
  let doneRuns = 0;
  await runPool(
    specs,
    args.jobs,
    (s, o) => {
      const k = `${s.transport}/${s.op}/${s.fault}`;
      const c = cells.get(k) ?? newCounts();
      cells.set(k, c);
      count(c, o);
      doneRuns++;
      const line = `${k} run ${s.index}: ${o.kind}${o.detail ? ` (${o.detail})` : ''} in ${(o.ms / 1000).toFixed(1)} s; injected ${o.injected ?? '?'}`;
      if (o.kind === 'hang' || o.kind === 'wrong' || o.kind === 'untyped') {
        const repro = `reproduce: npm run bench:faults -- --only ${k} --run ${s.index}${s.fault === 'reset' ? '' : ` --rate ${args.rate}`} -v   (seed "${s.seed}", faults ${JSON.stringify(s.faults)})`;
        bad.push(`${line}\n    ${repro}`);
        console.error(`!! ${line}\n   ${repro}`);
      } else if (args.verbose) console.log(`   ${line}`);
      else if (process.stderr.isTTY) process.stderr.write(`\r${doneRuns}/${specs.length} runs`);
    },
    warn,
  );
  if (process.stderr.isTTY && !args.verbose) process.stderr.write('\r\x1b[K');

  console.log('');
  printTable(cells, FAULT_KINDS, OPS, TRANSPORTS);
  const tot = newCounts();
  for (const c of cells.values()) {
    tot.runs += c.runs;
    tot.verified += c.verified;
    tot.typed += c.typed;
    tot.hang += c.hang;
    tot.wrong += c.wrong;
    tot.untyped += c.untyped;
  }
  console.log(
    `\n${tot.runs} runs in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${tot.verified} verified, ${tot.typed} typed errors, ` +
      `${tot.hang} hangs, ${tot.wrong} wrong results, ${tot.untyped} untyped errors`,
  );
  if (bad.length > 0) console.log(`\nruns to look at:\n${bad.join('\n')}`);
  if (warnings.length > 0) console.log(`\n${warnings.length} warning(s); the first: ${warnings[0]}`);
  console.log(
    JSON.stringify({ bench: 'faults', runs: tot.runs, verified: tot.verified, typed_errors: tot.typed, hangs: tot.hang, wrong: tot.wrong, untyped: tot.untyped }),
  );
  process.exitCode = tot.hang > 0 || tot.wrong > 0 || tot.untyped > 0 ? 1 : 0;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  if (process.argv.includes('--worker')) void workerMain();
  else
    void main().catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
