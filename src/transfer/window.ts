/**
 * The pipelined upload engine shared by image upload and file upload (DESIGN.md §Pipelining).
 *
 * Zephyr processes requests one at a time in arrival order and silently drops what it cannot
 * buffer; an upload chunk whose `off` is not the device's next offset is answered with the
 * device's offset and dropped. So the engine keeps up to W chunks in flight and reads the
 * device's answers as a cursor:
 * - the first chunk goes alone with a long deadline (the device erases the slot);
 * - W starts at 1 and grows by one with every in-order answer, up to a ceiling
 *   (buf_count − 1 when known);
 * - an answer whose `off` is not the expected one means loss, reorder, or a restarted device:
 *   everything in flight is abandoned and sending resumes at the device's `off` (a full first
 *   chunk again when it is 0), W halves. A later chunk's answer can reveal the loss of an
 *   earlier one before that one's deadline, so the engine watches all answers, not just the head;
 * - a deadline that passes drops W to 1 and lowers the ceiling; the ceiling creeps back up after
 *   a long run of clean answers.
 * Abandoning is safe because every chunk carries the bytes of the same source at the same offsets:
 * a stale chunk the device still accepts writes exactly what a fresh one would.
 * With `window: 1` this is exactly stop-and-wait.
 * @module
 */
import { AbortError, SmpDeviceError, SmpResponseError, SmpTimeoutError } from '../errors.js';
import type { CborMap } from '../codec/cbor.js';
import type { SmpResponse } from '../session.js';
import type { ByteSource } from './source.js';
import { fitChunk } from './chunking.js';
import type { TransferOptions, TransferProgress, TransferResult } from './types.js';

/** What one kind of upload plugs into the engine. */
export interface UploadSpec {
  source: ByteSource;
  maxRequest: number;
  /** Request fields other than `data` for a chunk at `off` (`first` = the off 0 chunk). */
  fields(off: number, first: boolean): CborMap;
  /** Sends one chunk request; must not turn device errors into exceptions (rawErrors). */
  send(body: CborMap, timeoutMs: number | undefined, signal: AbortSignal | undefined): Promise<SmpResponse>;
  /**
   * Reads the device's next offset from an answer. Throws a typed error for a fatal answer;
   * returns `undefined` when the answer is an error that says nothing about the offset (the
   * engine then asks `recover`).
   */
  offsetOf(rsp: SmpResponse): number | undefined;
  /** Asks the device where it stands after an answer that did not say (e.g. fs status). */
  recover?(): Promise<number>;
  /** Called with the answer that completed the upload. */
  onComplete?(rsp: SmpResponse): void;
  /** Deadline of the first chunk (erase). */
  firstTimeoutMs: number;
  /** Default alignment of chunk sizes. */
  alignment: number;
  /** Default ceiling of the auto window when the device's buf_count is unknown. */
  defaultMaxWindow: number;
  bufCount?: number;
}

interface InFlight {
  off: number;
  len: number;
  expected: number;
  settled: Promise<Settled>;
  abandoned: boolean;
}

type Settled = { rsp: SmpResponse; err?: undefined } | { rsp?: undefined; err: unknown };

/** Consecutive clean answers after which a lowered ceiling grows by one again. */
const CEILING_RECOVERY_ACKS = 32;

/** Runs a pipelined upload to completion. */
export async function runPipelinedUpload(spec: UploadSpec, opts: TransferOptions = {}): Promise<TransferResult> {
  const total = spec.source.size;
  const fixed = opts.window === undefined || opts.window === 'auto' ? undefined : opts.window;
  if (fixed !== undefined && (!Number.isInteger(fixed) || fixed < 1 || fixed > 64)) {
    throw new RangeError(`window must be 'auto' or an integer 1..64, got ${String(opts.window)}`);
  }
  const maxWindow =
    opts.maxWindow ?? (spec.bufCount !== undefined ? Math.max(1, spec.bufCount - 1) : spec.defaultMaxWindow);
  if (!Number.isInteger(maxWindow) || maxWindow < 1 || maxWindow > 64) {
    throw new RangeError(`maxWindow must be an integer 1..64, got ${maxWindow}`);
  }
  const alignment = opts.alignment ?? spec.alignment;
  if (!Number.isInteger(alignment) || alignment < 1) throw new RangeError(`alignment must be a positive integer, got ${alignment}`);
  if (opts.chunkSize !== undefined && (!Number.isInteger(opts.chunkSize) || opts.chunkSize < 1)) {
    throw new RangeError(`chunkSize must be a positive integer, got ${opts.chunkSize}`);
  }
  const maxTimeouts = opts.maxTimeouts ?? 5;
  const signal = opts.signal;

  let window = fixed ?? 1;
  let ceiling = fixed ?? maxWindow;
  let cleanRun = 0;
  let maxWindowUsed = 0;
  let rewinds = 0;
  let timeouts = 0;
  let consecutiveTimeouts = 0;
  let acked = 0;
  let next = 0;
  let needFirst = true;
  let emptyFirsts = 0;
  let inflight: InFlight[] = [];
  const started = performance.now();
  let rateStart = started;
  let rateBase = 0;

  // Set by any answer that reveals a mismatch while the head is still pending.
  let wake: (() => void) | undefined;
  let revealed: number | undefined;

  const checkAbort = (): void => {
    if (signal?.aborted) throw signal.reason instanceof AbortError ? signal.reason : new AbortError('the upload was aborted', { cause: signal.reason });
  };

  const chunkLen = (off: number, first: boolean): number => {
    const fit = fitChunk(spec.fields(off, first), spec.maxRequest, total - off, alignment);
    return opts.chunkSize !== undefined ? Math.min(fit, opts.chunkSize, total - off) : fit;
  };

  const sendChunk = async (off: number, first: boolean, timeoutMs: number | undefined): Promise<{ entry: InFlight }> => {
    const len = total === 0 ? 0 : chunkLen(off, first);
    const data = await spec.source.read(off, len);
    const body = { ...spec.fields(off, first), data };
    const entry: InFlight = { off, len, expected: off + len, settled: undefined as unknown as Promise<Settled>, abandoned: false };
    entry.settled = spec.send(body, timeoutMs, signal).then(
      (rsp) => {
        if (!entry.abandoned && entry !== inflight[0]) {
          const o = safeOffset(rsp);
          if (o !== undefined && o !== entry.expected && revealed === undefined) {
            revealed = o;
            wake?.();
          }
        }
        return { rsp };
      },
      (err: unknown) => ({ err }),
    );
    return { entry };
  };

  const safeOffset = (rsp: SmpResponse): number | undefined => {
    try {
      return spec.offsetOf(rsp);
    } catch {
      return undefined;
    }
  };

  const abandonAll = (): void => {
    for (const e of inflight) e.abandoned = true;
    inflight = [];
    revealed = undefined;
  };

  const moveTo = (off: number): void => {
    if (off > total) throw new SmpResponseError(`device reported offset ${off} beyond the upload size ${total}`);
    acked = off;
    next = off;
    if (off === 0 && total > 0) needFirst = true;
  };

  const report = (): void => {
    if (!opts.onProgress) return;
    const secs = (performance.now() - rateStart) / 1000;
    const p: TransferProgress = {
      done: acked,
      total,
      rate: secs > 0 ? (acked - rateBase) / secs : 0,
      window,
      rewinds,
      timeouts,
    };
    opts.onProgress(p);
  };

  const onTimeout = (e: SmpTimeoutError): void => {
    timeouts++;
    consecutiveTimeouts++;
    if (consecutiveTimeouts > maxTimeouts) throw e;
    if (fixed === undefined) {
      if (window > 1) ceiling = Math.max(1, window - 1);
      window = 1;
    }
    cleanRun = 0;
  };

  const interpret = async (s: Settled): Promise<number | 'timeout'> => {
    if (s.rsp === undefined) {
      if (s.err instanceof SmpTimeoutError) return 'timeout';
      throw s.err;
    }
    const off = spec.offsetOf(s.rsp);
    if (off !== undefined) return off;
    if (!spec.recover) throw new SmpResponseError('upload answer carries no offset');
    return spec.recover();
  };

  while (true) {
    checkAbort();
    if (needFirst) {
      abandonAll();
      const { entry } = await sendChunk(0, true, spec.firstTimeoutMs);
      const r = await interpret(await entry.settled);
      if (r === 'timeout') {
        onTimeout(new SmpTimeoutError(`no answer to the first upload chunk within ${spec.firstTimeoutMs} ms`, spec.firstTimeoutMs));
        continue;
      }
      consecutiveTimeouts = 0;
      needFirst = false;
      moveTo(r); // beyond the first chunk's end is a resume by sha; short of it, a partial write
      if (r === 0 && total > 0) {
        // The device kept nothing of the first chunk: retry it, but not forever.
        rewinds++;
        if (++emptyFirsts > maxTimeouts) throw new SmpResponseError('the device keeps answering offset 0 to the first upload chunk');
        continue;
      }
      rateStart = performance.now();
      rateBase = acked;
      report();
      if (acked >= total) {
        spec.onComplete?.((await entry.settled).rsp!);
        break;
      }
      continue;
    }

    while (inflight.length < window && next < total) {
      const { entry } = await sendChunk(next, false, opts.timeoutMs);
      inflight.push(entry);
      next = entry.expected;
    }
    maxWindowUsed = Math.max(maxWindowUsed, inflight.length);

    const head = inflight[0]!;
    const woke = new Promise<'woke'>((resolve) => {
      wake = () => resolve('woke');
      if (revealed !== undefined) resolve('woke');
    });
    const first = await Promise.race([head.settled, woke]);
    wake = undefined;
    checkAbort();

    if (first === 'woke') {
      // A later chunk's answer shows the device is elsewhere: the head was lost on the way.
      const off = revealed!;
      abandonAll();
      rewinds++;
      if (fixed === undefined) window = Math.max(1, Math.floor(window / 2));
      cleanRun = 0;
      moveTo(off);
      continue;
    }

    inflight.shift();
    const r = await interpret(first);
    if (r === 'timeout') {
      abandonAll();
      onTimeout(first.err as SmpTimeoutError);
      moveTo(acked);
      continue;
    }
    consecutiveTimeouts = 0;
    if (r === head.expected) {
      acked = r;
      cleanRun++;
      if (fixed === undefined) {
        if (window < ceiling) window++;
        if (cleanRun >= CEILING_RECOVERY_ACKS && ceiling < maxWindow) {
          ceiling++;
          cleanRun = 0;
        }
      }
      report();
      if (acked >= total) {
        spec.onComplete?.(first.rsp!);
        abandonAll();
        break;
      }
      continue;
    }
    // The device is somewhere else: rewind (or skip ahead) to where it is.
    const partial = r > head.off && r < head.expected && inflight.length === 0;
    abandonAll();
    if (!partial) {
      rewinds++;
      if (fixed === undefined) window = Math.max(1, Math.floor(window / 2));
      cleanRun = 0;
    }
    moveTo(r);
    report();
    if (acked >= total && total > 0) {
      spec.onComplete?.(first.rsp!);
      break;
    }
  }

  const seconds = (performance.now() - started) / 1000;
  return { bytes: total, seconds, throughput: seconds > 0 ? total / seconds : 0, rewinds, timeouts, maxWindowUsed };
}

/** True when `e` is a device error of `group` with group code `rc` (SMP v2 `err`). */
export function isGroupError(e: unknown, group: number, rc: number): e is SmpDeviceError {
  return e instanceof SmpDeviceError && e.style === 'err' && (e.errGroup ?? e.group) === group && e.rc === rc;
}
