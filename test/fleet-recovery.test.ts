/**
 * Fleet recovery on a real embedded PostgreSQL with real station processes: a station killed
 * with SIGKILL in mid-upload gets its jobs back when it restarts and finishes them, with nothing
 * marked wrong; PostgreSQL restarted in mid-rollout loses and doubles no result.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildImage, parseImage } from '../src/index.js';
import { spawnSimulatorProcess, type SimulatorOptions } from '../src/sim/index.js';
import { ptyAvailable } from '../src/sim/pty.js';
import { createRollout, openFleet, rolloutStatus, watchRollout, type FleetEvent } from '../src/fleet/index.js';
import { runningHash, spawnStation, startTestPostgres, stopStation, waitForStations, type StationProcess } from './fleet-util.js';

/** Slow enough links that an upload takes a second or two: there is a "mid-upload" to hit. */
const SIM: SimulatorOptions = { transport: 'pty', baudRate: 115_200, bootMs: 50, device: { slotSize: 64 * 1024, appBodySize: 2048 } };
const DEVICE = { client: { timeoutMs: 1000, longTimeoutMs: 5000 }, reconnectTimeoutMs: 8000 };

let pg: Awaited<ReturnType<typeof startTestPostgres>>;
const cleanups: Array<() => Promise<void>> = [];
before(async () => {
  pg = await startTestPostgres();
});
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await pg?.dispose();
});

async function boards(prefix: string, n: number) {
  const sim = await spawnSimulatorProcess({ count: n, options: SIM });
  cleanups.push(() => sim.close());
  return sim.connections.map((connection, i) => ({ id: `${prefix}${i}`, connection }));
}

function doneOnce(events: FleetEvent[], ids: string[]): void {
  const done = events.filter((e) => e.type === 'device-done');
  assert.deepEqual(done.map((e) => e.device).sort(), [...ids].sort(), 'exactly one result per device');
}

describe('fleet recovery', { skip: !ptyAvailable() && 'no PTYs here' }, () => {
  test('a station SIGKILLed mid-upload: its jobs finish after it restarts, nothing marked wrong', { timeout: 90_000 }, async () => {
    const fleet = await openFleet({ url: pg.url, schema: 'rec_kill', maintenanceIntervalSeconds: 2 });
    cleanups.push(() => fleet.close());
    const devs = await boards('k', 3);
    let st: StationProcess = spawnStation(pg.url, 'rec_kill', 'st-k', devs);
    cleanups.push(() => stopStation(st));
    await waitForStations(fleet, ['st-k']);
    const image = buildImage({ size: 16 * 1024, version: '4.0.0', seed: 3 });
    const hash = parseImage(image).hash.toString('hex');
    const r = await createRollout(fleet, { image, targets: devs.map((d) => d.id), device: DEVICE, leaseSeconds: 60 });
    const events: FleetEvent[] = [];
    let killedAt = -1;
    for await (const e of watchRollout(fleet, r.id, { intervalMs: 100 })) {
      events.push(e);
      if (killedAt < 0 && e.type === 'progress' && e.step === 'upload' && e.bytes > 0 && e.bytes < e.total) {
        killedAt = e.bytes;
        st.child.kill('SIGKILL');
        await st.exited;
        st = spawnStation(pg.url, 'rec_kill', 'st-k', devs);
      }
    }
    assert.ok(killedAt > 0, 'the station was killed in mid-upload');
    const s = await rolloutStatus(fleet, r.id);
    assert.equal(s.state, 'finished', `${s.state} ${s.reason}: ${s.devices.map((d) => `${d.device} ${d.status} ${d.errorMessage}`).join('; ')}\n${st.log.slice(-10).join('\n')}`);
    assert.ok(s.devices.every((d) => d.status === 'ok' && (d.verified || d.alreadyInstalled)));
    assert.ok(s.devices.some((d) => d.deliveries >= 2), 'the interrupted jobs were delivered again');
    doneOnce(events, devs.map((d) => d.id));
    for (const d of devs) assert.equal(await runningHash(d.connection), hash, `${d.id} runs the new image, confirmed`);
    assert.equal(Number((await fleet.query(`SELECT count(*) AS n FROM "rec_kill".device_locks`))[0].n), 0, 'no lock left behind');
  });

  test('an event that commits after a later-numbered one is still streamed (a result behind a station\'s progress)', { timeout: 60_000 }, async () => {
    const fleet = await openFleet({ url: pg.url, schema: 'rec_late' });
    cleanups.push(() => fleet.close());
    const S = '"rec_late"';
    // A bare rollout row: the stream only needs it to exist (foreign keys off for the setup).
    await fleet.tx(async (c) => {
      await c.query('SET LOCAL session_replication_role = replica');
      await c.query(
        `INSERT INTO ${S}.rollouts (id, name, image_sha, state, mode, success_threshold, error_threshold, group_count, lease_s, options)
         VALUES ('r-late', 'late', 'x', 'running', 'test', 1, 1, 1, 60, '{}')`,
      );
    });
    const ac = new AbortController();
    const got: FleetEvent[] = [];
    const watching = (async () => {
      for await (const e of watchRollout(fleet, 'r-late', { follow: true, intervalMs: 20, signal: ac.signal })) got.push(e);
    })();
    const body = (device: string): string => JSON.stringify({ type: 'device-done', rollout: 'r-late', at: Date.now(), device });
    let commit!: () => void;
    const held = new Promise<void>((res) => (commit = res));
    // The result takes its number first and commits last, as finishDelivery does behind a progress flush.
    const result = fleet.tx(async (c) => {
      await c.query(`INSERT INTO ${S}.events (rollout_id, body) VALUES ('r-late', $1)`, [body('first-numbered')]);
      await held;
    });
    await new Promise((res) => setTimeout(res, 100));
    await fleet.query(`INSERT INTO ${S}.events (rollout_id, body) VALUES ('r-late', $1)`, [body('second-numbered')]);
    const until = async (ok: () => boolean): Promise<void> => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((res) => setTimeout(res, 20));
    };
    await until(() => got.length >= 1);
    assert.deepEqual(got.map((e) => (e as { device?: string }).device), ['second-numbered'], 'the later number is read while the earlier one is uncommitted');
    commit();
    await result;
    await until(() => got.length >= 2);
    ac.abort();
    await watching;
    assert.deepEqual(got.map((e) => (e as { device?: string }).device).sort(), ['first-numbered', 'second-numbered']);
    assert.ok(got[1]!.seq < got[0]!.seq, 'the late event keeps its own (lower) number');
  });

  test('PostgreSQL restarted mid-rollout: the rollout goes on, no lost or doubled result', { timeout: 90_000 }, async () => {
    const fleet = await openFleet({ url: pg.url, schema: 'rec_pg', maintenanceIntervalSeconds: 2 });
    cleanups.push(() => fleet.close());
    const a = await boards('a', 2);
    const b = await boards('b', 2);
    const sa = spawnStation(pg.url, 'rec_pg', 'st-a', a);
    const sb = spawnStation(pg.url, 'rec_pg', 'st-b', b);
    cleanups.push(() => stopStation(sa), () => stopStation(sb));
    await waitForStations(fleet, ['st-a', 'st-b']);
    const image = buildImage({ size: 16 * 1024, version: '5.0.0', seed: 4 });
    const hash = parseImage(image).hash.toString('hex');
    const ids = [...a, ...b].map((d) => d.id);
    const r = await createRollout(fleet, { image, targets: ids, groups: [['a0', 'b0'], ['a1', 'b1']], device: DEVICE });
    const events: FleetEvent[] = [];
    let restarted = false;
    for await (const e of watchRollout(fleet, r.id, { intervalMs: 100 })) {
      events.push(e);
      if (!restarted && e.type === 'progress' && e.step === 'upload' && e.bytes > 0) {
        restarted = true;
        await pg.stop();
        await new Promise((res) => setTimeout(res, 1000));
        await pg.start();
      }
    }
    assert.ok(restarted);
    const s = await rolloutStatus(fleet, r.id);
    assert.equal(s.state, 'finished', `${s.state} ${s.reason}\n${sa.log.slice(-8).join('\n')}\n${sb.log.slice(-8).join('\n')}`);
    assert.ok(s.devices.every((d) => d.status === 'ok'));
    doneOnce(events, ids);
    for (const d of [...a, ...b]) assert.equal(await runningHash(d.connection), hash);
  });
});
