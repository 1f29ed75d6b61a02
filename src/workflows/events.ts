/**
 * Transfer progress as an event stream: `for await` over the events of a running upload,
 * download or firmware update instead of (or beside) callbacks.
 *
 * Memory stays bounded whatever the consumer's pace: progress reports are snapshots, so only the
 * newest one waits for a slow reader (the ones it replaces carried nothing the newest lacks);
 * step events, a handful per update, are all kept and keep their order relative to progress.
 * @module
 */
import { AbortError } from '../errors.js';
import type { TransferProgress } from '../transfer/types.js';
import type { UpdateStep } from './firmware-update.js';

/** One event of a running transfer. */
export type TransferEvent =
  | ({ type: 'progress' } & TransferProgress)
  | { type: 'step'; step: UpdateStep; detail?: string };

/** The hooks a tracked transfer is started with: pass them on as its options. */
export interface TransferHooks {
  onProgress: (p: TransferProgress) => void;
  onStep: (step: UpdateStep, detail?: string) => void;
  /** Aborted when the reader leaves its `for await` loop early (`break`, `return`, a throw). */
  signal: AbortSignal;
}

/**
 * A running transfer: iterate it for its events; `result` settles with the transfer. Iteration
 * ends when the transfer ends and throws the transfer's error if it failed. Leaving the loop early
 * cancels the transfer (through {@link TransferHooks.signal}), as destroying a stream would.
 */
export interface TransferEventStream<R> extends AsyncIterable<TransferEvent> {
  /** The transfer's own promise (already marked handled: a reader that only iterates does not leak a rejection). */
  readonly result: Promise<R>;
}

/**
 * Starts a transfer and returns its events as an async iterable.
 *
 * @param start called at once with the hooks; pass `onProgress`, `onStep` and `signal` on to the
 *   transfer (combine `signal` with your own through `AbortSignal.any`).
 * @example
 * const run = trackTransfer((h) => client.firmwareUpdate('app.signed.bin', { ...h }));
 * for await (const e of run) {
 *   if (e.type === 'step') console.log('step', e.step);
 *   else console.log(`${e.done}/${e.total} bytes, window ${e.window}`);
 * }
 * const { upload } = await run.result;
 */
export function trackTransfer<R>(start: (hooks: TransferHooks) => Promise<R>): TransferEventStream<R> {
  const queue: TransferEvent[] = [];
  let progressAt = -1; // index in `queue` of the progress event still waiting, -1 if none
  let finished = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const controller = new AbortController();

  const push = (e: TransferEvent): void => {
    if (finished) return;
    // Only a progress report still at the tail may be replaced: one queued before a step stays
    // where it is, so that order between steps and progress is kept.
    if (e.type === 'progress' && progressAt >= 0 && progressAt === queue.length - 1) queue[progressAt] = e;
    else {
      progressAt = e.type === 'progress' ? queue.length : -1;
      queue.push(e);
    }
    wake?.();
  };
  const hooks: TransferHooks = {
    onProgress: (p) => push({ type: 'progress', ...p }),
    onStep: (step, detail) => push(detail === undefined ? { type: 'step', step } : { type: 'step', step, detail }),
    signal: controller.signal,
  };

  let result: Promise<R>;
  try {
    result = Promise.resolve(start(hooks));
  } catch (e) {
    result = Promise.reject(e);
  }
  result.then(
    () => {
      finished = true;
      wake?.();
    },
    (e: unknown) => {
      finished = true;
      failure = { error: e };
      wake?.();
    },
  );

  let reading = false;
  const take = async (): Promise<IteratorResult<TransferEvent>> => {
    for (;;) {
      const e = queue.shift();
      if (e) {
        progressAt = progressAt > 0 ? progressAt - 1 : -1;
        return { value: e, done: false };
      }
      if (finished) {
        if (failure) {
          const f = failure;
          failure = undefined; // thrown once; later next() calls just end
          throw f.error;
        }
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  };

  const iterator = (): AsyncIterator<TransferEvent> => ({
    async next(): Promise<IteratorResult<TransferEvent>> {
      // One waiter only: a second concurrent next() would share the wake-up and never settle.
      if (reading) throw new TypeError('trackTransfer: next() was called again before the previous call settled; read the events from one loop');
      reading = true;
      try {
        return await take();
      } finally {
        reading = false;
      }
    },
    async return(): Promise<IteratorResult<TransferEvent>> {
      if (!finished) controller.abort(new AbortError('the reader of the transfer events stopped reading'));
      queue.length = 0;
      progressAt = -1;
      return { value: undefined, done: true };
    },
  });

  return { result, [Symbol.asyncIterator]: iterator };
}
