/**
 * Feeds a `bulkFlash` run to the station page: its targets as queued rows at once, each
 * {@link BulkProgressEvent} as a device event, the {@link BulkReport} as the final word (rows,
 * run status, and the JSON / CSV / JUnit reports), and an `abort` control wired to the run's
 * signal.
 * @module
 */
import type { BulkDeviceResult, BulkProgressEvent, BulkReport, BulkTarget } from '../bulk/index.js';
import { bulkErrorOf, bulkReportCsv, bulkReportJson, bulkReportJunit } from '../bulk/index.js';
import type { PageEvent } from './model.js';
import type { PageServer } from './server.js';

/** A failure's stable code and message, for any thrown value. */
export function pageErrorOf(error: unknown): { code: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : error.name, message: error.message };
  }
  return { code: 'ERR_UNKNOWN', message: String(error) };
}

/** The page event of one bulk progress report. */
export function bulkProgressToPage(e: BulkProgressEvent): PageEvent {
  return {
    type: 'device',
    key: String(e.index),
    name: e.name,
    target: e.target,
    state: e.state,
    step: e.step,
    ...(e.detail !== undefined ? { detail: e.detail } : {}),
    bytes: e.bytes,
    total: e.total,
    rate: e.rate,
    window: e.window,
    attempt: e.attempt,
    ...(e.error ? { error: pageErrorOf(e.error) } : {}),
  };
}

/** The page event of one device's final result. */
export function bulkResultToPage(d: BulkDeviceResult, imageSize = 0): PageEvent {
  const error = bulkErrorOf(d);
  return {
    type: 'device',
    key: String(d.index),
    name: d.name,
    target: d.target,
    state: d.ok ? 'ok' : 'failed',
    step: d.step,
    bytes: d.bytes,
    ...(imageSize > 0 ? { total: imageSize } : {}),
    rate: 0,
    window: d.window,
    attempt: d.attempts,
    alreadyInstalled: d.alreadyInstalled,
    verified: d.verified,
    ...(error ? { error: { code: error.code, message: error.message } } : {}),
  };
}

/** What {@link pageBulkRun} returns: pass `signal` and `onProgress` to `bulkFlash`, then its report to `finish`. */
export interface PageBulkRun {
  /** Aborted by the page's `abort` control (or by the signal given to {@link pageBulkRun}). */
  readonly signal: AbortSignal;
  /** Give it every progress event (or call it from your own `onProgress`). */
  onProgress(e: BulkProgressEvent): void;
  /** Records the run's result: final rows, run status, downloadable reports. */
  finish(report: BulkReport): void;
}

/**
 * Shows a bulk run on a page: publishes a queued row per target now and offers the `abort` control
 * (which needs the page's token).
 * @example
 * ```ts
 * const page = await servePage({ port: 8080 });
 * const run = pageBulkRun(page, targets, { title: 'app 1.2.0' });
 * const report = await bulkFlash(targets, image, { signal: run.signal, onProgress: run.onProgress });
 * run.finish(report);
 * ```
 */
export function pageBulkRun(page: Pick<PageServer, 'publish' | 'setControl' | 'setReports'>, targets: readonly BulkTarget[], opts: { title?: string; signal?: AbortSignal; image?: { version: string; hash: string; size: number } } = {}): PageBulkRun {
  const abort = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, abort.signal]) : abort.signal;
  const size = opts.image?.size ?? 0;
  page.publish([
    { type: 'run', kind: 'bulk', title: opts.title ?? `bulk flash of ${targets.length} devices`, status: 'running', startedAt: Date.now(), ...(opts.image ? { image: opts.image } : {}) },
    ...targets.map((t, i): PageEvent => {
      const target = typeof t === 'string' ? t : t.connection;
      return { type: 'device', key: String(i), name: typeof t === 'object' && t.name ? t.name : target, target, state: 'queued', step: 'queued', total: size };
    }),
  ]);
  page.setControl('abort', () => abort.abort(new Error('aborted from the page')));
  return {
    signal,
    onProgress: (e) => page.publish(bulkProgressToPage(e)),
    finish: (report) => {
      page.setControl('abort', undefined);
      const status = report.stopped ? 'stopped' : report.ok ? 'done' : 'failed';
      page.publish([
        ...report.devices.map((d) => bulkResultToPage(d, report.image?.size ?? size)),
        { type: 'run', status, endedAt: Date.now(), ...(report.stopped ? { reason: report.stopped } : {}), ...(report.image ? { image: report.image } : {}) },
      ]);
      page.setReports({ json: () => bulkReportJson(report), csv: () => bulkReportCsv(report), junit: () => bulkReportJunit(report) });
    },
  };
}
