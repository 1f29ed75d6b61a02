/**
 * The page's fleet adapters without a database: a rollout's status and event stream folded into
 * rows, groups and controls (a retried device's next delivery opens its row again, an old error
 * does not stick to a later success), and a station agent's jobs, one round per job.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FleetEvent, RolloutStatus, StationEvent } from '../src/fleet/index.js';
import type { BulkProgressEvent } from '../src/bulk/index.js';
import { pageRollout, pageStation, RunState, type PageEvent, type PageReports } from '../src/page/index.js';

/** A page stand-in that folds what the adapter publishes into a real RunState. */
function fold() {
  const state = new RunState();
  const controls = new Map<string, () => void | Promise<void>>();
  let reports: PageReports | undefined;
  return {
    state,
    controls,
    reports: () => reports,
    page: {
      publish: (e: PageEvent | readonly PageEvent[]) => {
        for (const x of Array.isArray(e) ? e : [e]) state.apply(x as PageEvent);
      },
      setControl: (a: string, h: (() => void | Promise<void>) | undefined) => void (h ? controls.set(a, h) : controls.delete(a)),
      setReports: (r: PageReports | undefined) => void (reports = r),
    },
  };
}

const STATUS: RolloutStatus = {
  id: 'r1', name: 'spring', state: 'running', reason: null, mode: 'confirm', imageSha256: 'aa', imageVersion: '1.2.3', imageSize: 4096, imageHash: 'bb',
  successThreshold: 1, errorThreshold: 0.5, deadline: null, createdAt: '2026-12-05T10:00:00.000Z',
  groups: [
    { group: 0, state: 'running', total: 2, ok: 0, failed: 0, cancelled: 0, active: 2, pending: 0 },
    { group: 1, state: 'pending', total: 1, ok: 0, failed: 0, cancelled: 0, active: 0, pending: 1 },
  ],
  devices: ['a', 'b', 'c'].map((device, i) => ({
    device, group: i < 2 ? 0 : 1, station: null, status: i < 2 ? 'queued' : 'pending', deliveries: 0, alreadyInstalled: false, verified: false,
    bytes: 0, seconds: 0, errorCode: null, errorMessage: null, queueToFirstByteMs: null, queueToTakeMs: null,
  })),
};

test('a rollout on the page: rows, groups, controls by state, a retried device starts afresh', async () => {
  const f = fold();
  const calls: string[] = [];
  const shown = pageRollout(f.page, STATUS, { pause: async () => void calls.push('pause'), resume: async () => void calls.push('resume'), cancel: async () => void calls.push('cancel') });
  let s = f.state.snapshot();
  assert.equal(s.run.kind, 'rollout');
  assert.deepEqual(s.run.image, { version: '1.2.3', hash: 'bb', size: 4096 });
  assert.deepEqual(s.devices.map((d) => [d.key, d.group, d.state, d.step, d.total]), [['a', '0', 'queued', 'queued', 4096], ['b', '0', 'queued', 'queued', 4096], ['c', '1', 'queued', 'pending', 4096]]);
  assert.deepEqual(s.groups.map((g) => [g.name, g.state, g.errorThreshold, g.devices]), [['group 0', 'waiting', 0.5, 2], ['group 1', 'waiting', 0.5, 1]]);
  assert.deepEqual([...f.controls.keys()].sort(), ['cancel', 'pause']);
  await f.controls.get('pause')!();
  assert.deepEqual(calls, ['pause']);

  const base = { rollout: 'r1', at: 1 };
  let seq = 0;
  const ev = (e: Record<string, unknown>): FleetEvent => ({ ...base, seq: ++seq, ...e }) as unknown as FleetEvent;
  const progress = (device: string, bytes: number) => ev({ type: 'progress', device, station: 'st-1', group: 0, step: 'upload', bytes, total: 4096, rate: 1000, window: 4, attempt: 1 });
  const done = (device: string, result: string, error?: { code: string; message: string }) =>
    ev({ type: 'device-done', device, station: 'st-1', group: 0, result, alreadyInstalled: false, verified: result === 'ok', bytes: 4096, seconds: 1, deliveries: 1, ...(error ? { error } : {}) });
  for (const e of [
    ev({ type: 'group-started', group: 0, devices: ['a', 'b'], successThreshold: 1, errorThreshold: 0.5 }),
    progress('a', 1024),
    progress('b', 2048),
    done('a', 'ok'),
    done('b', 'failed', { code: 'MCUMGR_ERR_TIMEOUT', message: 'no answer' }),
    ev({ type: 'group-finished', group: 0, outcome: 'failed', total: 2, ok: 1, failed: 1, cancelled: 0, successThreshold: 1, errorThreshold: 0.5 }),
    ev({ type: 'rollout-state', state: 'stopped', previous: 'running', reason: 'group 0 missed its success threshold' }),
  ]) shown.onEvent(e);
  s = f.state.snapshot();
  const b = s.devices.find((d) => d.key === 'b')!;
  assert.equal(b.state, 'failed');
  assert.equal(b.station, 'st-1');
  assert.equal(b.error?.code, 'MCUMGR_ERR_TIMEOUT');
  assert.equal(s.run.status, 'stopped');
  assert.equal(s.run.reason, 'group 0 missed its success threshold');
  assert.deepEqual(s.groups.map((g) => [g.state, g.succeeded, g.failed]), [['failed', 1, 1], ['waiting', 0, 0]]);
  assert.deepEqual([...f.controls.keys()], [], 'a stopped rollout offers nothing');

  // retry: the failed device runs again; its row opens, then ends ok with no trace of the old error.
  shown.onEvent(ev({ type: 'rollout-state', state: 'running', previous: 'stopped', reason: 'retry' }));
  shown.onEvent(progress('b', 512));
  s = f.state.snapshot();
  assert.equal(s.devices.find((d) => d.key === 'b')!.state, 'running');
  assert.equal(s.devices.find((d) => d.key === 'b')!.bytes, 512);
  assert.equal(s.devices.find((d) => d.key === 'b')!.error, undefined);
  shown.onEvent(done('b', 'ok'));
  const final: RolloutStatus = { ...STATUS, state: 'finished', groups: STATUS.groups.map((g) => ({ ...g, state: 'passed', ok: g.total, active: 0, pending: 0 })), devices: STATUS.devices.map((d) => ({ ...d, status: 'ok', station: 'st-1', bytes: 4096, verified: true })) };
  shown.finish(final);
  s = f.state.snapshot();
  assert.deepEqual(s.devices.map((d) => [d.key, d.state, d.error]), [['a', 'ok', undefined], ['b', 'ok', undefined], ['c', 'ok', undefined]]);
  assert.equal(s.totals.succeeded, 3);
  assert.equal(s.run.status, 'done');
  assert.ok(s.run.endedAt);
  assert.match(f.reports()!.junit!(), /<testsuite [^>]*tests="3" failures="0"/);
});

test('a station on the page: idle rows, one round per job, results as reports', () => {
  const f = fold();
  const shown = pageStation(f.page, { name: 'st-7', devices: [{ id: 'a', connection: 'serial:/dev/ttyA' }, { id: 'b', connection: 'serial:/dev/ttyB' }] });
  let s = f.state.snapshot();
  assert.equal(s.run.kind, 'station');
  assert.deepEqual(s.devices.map((d) => [d.key, d.target, d.station, d.step]), [['a', 'serial:/dev/ttyA', 'st-7', 'idle'], ['b', 'serial:/dev/ttyB', 'st-7', 'idle']]);
  const p = (state: BulkProgressEvent['state'], bytes: number): BulkProgressEvent =>
    ({ index: 0, name: 'a', target: 'serial:/dev/ttyA', state, step: 'upload', bytes, total: 1000, rate: 50, window: 2, attempt: 1, at: 5 }) as BulkProgressEvent;
  const at = 1;
  const result = (ok: boolean): StationEvent => ({
    type: 'result', rollout: 'r1', device: 'a', at, recorded: true,
    result: { ok, alreadyInstalled: false, verified: ok, bytes: 1000, seconds: 2, step: ok ? 'done' : 'upload', attempts: 1, throughput: 500, ...(ok ? {} : { error: { code: 'MCUMGR_ERR_TIMEOUT', message: 'no answer' } }) },
  });
  shown.onEvent({ type: 'job', rollout: 'r1', device: 'a', at, group: 0, deliveries: 1 });
  shown.onEvent({ type: 'progress', rollout: 'r1', device: 'a', at, progress: p('running', 400) });
  s = f.state.snapshot();
  assert.deepEqual([s.devices[0]!.state, s.devices[0]!.bytes, s.devices[0]!.group, s.devices[0]!.name], ['running', 400, 'r1', 'a']);
  shown.onEvent(result(false));
  assert.equal(f.state.snapshot().devices[0]!.error?.code, 'MCUMGR_ERR_TIMEOUT');
  // The next job on the same device: the row opens again and its old failure goes.
  shown.onEvent({ type: 'job', rollout: 'r2', device: 'a', at, group: 1, deliveries: 1 });
  s = f.state.snapshot();
  assert.deepEqual([s.devices[0]!.state, s.devices[0]!.group, s.devices[0]!.bytes, s.devices[0]!.error], ['running', 'r2', 0, undefined]);
  shown.onEvent(result(true));
  shown.onEvent({ type: 'job', rollout: 'r2', device: 'zz', at, group: 1, deliveries: 1 }); // not its device: ignored
  s = f.state.snapshot();
  assert.equal(s.devices.length, 2);
  assert.equal(s.devices[0]!.state, 'ok');
  const rows = JSON.parse(f.reports()!.json!()).devices;
  assert.deepEqual(rows.map((r: { status: string; group: number }) => [r.status, r.group]), [['failed', 0], ['ok', 1]]);
  shown.finish('stopped by SIGTERM');
  assert.equal(f.state.snapshot().run.status, 'stopped');
});
