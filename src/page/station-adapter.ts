/**
 * Feeds a station agent to the station page: one row per device the station reaches, idle until a
 * rollout's job comes, then that job's steps and progress and its result; the next job on the same
 * device opens the row again (a new `round`). The results this process recorded are offered as
 * reports (JSON, CSV, JUnit). The station's `onEvent` option is the source.
 * @module
 */
import type { StationEvent } from '../fleet/station-events.js';
import { formatReport, type ReportRow } from '../fleet/reports.js';
import { bulkProgressToPage } from './bulk-adapter.js';
import type { PageEvent } from './model.js';
import type { PageServer } from './server.js';

/** Results kept for the reports: a station that runs for weeks keeps the latest ones. */
export const STATION_PAGE_RESULTS = 10_000;

/** What {@link pageStation} returns. */
export interface PageStation {
  /** Pass it as the station's `onEvent` (or call it from yours). */
  onEvent(e: StationEvent): void;
  /** Marks the station stopped on the page (the rows and reports stay). */
  finish(reason?: string): void;
}

/**
 * Shows a station agent on a page.
 * @example
 * ```ts
 * import { servePage, pageStation } from 'mcumgr-toolkit';
 * import { openFleet, startStation } from 'mcumgr-toolkit/fleet';
 *
 * const devices = [{ id: 'board-17', connection: 'serial:/dev/ttyACM0' }];
 * const page = await servePage({ port: 8080, token: false });
 * const shown = pageStation(page, { name: 'st-1', devices });
 * const station = await startStation(fleet, { name: 'st-1', devices, onEvent: shown.onEvent });
 * ```
 */
export function pageStation(page: Pick<PageServer, 'publish' | 'setReports'>, station: { name: string; devices: ReadonlyArray<{ id: string; connection: string }> }): PageStation {
  const rows = new Map<string, { round: number; group: number }>();
  const results: ReportRow[] = [];
  const title = `station ${station.name}`;
  page.publish([
    { type: 'run', kind: 'station', title: `${title} · ${station.devices.length} devices`, status: 'running', startedAt: Date.now() },
    ...station.devices.map((d): PageEvent => {
      rows.set(d.id, { round: 0, group: 0 });
      return { type: 'device', key: d.id, name: d.id, target: d.connection, station: station.name, state: 'queued', step: 'idle', detail: 'waiting for a job', round: 0 };
    }),
  ]);
  const report = (): { title: string; rows: ReportRow[] } => ({ title, rows: results });

  return {
    onEvent(e) {
      const row = rows.get(e.device);
      if (!row) return; // not one of ours: the station only runs its own devices
      switch (e.type) {
        case 'job':
          row.round++;
          row.group = e.group;
          page.publish({ type: 'device', key: e.device, group: e.rollout, state: 'running', step: 'connect', detail: `rollout ${e.rollout}, group ${e.group}, delivery ${e.deliveries}`, round: row.round, bytes: 0, total: 0 });
          return;
        case 'progress': {
          // The result event completes the row with what the database recorded.
          if (e.progress.state === 'ok' || e.progress.state === 'failed') return;
          const { name: _n, target: _t, ...p } = bulkProgressToPage(e.progress) as Extract<PageEvent, { type: 'device' }>;
          page.publish({ ...p, key: e.device, round: row.round });
          return;
        }
        case 'result': {
          const r = e.result;
          page.publish({
            type: 'device',
            key: e.device,
            state: r.ok ? 'ok' : 'failed',
            step: r.ok ? 'done' : r.step,
            detail: e.recorded ? `rollout ${e.rollout}` : `rollout ${e.rollout}: result not recorded (another delivery owns the device now)`,
            bytes: r.bytes,
            alreadyInstalled: r.alreadyInstalled,
            verified: r.verified,
            round: row.round,
            error: r.error ? { code: r.error.code, message: r.error.message } : undefined,
          });
          if (e.recorded) {
            results.push({
              device: e.device,
              group: row.group,
              station: station.name,
              status: r.ok ? 'ok' : 'failed',
              alreadyInstalled: r.alreadyInstalled,
              verified: r.verified,
              bytes: r.bytes,
              seconds: r.seconds,
              deliveries: 1,
              errorCode: r.error?.code ?? '',
              errorMessage: r.error?.message ?? '',
            });
            if (results.length > STATION_PAGE_RESULTS) results.splice(0, results.length - STATION_PAGE_RESULTS);
            page.setReports({ json: () => formatReport(report(), 'json'), csv: () => formatReport(report(), 'csv'), junit: () => formatReport(report(), 'junit') });
          }
          return;
        }
        case 'handed-back':
          row.round++;
          page.publish({ type: 'device', key: e.device, state: 'queued', step: 'idle', detail: `handed back: ${e.why}`, rate: 0, round: row.round });
      }
    },
    finish(reason = 'stopped') {
      page.publish({ type: 'run', status: 'stopped', reason, endedAt: Date.now() });
    },
  };
}
