/**
 * The bulk flasher's worker: one task is one device's whole job. It opens the device's
 * connection in this thread, asks its buffer size, runs the update (or the upload, or the command
 * list), retries a failure that happened before the image was marked, closes the connection, and
 * resolves with a plain {@link WorkerOutcome} (it never throws: a failure travels as a serialized
 * error). Progress goes to the main thread over the task's MessagePort, throttled.
 *
 * Loaded by piscina from `src/bulk/worker.ts` under tsx, or from `dist/bulk/worker.js`.
 * @module
 */
import { MCUmgrClient } from '../client.js';
import { AbortError, ImageFormatError, serializeError, VerifyError } from '../errors.js';
import { reviveBuffers } from './revive.js';
import type { ImageUploadOptions } from '../transfer/image-upload.js';
import type { TransferResult } from '../transfer/types.js';
import type { FirmwareUpdateOptions } from '../workflows/firmware-update.js';
import { ProgressThrottle } from './progress.js';
import type { BulkCommand, BulkDeviceOptions, BulkStep, ProgressMessage, ToWorker, WorkerOutcome, WorkerTask } from './types.js';

/** Steps of an update before anything is marked: a failure there may be retried. */
const RETRYABLE_UPDATE_STEPS: ReadonlySet<BulkStep> = new Set<BulkStep>(['queued', 'connect', 'validate', 'check', 'upload']);
/** Pause before a retry, ms. */
const RETRY_PAUSE_MS = 500;

export default async function runDeviceTask(task: WorkerTask): Promise<WorkerOutcome> {
  const { port } = task;
  const abort = new AbortController();
  const onMessage = (m: ToWorker): void => {
    if (m && m.type === 'abort' && !abort.signal.aborted) {
      abort.abort(new AbortError(m.reason === 'deadline' ? 'the bulk job deadline passed' : 'the bulk job was aborted'));
    }
  };
  port.on('message', onMessage);

  const image = task.image ? Buffer.from(task.image) : undefined; // a view on the shared bytes, not a copy
  const snap: ProgressMessage = {
    type: 'progress',
    state: 'running',
    step: 'connect',
    bytes: 0,
    total: image?.length ?? 0,
    rate: 0,
    window: 0,
    rewinds: 0,
    timeouts: 0,
    attempt: 1,
    at: 0,
  };
  const throttle = new ProgressThrottle<ProgressMessage>((m, at) => {
    try {
      port.postMessage({ ...m, at: performance.timeOrigin + at }); // the throttle's clock, on the Date.now() scale
    } catch {
      /* the main side is gone; nothing to tell */
    }
  }, task.progressIntervalMs);
  const report = (patch: Partial<ProgressMessage>): void => {
    Object.assign(snap, patch);
    if (patch.detail === undefined && patch.step !== undefined) delete snap.detail;
    throttle.push({ ...snap });
  };

  const started = performance.now();
  const outcome: WorkerOutcome = {
    ok: false,
    step: 'connect',
    bytes: 0,
    seconds: 0,
    throughput: 0,
    attempts: 0,
    alreadyInstalled: false,
    verified: false,
    window: 0,
    rewinds: 0,
    timeouts: 0,
  };
  try {
    for (let attempt = 1; ; attempt++) {
      outcome.attempts = attempt;
      const state = { step: 'connect' as BulkStep };
      report({ state: 'running', step: 'connect', attempt, bytes: 0, rate: 0, window: 0, rewinds: 0, timeouts: 0 });
      try {
        await runOnce(task, image, abort.signal, state, report, outcome);
        outcome.ok = true;
        delete outcome.error;
        break;
      } catch (e) {
        outcome.ok = false;
        outcome.step = state.step;
        outcome.bytes = snap.bytes;
        outcome.window = Math.max(outcome.window, snap.window);
        outcome.rewinds = snap.rewinds;
        outcome.timeouts = snap.timeouts;
        outcome.error = serializeError(abort.signal.aborted && !(e instanceof AbortError) ? new AbortError(undefined, { cause: e }) : e);
        if (attempt > task.retries || !mayRetry(e, state.step, task.job, abort.signal)) break;
        report({ state: 'retrying', detail: `attempt ${attempt} failed in ${state.step}: ${e instanceof Error ? e.message : String(e)}` });
        try {
          await sleep(RETRY_PAUSE_MS, abort.signal);
        } catch {
          break;
        }
      }
    }
  } finally {
    outcome.seconds = (performance.now() - started) / 1000;
    throttle.close();
    port.off('message', onMessage);
    port.close();
  }
  return outcome;
}

/** One attempt: connect, size the frames, do the job, close. Fills `outcome` on success. */
async function runOnce(
  task: WorkerTask,
  image: Buffer | undefined,
  signal: AbortSignal,
  state: { step: BulkStep },
  report: (p: Partial<ProgressMessage>) => void,
  outcome: WorkerOutcome,
): Promise<void> {
  const o = task.options;
  const parsed = task.imageInfo ? reviveBuffers(task.imageInfo) : undefined; // parsed and hashed once, on the main thread
  throwIfAborted(signal);
  const client = await MCUmgrClient.connect(task.connection, o.client);
  try {
    throwIfAborted(signal);
    if (o.autoFrameSize !== false) await client.useAutoFrameSize({ signal });
    throwIfAborted(signal);
    const onProgress: ImageUploadOptions['onProgress'] = (p) =>
      report({ bytes: p.done, total: p.total, rate: p.rate, window: p.window, rewinds: p.rewinds, timeouts: p.timeouts });

    if (task.job === 'update') {
      if (!image) throw new TypeError('an update job needs an image');
      const r = await client.firmwareUpdate(image, {
        ...updateOptions(o),
        parsed,
        signal,
        onStep: (step, detail) => {
          state.step = step;
          report({ step, detail });
        },
        onProgress,
      });
      if (task.imageHash !== undefined && r.image.hash.toString('hex') !== task.imageHash) {
        throw new VerifyError(`the worker saw image hash ${r.image.hash.toString('hex')}, not ${task.imageHash}`);
      }
      state.step = r.step;
      Object.assign(outcome, {
        step: r.step,
        alreadyInstalled: r.alreadyInstalled,
        bytes: r.upload?.bytes ?? 0,
        ...uploadHonesty(r.upload),
        throughput: r.upload?.throughput ?? 0,
        window: r.upload?.maxWindowUsed ?? 0,
        rewinds: r.upload?.rewinds ?? 0,
        timeouts: r.upload?.timeouts ?? 0,
        verified: r.alreadyInstalled || (o.reset !== false && o.verify !== false),
      });
    } else if (task.job === 'upload') {
      if (!image) throw new TypeError('an upload job needs an image');
      state.step = 'upload';
      report({ step: 'upload' });
      const r = await client.image.upload(image, {
        ...uploadOptions(o),
        firstTimeoutMs: o.firstTimeoutMs, // the client's long timeout when not given
        knownSha: parsed?.uploadSha,
        signal,
        onProgress,
      });
      state.step = 'done';
      Object.assign(outcome, {
        step: 'done',
        bytes: r.bytes,
        ...uploadHonesty(r),
        throughput: r.throughput,
        window: r.maxWindowUsed,
        rewinds: r.rewinds,
        timeouts: r.timeouts,
      });
    } else {
      state.step = 'commands';
      report({ step: 'commands' });
      const results: unknown[] = [];
      for (const [i, c] of task.job.commands.entries()) {
        throwIfAborted(signal);
        report({ detail: `${i + 1}/${task.job.commands.length} ${c.call}` });
        results.push(await runCommand(client, c));
      }
      state.step = 'done';
      Object.assign(outcome, { step: 'done', commandResults: results });
    }
    report({ step: 'done', bytes: outcome.bytes });
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** Calls `client[namespace][method](...args)` for a command of a command-list job. */
async function runCommand(client: MCUmgrClient, c: BulkCommand): Promise<unknown> {
  const [ns, method] = c.call.split('.');
  const group = (client as unknown as Record<string, unknown>)[ns!];
  const fn = group !== null && typeof group === 'object' ? (group as Record<string, unknown>)[method!] : undefined;
  if (typeof fn !== 'function') throw new TypeError(`command ${c.call}: the client has no method ${method} in ${ns}`);
  const value: unknown = await (fn as (...a: unknown[]) => Promise<unknown>).apply(group, c.args ?? []);
  try {
    return structuredClone(value);
  } catch {
    throw new TypeError(`command ${c.call}: its result cannot be copied to the main thread`);
  }
}

/** Whether a failed attempt may be tried again. */
function mayRetry(e: unknown, step: BulkStep, job: WorkerTask['job'], signal: AbortSignal): boolean {
  if (signal.aborted) return false;
  if (e instanceof AbortError || e instanceof ImageFormatError || e instanceof TypeError || e instanceof RangeError) return false;
  if (job === 'update') return RETRYABLE_UPDATE_STEPS.has(step);
  if (job === 'upload') return true;
  return step === 'connect'; // a command list may hold writes: never replay it
}

function updateOptions(o: BulkDeviceOptions): FirmwareUpdateOptions {
  const out: FirmwareUpdateOptions = uploadOptions(o);
  for (const k of ['mode', 'reset', 'verify', 'force', 'confirmAfterTest', 'reconnectTimeoutMs', 'firstTimeoutMs'] as const) {
    if (o[k] !== undefined) (out as Record<string, unknown>)[k] = o[k];
  }
  return out;
}

function uploadOptions(o: BulkDeviceOptions): ImageUploadOptions {
  const out: ImageUploadOptions = {};
  for (const k of ['window', 'maxWindow', 'chunkSize', 'timeoutMs', 'maxTimeouts', 'image', 'upgrade'] as const) {
    if (o[k] !== undefined) (out as Record<string, unknown>)[k] = o[k];
  }
  return out;
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new AbortError();
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new AbortError());
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new AbortError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** What an upload really sent: the bytes on the link, and what the device already held. */
function uploadHonesty(r: TransferResult | undefined): Pick<WorkerOutcome, 'sent' | 'resumedAt' | 'alreadyInSlot'> {
  if (!r) return {};
  return { sent: r.sent, ...(r.resumedAt !== undefined ? { resumedAt: r.resumedAt } : {}), ...(r.alreadyComplete ? { alreadyInSlot: true } : {}) };
}
