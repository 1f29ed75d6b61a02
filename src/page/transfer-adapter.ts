/**
 * Feeds one tracked transfer (`trackTransfer`) to the station page as a single row: its steps and
 * progress while it runs, then `ok` or `failed` with the error's code.
 * @module
 */
import type { TransferEvent, TransferEventStream } from '../workflows/events.js';
import type { PageEvent } from './model.js';
import type { PageServer } from './server.js';
import { pageErrorOf } from './bulk-adapter.js';

/** The page event of one transfer event, for the row `key`. */
export function transferToPage(key: string, e: TransferEvent): PageEvent {
  if (e.type === 'step') return { type: 'device', key, state: 'running', step: e.step, ...(e.detail !== undefined ? { detail: e.detail } : {}) };
  return { type: 'device', key, state: 'running', step: 'upload', bytes: e.done, total: e.total, rate: e.rate, window: e.window };
}

/**
 * Reads a tracked transfer to its end, showing it on the page as the row `device.key`, and
 * returns the transfer's result (or throws its error, after the row shows it).
 * @example
 * ```ts
 * const run = trackTransfer((h) => client.firmwareUpdate(image, { ...h }));
 * const result = await followTransfer(page, run, { key: 'board-a', target: 'serial:/dev/ttyACM0' });
 * ```
 */
export async function followTransfer<R>(page: Pick<PageServer, 'publish'>, stream: TransferEventStream<R>, device: { key: string; name?: string; target?: string; station?: string }): Promise<R> {
  const { key, ...about } = device;
  page.publish({ type: 'device', key, ...about, state: 'running', step: 'connect' });
  let step = 'upload';
  try {
    for await (const e of stream) {
      if (e.type === 'step') step = e.step;
      page.publish(transferToPage(key, e));
    }
    const result = await stream.result;
    page.publish({ type: 'device', key, state: 'ok', step: step === 'upload' ? 'done' : step });
    return result;
  } catch (error) {
    page.publish({ type: 'device', key, state: 'failed', step, error: pageErrorOf(error) });
    throw error;
  }
}
