/**
 * The bulk flasher: many devices imaged at once on a piscina worker-thread pool.
 *
 * The main thread checks every argument, reads, validates and hashes the image once, puts its
 * bytes in a SharedArrayBuffer that every worker reads without a copy, then only schedules tasks
 * and listens: each task is one device's whole job, run in a worker (connection, transfer,
 * reset, verification). Progress arrives over one MessagePort per task; results come back as plain
 * data and their errors are rebuilt as the library's classes.
 * @module
 */
import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { AbortError, deserializeError, SmpTimeoutError, type SerializedError } from '../errors.js';
import { parseImage, type ImageInfo } from '../image/index.js';
import { checkJob, checkOptions, checkTargets, loadImage, type Device } from './check-options.js';
import type {
  BulkCommand,
  BulkDeviceResult,
  BulkOptions,
  BulkProgressEvent,
  BulkReport,
  BulkStep,
  BulkTarget,
  FromWorker,
  ToWorker,
  WorkerOutcome,
  WorkerTask,
} from './types.js';

/** piscina's balancer type (not exported from its entry point). */
type PiscinaLoadBalancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;
type PiscinaWorker = Parameters<PiscinaLoadBalancer>[1][number];

/**
 * Where the worker module is and how to start it: next to this file, as `.js` when the library
 * runs from `dist/`, as `.ts` when it runs from its sources under tsx (tests, the demo).
 *
 * From sources the worker needs tsx's ESM hooks in its own thread. `--import tsx` is not enough on
 * Node 20: tsx registers its ESM hooks only on the main thread there (it cannot tell a user worker
 * from Node's internal hooks thread), so a worker would load `.ts` files only through tsx's
 * CommonJS hook, and a dynamic `import('./x.js')` of a `.ts` module (the client opens its serial
 * transport that way) would fail. So the worker registers the hooks itself through tsx's API
 * (`tsx/esm/api` `register()`), which works on every Node version tsx supports; when that module
 * cannot be resolved, it falls back to `--import tsx`.
 */
export function workerSpec(): { filename: string; execArgv: string[] } {
  const self = import.meta.url;
  const fromSource = /\.[cm]?ts$/.test(new URL(self).pathname);
  if (!fromSource) return { filename: new URL('./worker.js', self).href, execArgv: [] };
  let execArgv = ['--import', 'tsx'];
  try {
    const api = import.meta.resolve('tsx/esm/api');
    execArgv = ['--import', `data:text/javascript,import{register}from${JSON.stringify(api)};register();`];
  } catch {
    /* keep --import tsx */
  }
  return { filename: new URL('./worker.ts', self).href, execArgv };
}

/**
 * Images many devices at once on a pool of worker threads and reports per device. Each device's
 * whole job runs in a worker, on a connection of its own; a thread carries several devices (their
 * work is waiting on links), `threads` of them (default: one per 16 devices, at most cores − 1).
 *
 * One device's failure never stops the others. A failure before the image was marked is retried
 * (`retries`, default 1). When `deadlineMs` passes or `signal` aborts, every unfinished device is
 * reported (`SmpTimeoutError` / `AbortError`), asked to stop, its worker stopped after
 * `abortGraceMs` if it has not, and the pool is destroyed before the promise resolves.
 *
 * @param targets connection strings, or `{ connection, name?, options? }` with per-device options.
 * @param image the image bytes or a file path (ignored by a command-list job: pass `undefined`).
 * @throws TypeError/RangeError for a bad argument, ImageFormatError for a malformed image,
 *   AbortError when `signal` is already aborted — all before any worker starts.
 * @example
 * ```ts
 * const report = await bulkFlash(
 *   ['serial:/dev/ttyACM0?baud=115200', 'serial:/dev/ttyACM1?baud=115200'],
 *   'build/zephyr/zephyr.signed.bin',
 *   { mode: 'confirm', deadlineMs: 300_000, onProgress: (e) => console.log(e.name, e.step, e.bytes) },
 * );
 * for (const d of report.devices) console.log(d.name, d.ok ? 'ok' : d.error?.message);
 * ```
 */
export async function bulkFlash(targets: readonly BulkTarget[], image: Uint8Array | string | undefined, options: BulkOptions = {}): Promise<BulkReport> {
  const t0 = performance.now();
  const opts = checkOptions(options);
  const job = checkJob(opts.job);
  const devices = checkTargets(targets, opts);
  const concurrency = Math.min(devices.length, opts.concurrency ?? availableParallelism() * 4);
  // Devices mostly wait on their links: a thread carries many (measured: 32 boards at 115200 on
  // one thread, scaling 0.99). Leave the host program a core of its own.
  const threads = Math.min(concurrency, opts.threads ?? Math.max(1, Math.min(availableParallelism() - 1, Math.ceil(concurrency / 16))));
  const perThread = Math.ceil(concurrency / threads);
  const progressIntervalMs = opts.progressIntervalMs ?? 100;
  const abortGraceMs = opts.abortGraceMs ?? 1000;

  let shared: SharedArrayBuffer | undefined;
  let info: ImageInfo | undefined;
  if (job !== 'commands') {
    const bytes = await loadImage(image);
    info = parseImage(bytes); // validates and hashes, once: ImageFormatError before any worker starts
    shared = new SharedArrayBuffer(bytes.length);
    new Uint8Array(shared).set(bytes);
  }
  if (opts.signal?.aborted) throw new AbortError('the bulk job was aborted before it started', { cause: opts.signal.reason });

  const emit = (e: BulkProgressEvent): void => {
    if (!opts.onProgress) return;
    try {
      opts.onProgress(e);
    } catch {
      /* a throwing progress callback must not break the job */
    }
  };
  const total = info?.size ?? 0;
  const eventOf = (d: Device, state: BulkProgressEvent['state'], error?: Error): BulkProgressEvent => {
    const l = d.last;
    const e: BulkProgressEvent = {
      index: d.index,
      target: d.target,
      name: d.name,
      state,
      step: d.result?.step ?? l?.step ?? 'queued',
      bytes: d.result?.bytes ?? l?.bytes ?? 0,
      total: l?.total ?? total,
      rate: d.result ? d.result.throughput : (l?.rate ?? 0),
      window: l?.window ?? 0,
      rewinds: d.result?.rewinds ?? l?.rewinds ?? 0,
      timeouts: d.result?.timeouts ?? l?.timeouts ?? 0,
      attempt: d.result?.attempts ?? l?.attempt ?? 0,
      at: Date.now(),
    };
    if (l?.detail !== undefined && !d.result) e.detail = l.detail;
    if (d.result?.alreadyInstalled) e.detail = 'already installed';
    if (error) e.error = error;
    return e;
  };
  const settle = (d: Device, r: BulkDeviceResult): void => {
    if (d.result) return;
    d.result = r;
    emit(eventOf(d, r.ok ? 'ok' : 'failed', r.error));
  };
  for (const d of devices) emit(eventOf(d, 'queued'));

  const { filename, execArgv } = workerSpec();
  const pool = new Piscina<WorkerTask, WorkerOutcome>({
    filename,
    execArgv,
    minThreads: threads, // start them all at once: the tasks are queued right away
    maxThreads: threads,
    concurrentTasksPerWorker: perThread,
    loadBalancer: devicesPerThread(perThread),
    idleTimeout: 1000,
    atomics: 'disabled', // workers keep their event loop between tasks (I/O, not CPU)
  });

  let stopped: BulkReport['stopped'];
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const stop = (why: 'deadline' | 'abort'): void => {
    if (stopped || devices.every((d) => d.result)) return;
    stopped = why;
    for (const d of devices) {
      if (d.result) continue;
      const where = d.last?.step ?? 'queued';
      const error =
        why === 'deadline'
          ? new SmpTimeoutError(`the bulk job deadline of ${opts.deadlineMs} ms passed while ${d.name} was in step ${where}`, opts.deadlineMs!)
          : new AbortError(`the bulk job was aborted while ${d.name} was in step ${where}`, { cause: opts.signal?.reason });
      settle(d, failedResult(d, where, error, d.started ? (performance.now() - d.startedAt) / 1000 : 0));
      if (d.taskDone) continue;
      if (d.started && d.port) {
        const msg: ToWorker = { type: 'abort', reason: why };
        try {
          d.port.postMessage(msg); // let it close its connection; stopped hard after the grace
        } catch {
          d.hard.abort(why);
        }
      } else {
        d.hard.abort(why); // still queued: just dequeue it
      }
    }
    graceTimer = setTimeout(() => {
      for (const d of devices) if (!d.taskDone) d.hard.abort(why);
    }, abortGraceMs);
  };
  const deadlineTimer = opts.deadlineMs !== undefined ? setTimeout(() => stop('deadline'), opts.deadlineMs) : undefined;
  const onAbort = (): void => stop('abort');
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const runDevice = (d: Device): Promise<void> => {
    const { port1, port2 } = new MessageChannel();
    d.port = port1;
    port1.on('message', (m: FromWorker) => {
      if (!d.started) {
        d.started = true;
        d.startedAt = performance.now();
      }
      if (d.result || m?.type !== 'progress') return; // the task's result is the final word
      d.last = m;
      emit({ ...eventOf(d, m.state), at: m.at });
    });
    port1.unref();
    const task: WorkerTask = {
      index: d.index,
      connection: d.target,
      job: job === 'commands' ? { commands: (opts.job as { commands: BulkCommand[] }).commands } : job,
      image: shared,
      imageHash: info?.hash.toString('hex'),
      imageInfo: info,
      options: d.options,
      retries: d.retries,
      progressIntervalMs,
      port: port2,
    };
    return pool.run(task, { transferList: [port2], signal: d.hard.signal }).then(
      (out) => {
        d.taskDone = true;
        settle(d, fromOutcome(d, out));
      },
      (err: unknown) => {
        d.taskDone = true;
        const error = err instanceof Error ? err : new Error(String(err));
        settle(d, failedResult(d, d.last?.step ?? 'queued', error, d.started ? (performance.now() - d.startedAt) / 1000 : 0));
      },
    );
  };
  // At most `concurrency` devices at once: the next one is handed to the pool when one finishes.
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < devices.length) {
      const d = devices[next++]!;
      if (d.result) {
        d.taskDone = true; // settled (deadline, abort) before it was handed to the pool
        continue;
      }
      await runDevice(d);
    }
  };
  const tasks = Array.from({ length: concurrency }, lane);

  try {
    await Promise.all(tasks);
  } finally {
    if (deadlineTimer) clearTimeout(deadlineTimer);
    if (graceTimer) clearTimeout(graceTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    for (const d of devices) d.port?.close();
    await pool.destroy();
  }

  const results = devices.map((d) => d.result!);
  return {
    ok: results.every((r) => r.ok),
    devices: results,
    seconds: (performance.now() - t0) / 1000,
    stopped,
    image: info ? { size: info.size, version: info.versionString, hash: info.hash.toString('hex') } : undefined,
  };
}

/**
 * Piscina's own balancer gives a task that carries an AbortSignal a worker of its own, because
 * aborting a running task stops its whole worker. Here that happens only when the whole job stops
 * (deadline, abort: every device on the worker is being stopped anyway), never for one device's
 * failure, so a worker may carry up to `perThread` devices, signals or not.
 */
function devicesPerThread(perThread: number): PiscinaLoadBalancer {
  return (_task, workers) => {
    let best: PiscinaWorker | null = null;
    let bestUsage = perThread;
    for (const w of workers) {
      if (w.terminating || w.destroyed) continue;
      const usage = w.isRunningAbortableTask ? 1 : w.currentUsage;
      if (usage < bestUsage) {
        best = w;
        bestUsage = usage;
      }
    }
    return best;
  };
}

function fromOutcome(d: Device, out: WorkerOutcome): BulkDeviceResult {
  const r: BulkDeviceResult = {
    index: d.index,
    target: d.target,
    name: d.name,
    ok: out.ok,
    step: out.step,
    bytes: out.bytes,
    seconds: out.seconds,
    throughput: out.throughput,
    attempts: out.attempts,
    alreadyInstalled: out.alreadyInstalled,
    verified: out.verified,
    window: out.window,
    rewinds: out.rewinds,
    timeouts: out.timeouts,
  };
  if (out.sent !== undefined) r.sent = out.sent;
  if (out.resumedAt !== undefined) r.resumedAt = out.resumedAt;
  if (out.alreadyInSlot) r.alreadyInSlot = true;
  if (out.commandResults) r.commandResults = out.commandResults;
  if (out.error) r.error = deserializeError(out.error as SerializedError);
  return r;
}

function failedResult(d: Device, step: BulkStep, error: Error, seconds: number): BulkDeviceResult {
  return {
    index: d.index,
    target: d.target,
    name: d.name,
    ok: false,
    step,
    bytes: d.last?.bytes ?? 0,
    seconds,
    throughput: 0,
    attempts: d.last?.attempt ?? 0,
    alreadyInstalled: false,
    verified: false,
    window: d.last?.window ?? 0,
    rewinds: d.last?.rewinds ?? 0,
    timeouts: d.last?.timeouts ?? 0,
    error,
  };
}
