/**
 * The pipelined upload engine shared by image upload and file upload (DESIGN.md §Pipelining).
 *
 * Zephyr processes requests one at a time in arrival order and silently drops what it cannot
 * buffer; an upload chunk whose `off` is not the device's next offset is answered with the
 * device's offset and dropped. So the engine keeps up to W chunks in flight and reads the
 * device's answers as a cursor:
 * - the first chunk goes alone with a long deadline (the device erases the slot);
 * - W starts at 1 and grows by one with every in-order answer, up to a ceiling: buf_count − 1
 *   when the device told it, else 1 (a window is never wider than what the device has buffers
 *   for; chunks left behind by a rewind keep their place until answered or timed out, since
 *   the device may still hold them);
 * - an answer whose `off` is not the expected one means loss, reorder, or a restarted device:
 *   everything in flight is abandoned and sending resumes at the device's `off` (a full first
 *   chunk again when it is 0), W halves and the ceiling drops by one (it creeps back up after a
 *   long run of clean answers). A later chunk's answer can reveal the loss of an earlier one
 *   before that one's deadline, so the engine watches all answers, not just the head; and a
 *   later in-order answer confirms earlier chunks whose own answers were lost;
 * - a deadline that passes halves W and resends from the last confirmed offset;
 * - over raw SMP (no CRC, no resync) one request is in flight and a loss is followed by silence
 *   longer than the device's input timeout.
 * Abandoning is safe because every chunk carries the bytes of the same source at the same offsets:
 * a stale chunk the device still accepts writes exactly what a fresh one would.
 * With `window: 1` this is exactly stop-and-wait.
 *
 * The steady state (an in-order answer that does not end the upload, from a source read
 * synchronously) is handled in the answer's own call: the chunk is confirmed and the window
 * refilled while the loop below stays parked, so a chunk costs no promise and no turn of the
 * event loop. Everything else wakes the loop, which decides as described above.
 * @module
 */
import { setTimeout as delay } from 'node:timers/promises';
import { AbortError, SmpDeviceError, SmpResponseError, SmpTimeoutError } from '../errors.js';
import type { CborMap } from '../codec/cbor.js';
import type { PreparedRequest, SmpResponse } from '../session.js';
import { InFlight } from './in-flight.js';
import { fitChunk } from './chunking.js';
import { Fifo } from './fifo.js';
import { MAX_WINDOW, resolveWindow } from './window-size.js';
import type { UploadSpec } from './upload-spec.js';
import type { TransferOptions, TransferProgress, TransferResult } from './types.js';
import { nextTransferId, progressObserved, publishTransferProgress } from './diagnostics.js';

/** The resolve function of the promise last made with {@link captureResolve} (read at once). */
let captured: (() => void) | undefined;
function captureResolve(resolve: () => void): void {
  captured = resolve;
}

/** Consecutive clean answers after which a lowered window ceiling grows by one again. */
const CEILING_RECOVERY_ACKS = 32;

/** Rewinds in a row without any progress after which the device is taken to be stuck. */
const MAX_REWINDS_WITHOUT_PROGRESS = 8;

/**
 * `rc` answers that mean "this request was not processed" rather than "this upload is wrong":
 * ENOMEM (no buffer for the answer: the pool was full), ECORRUPT (the packet arrived cut short),
 * EBUSY (a lock was held). The chunk is treated as lost and sent again.
 */
const TRANSIENT_RC = new Set([2, 9, 10]);

/** Runs a pipelined upload to completion. */
export async function runPipelinedUpload(spec: UploadSpec, opts: TransferOptions = {}): Promise<TransferResult> {
  const total = spec.source.size;
  const { fixedWindow, maxWindow, rawLink } = resolveWindow(opts, spec.bufCount, spec.encoding);
  const alignment = opts.alignment ?? spec.alignment;
  if (!Number.isInteger(alignment) || alignment < 1) throw new RangeError(`alignment must be a positive integer, got ${alignment}`);
  if (opts.chunkSize !== undefined && (!Number.isInteger(opts.chunkSize) || opts.chunkSize < 1)) {
    throw new RangeError(`chunkSize must be a positive integer, got ${opts.chunkSize}`);
  }
  const maxTimeouts = opts.maxTimeouts ?? 5;
  const signal = opts.signal;

  let window = fixedWindow ?? 1;
  let ceiling = fixedWindow ?? maxWindow;
  let ghosts = 0; // abandoned requests not yet answered: they may still hold a device buffer
  let rewindsWithoutProgress = 0;
  let firstMismatches = 0;
  let cleanRun = 0;
  let maxWindowUsed = 0;
  let rewinds = 0;
  let timeouts = 0;
  let losses = 0; // consecutive chunks lost (timeouts and transient errors)
  let emptyFirsts = 0;
  let acked = 0;
  let sent = 0; // data bytes put on the link, resends included
  let resumedAt: number | undefined;
  let next = 0;
  let needFirst = true;
  // In flight: at most the window (≤ MAX_WINDOW). Answers waiting: those of the chunks in flight,
  // plus answers of chunks already confirmed by a later one (skipped when their turn comes).
  const inflight = new Fifo<InFlight>(MAX_WINDOW);
  const events = new Fifo<InFlight>(4 * MAX_WINDOW);
  /** Set while the loop is parked waiting for an event; cleared by whoever wakes it. */
  let wake: (() => void) | undefined;
  /** Set while chunks are being sent (an answer delivered during a send takes the loop's path). */
  let filling = false;
  /** An error met on the answer path (a throwing onProgress, a refused send): the loop throws it. */
  let failure: { err: unknown } | undefined;
  const started = performance.now();
  let rateStart = started;
  let rateBase = 0;

  const rouse = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  signal?.addEventListener('abort', rouse);

  const checkAbort = (): void => {
    if (signal?.aborted) throw signal.reason instanceof AbortError ? signal.reason : new AbortError('the upload was aborted', { cause: signal.reason });
  };

  /** An answer or an error has come for `entry`. */
  const settle = (entry: InFlight): void => {
    entry.settled = true;
    if (entry.abandoned) {
      ghosts--;
      rouse(); // its buffer on the device is free again
      return;
    }
    if (entry.done) return;
    if (wake !== undefined && !filling && events.length === 0 && acceptAtOnce(entry)) return;
    events.push(entry);
    rouse();
  };

  /**
   * The steady state of an upload, taken on the answer's own call: an in-order answer that does
   * not end the upload confirms its chunk and the next ones go out at once, while the loop stays
   * parked (no promise and no turn of the loop per chunk). Anything else is the loop's: it reads
   * the same answer again and decides. Returns false to leave the answer to the loop.
   */
  const acceptAtOnce = (e: InFlight): boolean => {
    if (e.first || e.rsp === undefined || signal?.aborted || !spec.source.readSync) return false;
    let r: number | undefined;
    try {
      r = spec.offsetOf(e.rsp);
    } catch {
      return false;
    }
    if (r !== e.expected || r >= total) return false;
    try {
      losses = 0;
      confirmInOrder(r);
      fillSync(); // the device waits for this; the progress report can come after
      report();
    } catch (err) {
      failure = { err };
      rouse();
    }
    return true;
  };

  /** The data length of the chunk at `off` with these request `fields`. */
  const chunkLength = (fields: CborMap, off: number, first: boolean): number => {
    if (total === 0) return 0;
    const fit = fitChunk(fields, spec.maxRequest, total - off, alignment);
    let len = fit;
    if (opts.chunkSize !== undefined) len = Math.min(len, opts.chunkSize);
    if (first && spec.minFirstChunk) len = Math.min(fit, Math.max(len, spec.minFirstChunk));
    return len;
  };

  // The next chunk, built while the device works on the ones in flight (a full window): when an
  // answer frees a place, only the write is left to do. A rewind leaves it unused (another offset).
  let ahead: InFlight | undefined;
  const aheadRequest: PreparedRequest = { parts: undefined, seq: 0, frame: undefined, op: 0, group: 0, id: 0 };

  /** Sends the chunk at `off`; synchronous when the source can read without waiting (a buffer). */
  const send = (off: number, first: boolean): InFlight | Promise<InFlight> => {
    const built = ahead;
    if (built !== undefined) {
      ahead = undefined;
      if (built.off === off && !first) return launchAhead(built);
    }
    const fields = spec.fields(off, first); // built once: sized, then sent
    const len = chunkLength(fields, off, first);
    const src = spec.source;
    if (src.readSync) return launch(off, len, first, fields, src.readSync(off, len));
    return src.read(off, len).then((data) => launch(off, len, first, fields, data));
  };

  /**
   * The first chunk waits for the erase; an image's last one for the device's check of the whole
   * image (Zephyr hashes the slot to answer `match`). A last chunk timed out too early would be
   * resent to a device that has already finished, which answers 0.
   */
  const deadlineOf = (e: InFlight): number | undefined =>
    e.first ? spec.firstTimeoutMs : e.expected === total && spec.lastTimeoutMs !== undefined ? spec.lastTimeoutMs : opts.timeoutMs;

  const launch = (off: number, len: number, first: boolean, fields: CborMap, data: Buffer): InFlight => {
    sent += data.length;
    const entry = new InFlight(off, len, first, settle);
    fields.data = data;
    spec.send(fields, deadlineOf(entry), signal, entry);
    return entry;
  };

  const launchAhead = (e: InFlight): InFlight => {
    sent += e.len;
    spec.sendPrepared!(aheadRequest, deadlineOf(e), signal, e);
    return e;
  };

  const buildAhead = (): void => {
    const src = spec.source;
    if (!spec.prepare || !spec.sendPrepared || !src.readSync || needFirst || next >= total || ahead?.off === next) return;
    ahead = undefined;
    try {
      const fields = spec.fields(next, false);
      const len = chunkLength(fields, next, false);
      fields.data = src.readSync(next, len);
      spec.prepare(aheadRequest, fields);
      ahead = new InFlight(next, len, false, settle);
    } catch {
      // Built again when it is sent, which throws the same error where it belongs.
    }
  };

  /** Sends chunks until the window is full; only for a source that reads synchronously. */
  const fillSync = (): void => {
    filling = true;
    try {
      while (inflight.length + ghosts < window && next < total) {
        const e = send(next, false) as InFlight;
        inflight.push(e);
        next = e.expected;
      }
      buildAhead();
    } finally {
      filling = false;
    }
    if (inflight.length > maxWindowUsed) maxWindowUsed = inflight.length;
  };

  /** The device has everything up to `r`, the end of a chunk in flight: so every chunk before it landed too. */
  const confirmInOrder = (r: number): void => {
    acked = r;
    rewindsWithoutProgress = 0;
    for (let i = 0, n = inflight.length; i < n; i++) {
      const x = inflight.shift()!; // in place, in order: this runs for every answer
      if (x.expected <= r) x.done = true;
      if (!x.done) inflight.push(x);
    }
    cleanRun++;
    if (fixedWindow === undefined) {
      if (window < ceiling) window++;
      if (cleanRun >= CEILING_RECOVERY_ACKS && ceiling < maxWindow) {
        ceiling++;
        cleanRun = 0;
      }
    }
  };

  const abandonAll = (): void => {
    for (let i = 0; i < inflight.length; i++) {
      const e = inflight.at(i);
      e.abandoned = true;
      if (!e.settled) ghosts++;
    }
    inflight.clear();
    events.clear();
  };

  const quietAfterLoss = async (): Promise<void> => {
    if (!rawLink) return;
    // Let the device's input timeout discard any partial packet before the next byte goes out.
    await delay(opts.rawQuietMs ?? 3500, undefined, { signal }).catch(() => undefined); // an abort is checked by the loop
  };

  const noteRewind = (): void => {
    if (++rewindsWithoutProgress > MAX_REWINDS_WITHOUT_PROGRESS) {
      throw new SmpResponseError(
        `the device keeps answering offset ${acked} without taking more data (${rewindsWithoutProgress} times); ` +
          'check the frame size against its buffer and the chunk size against its flash write block',
      );
    }
  };

  const moveTo = (off: number): void => {
    if (off > total) throw new SmpResponseError(`device reported offset ${off} beyond the upload size ${total}`);
    acked = off;
    next = off;
    if (off === 0 && total > 0) needFirst = true;
  };

  const shrink = (): void => {
    if (fixedWindow === undefined) window = Math.max(1, Math.floor(window / 2));
    cleanRun = 0;
  };

  const transferId = nextTransferId();
  const report = (): void => {
    if (!opts.onProgress && !progressObserved()) return;
    const secs = (performance.now() - rateStart) / 1000;
    const p: TransferProgress = { done: acked, total, rate: secs > 0 ? (acked - rateBase) / secs : 0, window, rewinds, timeouts };
    opts.onProgress?.(p);
    publishTransferProgress(transferId, 'upload', p);
  };

  /** The device's offset from an answer, or `{ lost }` when the chunk must count as lost; a promise only when the device must be asked (`recover`). */
  const outcome = (ev: InFlight): number | { lost: unknown } | Promise<number> => {
    if (ev.rsp === undefined) {
      if (ev.err instanceof SmpTimeoutError) return { lost: ev.err };
      throw ev.err;
    }
    let off: number | undefined;
    try {
      off = spec.offsetOf(ev.rsp);
    } catch (e) {
      if (e instanceof SmpDeviceError && e.style === 'rc' && TRANSIENT_RC.has(e.rc)) return { lost: e };
      throw e;
    }
    if (off !== undefined) return off;
    if (!spec.recover) throw new SmpResponseError('upload answer carries no offset');
    return spec.recover();
  };

  try {
    for (;;) {
      checkAbort();
      if (failure) throw failure.err;
      if (needFirst) {
        if (inflight.length === 0 && ghosts < window) {
          await spec.beforeFirst?.();
          const e = send(0, true);
          const entry = e instanceof Promise ? await e : e;
          inflight.clear();
          inflight.push(entry);
        }
      } else if (spec.source.readSync) {
        fillSync();
      } else {
        while (inflight.length + ghosts < window && next < total) {
          const e = await send(next, false);
          inflight.push(e);
          next = e.expected;
        }
      }
      maxWindowUsed = Math.max(maxWindowUsed, inflight.length);
      if (events.length === 0) {
        // Parked until an event the steady state does not handle (see acceptAtOnce).
        const waiting = new Promise<void>(captureResolve); // no closure per wait
        wake = captured;
        if (events.length > 0 || signal?.aborted) rouse();
        await waiting;
        wake = undefined;
        continue;
      }
      const e = events.shift()!;
      if (e.abandoned || e.done) continue;
      const found = outcome(e);
      const r = found instanceof Promise ? await found : found;

      if (typeof r !== 'number') {
        if (r.lost instanceof SmpTimeoutError) timeouts++;
        if (++losses > maxTimeouts) throw r.lost;
        abandonAll();
        shrink();
        if (!e.first) moveTo(acked);
        await quietAfterLoss();
        continue;
      }
      losses = 0;

      if (e.first) {
        inflight.clear();
        if (spec.exactFirst && r !== e.expected) {
          // The device counted this chunk on top of a stale context (Zephyr fs keeps its offset
          // when an open upload restarts at 0): close it and start over, once.
          if (++firstMismatches > 1) {
            throw new SmpResponseError(`the device answered offset ${r} to a first chunk of ${e.len} bytes, twice; it is not starting a new upload`);
          }
          needFirst = true;
          continue;
        }
        moveTo(r); // beyond the first chunk's end: a resume by sha; short of it: a partial write
        resumedAt = r > e.expected ? r : undefined;
        if (r === 0 && total > 0) {
          // The device kept nothing of the first chunk: retry it, but not forever.
          rewinds++;
          if (++emptyFirsts > maxTimeouts) throw new SmpResponseError('the device keeps answering offset 0 to the first upload chunk');
          continue;
        }
        needFirst = false;
        rateStart = performance.now();
        rateBase = acked;
        report();
        if (acked >= total) {
          spec.onComplete?.(e.rsp!);
          break;
        }
        continue;
      }

      if (r === e.expected) {
        confirmInOrder(r);
        report();
        if (acked >= total) {
          spec.onComplete?.(e.rsp!);
          break;
        }
        continue;
      }

      // The device is somewhere else: a chunk before this one was lost, or the device restarted.
      const partial = r > e.off && r < e.expected && inflight.length === 1; // MCUboot's aligned short write
      abandonAll();
      if (!partial) {
        rewinds++;
        shrink();
        if (fixedWindow === undefined && window < ceiling && ceiling > 1) ceiling = Math.max(1, ceiling - 1);
      }
      const progressed = r > acked;
      moveTo(r);
      if (progressed) rewindsWithoutProgress = 0;
      else noteRewind();
      report();
      if (acked >= total && total > 0) {
        spec.onComplete?.(e.rsp!);
        break;
      }
    }
  } finally {
    ahead = undefined;
    signal?.removeEventListener('abort', rouse);
    for (let i = 0; i < inflight.length; i++) inflight.at(i).abandoned = true;
  }

  const seconds = (performance.now() - started) / 1000;
  const skipped = resumedAt === undefined ? {} : resumedAt >= total ? { alreadyComplete: true } : { resumedAt };
  return { bytes: total, sent, ...skipped, seconds, throughput: seconds > 0 ? sent / seconds : 0, rewinds, timeouts, maxWindowUsed };
}
