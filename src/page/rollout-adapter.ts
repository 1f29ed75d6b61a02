/**
 * Feeds a fleet rollout to the station page: its groups with their thresholds, one row per device
 * (station, step, progress, result), the rollout's state, the `pause` / `resume` / `cancel`
 * controls that fit its state, and its reports once it ends. The caller reads
 * `watchRollout` and hands each event to {@link PageRollout.onEvent}, so the terminal view and the
 * page follow one stream.
 *
 * Only types and the pure report formatter come from the fleet: the page never opens a database
 * connection of its own, and the package root still loads without pg-boss.
 * @module
 */
import type { FleetEvent, RolloutDeviceStatus, RolloutState, RolloutStatus } from '../fleet/index.js';
import { isFinalState } from '../fleet/events.js';
import { formatReport, rolloutReport } from '../fleet/reports.js';
import type { PageDeviceState, PageEvent, PageRunStatus } from './model.js';
import type { PageServer } from './server.js';

/** The page's word for a rollout's state. */
export function rolloutRunStatus(s: RolloutState): PageRunStatus {
  switch (s) {
    case 'running':
      return 'running';
    case 'paused':
      return 'paused';
    case 'finished':
      return 'done';
    default:
      return 'stopped'; // stopped by a threshold or deadline, or cancelled: `reason` says which
  }
}

/** The page's word for a rollout group's state (`pending`, `running`, `passed`, `failed`, `cancelled`). */
export function groupRunStatus(s: string): PageRunStatus {
  if (s === 'running') return 'running';
  if (s === 'passed') return 'done';
  if (s === 'failed') return 'failed';
  if (s === 'cancelled') return 'stopped';
  return 'waiting';
}

function deviceState(s: RolloutDeviceStatus['status']): PageDeviceState {
  if (s === 'ok' || s === 'failed' || s === 'running') return s;
  if (s === 'cancelled') return 'skipped';
  return 'queued';
}

/** Control actions that make sense in a state. */
function controlsOf(s: RolloutState): Array<'pause' | 'resume' | 'cancel'> {
  if (s === 'running') return ['pause', 'cancel'];
  if (s === 'paused') return ['resume', 'cancel'];
  return [];
}

/** What the page's rollout controls call: the fleet's `pauseRollout` / `resumeRollout` / `cancelRollout`, bound to the rollout. */
export interface RolloutControls {
  pause?: () => Promise<unknown>;
  resume?: () => Promise<unknown>;
  cancel?: () => Promise<unknown>;
}

/** What {@link pageRollout} returns. */
export interface PageRollout {
  /** Give it every event of `watchRollout` (the history first, then the live ones). */
  onEvent(e: FleetEvent): void;
  /** Records the rollout's status when the stream ends: final rows, run state, downloadable reports. */
  finish(status: RolloutStatus): void;
}

/**
 * Shows a rollout on a page. Its devices appear at once (queued, with their group), its groups
 * with their thresholds; each event of `watchRollout` then moves them. Controls are offered as the
 * rollout's state allows them and need the page's token.
 * @example
 * ```ts
 * import { servePage, pageRollout } from 'mcumgr-toolkit';
 * import { openFleet, rolloutStatus, watchRollout, pauseRollout, resumeRollout, cancelRollout } from 'mcumgr-toolkit/fleet';
 *
 * const fleet = await openFleet({ url: process.env.MCUMGR_FLEET_DB! });
 * const page = await servePage({ port: 8080 });
 * const shown = pageRollout(page, await rolloutStatus(fleet, id), {
 *   pause: () => pauseRollout(fleet, id), resume: () => resumeRollout(fleet, id), cancel: () => cancelRollout(fleet, id),
 * });
 * for await (const e of watchRollout(fleet, id)) shown.onEvent(e);
 * shown.finish(await rolloutStatus(fleet, id));
 * ```
 */
export function pageRollout(page: Pick<PageServer, 'publish' | 'setControl' | 'setReports'>, status: RolloutStatus, controls: RolloutControls = {}): PageRollout {
  const size = status.imageSize ?? 0;
  const image = { version: status.imageVersion, hash: status.imageHash ?? status.imageSha256, size };
  /** Last known state and job round of every device: a device's next delivery opens its row again. */
  const devices = new Map<string, { group: number; state: PageDeviceState; round: number }>();
  const groupName = (g: number): string => String(g);
  const counts = (g: number): { succeeded: number; failed: number } => {
    let succeeded = 0;
    let failed = 0;
    for (const d of devices.values()) {
      if (d.group !== g) continue;
      if (d.state === 'ok') succeeded++;
      else if (d.state === 'failed') failed++;
    }
    return { succeeded, failed };
  };
  const offer = (s: RolloutState): void => {
    const on = new Set(controlsOf(s));
    for (const a of ['pause', 'resume', 'cancel'] as const) {
      const call = controls[a];
      page.setControl(a, on.has(a) && call ? () => call().then(() => undefined) : undefined);
    }
  };
  /** A row's round: the same while the device's job goes on, one more once it had ended. */
  const roundFor = (device: string, group: number, next: PageDeviceState): number => {
    const d = devices.get(device) ?? { group, state: 'queued' as PageDeviceState, round: 0 };
    const ended = d.state === 'ok' || d.state === 'failed' || d.state === 'skipped';
    if (ended) d.round++;
    d.state = next;
    d.group = group;
    devices.set(device, d);
    return d.round;
  };

  const events: PageEvent[] = [
    {
      type: 'run',
      kind: 'rollout',
      title: `rollout ${status.name || status.id} · ${status.mode}`,
      status: rolloutRunStatus(status.state),
      ...(status.reason ? { reason: status.reason } : {}),
      startedAt: Date.parse(status.createdAt),
      image,
    },
  ];
  for (const g of status.groups) {
    events.push({ type: 'group', id: groupName(g.group), name: `group ${g.group}`, index: g.group, state: 'waiting', successThreshold: status.successThreshold, errorThreshold: status.errorThreshold, devices: g.total, succeeded: 0, failed: 0 });
  }
  for (const d of status.devices) {
    devices.set(d.device, { group: d.group, state: 'queued', round: 0 });
    events.push({ type: 'device', key: d.device, name: d.device, target: d.device, group: groupName(d.group), ...(d.station ? { station: d.station } : {}), state: 'queued', step: d.status === 'pending' ? 'pending' : 'queued', total: size, round: 0 });
  }
  page.publish(events);
  offer(status.state);

  return {
    onEvent(e) {
      switch (e.type) {
        case 'progress': {
          const round = roundFor(e.device, e.group, 'running');
          page.publish({ type: 'device', key: e.device, station: e.station, group: groupName(e.group), state: 'running', step: e.step, bytes: e.bytes, total: e.total || size, rate: e.rate, window: e.window, attempt: e.attempt, round });
          return;
        }
        case 'device-done': {
          const state: PageDeviceState = e.result === 'cancelled' ? 'skipped' : e.result;
          const round = roundFor(e.device, e.group, state);
          page.publish([
            {
              type: 'device',
              key: e.device,
              ...(e.station ? { station: e.station } : {}),
              group: groupName(e.group),
              state,
              step: e.result === 'ok' ? 'done' : e.result,
              bytes: e.bytes,
              alreadyInstalled: e.alreadyInstalled,
              verified: e.verified,
              attempt: Math.max(1, e.deliveries),
              round,
              // An explicit undefined clears the error of an earlier round.
              error: e.error ? { code: e.error.code, message: e.error.message } : undefined,
            },
            { type: 'group', id: groupName(e.group), ...counts(e.group) },
          ]);
          return;
        }
        case 'group-started':
          for (const id of e.devices) devices.set(id, { ...(devices.get(id) ?? { state: 'queued' as PageDeviceState, round: 0 }), group: e.group });
          page.publish({ type: 'group', id: groupName(e.group), state: 'running', devices: e.devices.length, successThreshold: e.successThreshold, errorThreshold: e.errorThreshold });
          return;
        case 'group-finished':
          page.publish({ type: 'group', id: groupName(e.group), state: e.outcome === 'passed' ? 'done' : e.outcome === 'failed' ? 'failed' : 'stopped', devices: e.total, succeeded: e.ok, failed: e.failed });
          return;
        case 'rollout-state':
          page.publish({ type: 'run', status: rolloutRunStatus(e.state), reason: e.reason ?? (e.state === 'cancelled' ? 'cancelled' : undefined) });
          offer(e.state);
      }
    },
    finish(s) {
      const out: PageEvent[] = [];
      for (const d of s.devices) {
        const state = deviceState(d.status);
        if (state !== 'ok' && state !== 'failed' && state !== 'skipped') continue; // still going: the stream was left early
        const known = devices.get(d.device);
        if (known && known.state === state) continue; // the stream already said so
        const round = roundFor(d.device, d.group, state);
        out.push({
          type: 'device',
          key: d.device,
          ...(d.station ? { station: d.station } : {}),
          group: groupName(d.group),
          state,
          step: state === 'ok' ? 'done' : d.status,
          bytes: d.bytes,
          alreadyInstalled: d.alreadyInstalled,
          verified: d.verified,
          round,
          error: d.errorCode ? { code: d.errorCode, message: d.errorMessage ?? '' } : undefined,
        });
      }
      for (const g of s.groups) out.push({ type: 'group', id: groupName(g.group), state: groupRunStatus(g.state), devices: g.total, succeeded: g.ok, failed: g.failed });
      out.push({ type: 'run', status: rolloutRunStatus(s.state), reason: s.reason ?? (s.state === 'cancelled' ? 'cancelled' : undefined), ...(isFinalState(s.state) ? { endedAt: Date.now() } : {}) });
      page.publish(out);
      offer(s.state);
      const report = rolloutReport(s);
      page.setReports({ json: () => formatReport(report, 'json'), csv: () => formatReport(report, 'csv'), junit: () => formatReport(report, 'junit') });
    },
  };
}
