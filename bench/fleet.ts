/**
 * The fleet: the same 32 simulated boards (115200 baud, so the link is the limit) imaged by one
 * station process that reaches all of them, then by four station processes of eight boards each,
 * all on one embedded PostgreSQL (separate schemas for the two runs).
 *
 *   npm run bench:fleet [-- --devices 32 --stations 4 --size 16 --baud 115200 --procs 4 --dist]
 *
 * With `--dist` the stations run the built CLI (`npm run build:ts` first), as a production line
 * would; without it they run the sources under tsx, where each bulk run's worker thread compiles
 * its module graph first (most of the queue → first byte time on a loaded machine).
 *
 * - each run is one rollout of one group over every board, of an image the boards do not run yet;
 *   its wall time goes from `createRollout` to the rollout's `finished` state (queueing, pool start,
 *   upload, confirm, reset, verify: everything a line waits for);
 * - aggregate rate = image bytes of all boards / wall time; fleet_over_single = aggregate rate of
 *   the N stations / aggregate rate of the single station;
 * - queue to first byte: per board, from its job being queued (a database timestamp written in the
 *   same transaction as the pg-boss job) to its worker starting to open the board's connection
 *   (the bulk flasher's first progress event), over the N-station run; p50 and p99;
 * - verified counts boards that ran the new image after the reset, in the N-station run.
 *
 * The boards run in `--procs` simulator processes of their own. The last line is one JSON object:
 * `{"bench":"fleet","stations":4,"devices":32,"fleet_over_single":…,"queue_to_first_byte_p50_ms":…,…}`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildImage } from '../src/index.js';
import { spawnSimulatorProcess, type SimulatorProcess } from '../src/sim/index.js';
import { createRollout, listStations, openFleet, rolloutStatus, startEmbeddedPostgres, watchRollout, type RolloutStatus } from '../src/fleet/index.js';

const { values: a } = parseArgs({
  options: {
    devices: { type: 'string', default: '32' },
    stations: { type: 'string', default: '4' },
    size: { type: 'string', default: '16' },
    baud: { type: 'string', default: '115200' },
    procs: { type: 'string', default: '4' },
    dist: { type: 'boolean', default: false },
  },
});
const DEVICES = Number(a.devices);
const STATIONS = Number(a.stations);
const SIZE = Number(a.size) * 1024;
const BAUD = Number(a.baud);
const PROCS = Number(a.procs);
/** Stations run the CLI from its sources under tsx, or with --dist from the build (npm run build:ts), as a line would. */
const MAIN = fileURLToPath(new URL(a.dist ? '../dist/cli/main.js' : '../src/cli/main.ts', import.meta.url));

function station(url: string, schema: string, name: string, devs: Array<{ id: string; connection: string }>): { child: ChildProcess; exited: Promise<void> } {
  const args = [...(a.dist ? [] : ['--import', 'tsx']), MAIN, 'station', '--db', url, '--schema', schema, '--name', name, '--heartbeat', '1000'];
  for (const d of devs) args.push('--conn', `${d.id}=${d.connection}`);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return { child, exited: new Promise((r) => child.once('exit', () => r())) };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

async function run(url: string, schema: string, boards: Array<{ id: string; connection: string }>, stations: number, version: string): Promise<{ seconds: number; status: RolloutStatus }> {
  const fleet = await openFleet({ url, schema });
  const per = Math.ceil(boards.length / stations);
  const procs = Array.from({ length: stations }, (_, s) => station(url, schema, `st-${s}`, boards.slice(s * per, (s + 1) * per)));
  try {
    for (;;) {
      const alive = (await listStations(fleet)).filter((s) => s.alive).length;
      if (alive === stations) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const image = buildImage({ size: SIZE, version, seed: Number(version[0]) });
    const t0 = performance.now();
    const r = await createRollout(fleet, { image, targets: boards.map((b) => b.id), device: { client: { timeoutMs: 2000, longTimeoutMs: 10_000 } } });
    for await (const e of watchRollout(fleet, r.id)) void e;
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, status: await rolloutStatus(fleet, r.id) };
  } finally {
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
    await fleet.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'mcumgr-bench-fleet-'));
chmodSync(dir, 0o755);
const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'db') });
const sims: SimulatorProcess[] = [];
try {
  const perProc = Math.ceil(DEVICES / PROCS);
  for (let p = 0; p < PROCS; p++) {
    const n = Math.min(perProc, DEVICES - p * perProc);
    if (n > 0) sims.push(await spawnSimulatorProcess({ count: n, options: { transport: 'pty', baudRate: BAUD, bootMs: 50, device: { slotSize: 128 * 1024, appBodySize: 2048 } } }));
  }
  const boards = sims.flatMap((s) => s.connections).map((connection, i) => ({ id: `b${String(i).padStart(2, '0')}`, connection }));
  const single = await run(pg.url, 'bench_single', boards, 1, '6.0.0');
  const multi = await run(pg.url, 'bench_multi', boards, STATIONS, '7.0.0');
  const rate = (r: { seconds: number }): number => (SIZE * DEVICES) / r.seconds;
  const q = multi.status.devices.map((d) => d.queueToFirstByteMs).filter((x): x is number => x !== null);
  const take = multi.status.devices.map((d) => d.queueToTakeMs).filter((x): x is number => x !== null);
  const verified = multi.status.devices.filter((d) => d.status === 'ok' && d.verified).length;
  const rows = [
    ['run', 'stations', 'devices', 'wall s', 'aggregate B/s', 'ok', 'verified'],
    ['single', '1', String(DEVICES), single.seconds.toFixed(1), rate(single).toFixed(0), String(single.status.devices.filter((d) => d.status === 'ok').length), String(single.status.devices.filter((d) => d.verified).length)],
    ['fleet', String(STATIONS), String(DEVICES), multi.seconds.toFixed(1), rate(multi).toFixed(0), String(multi.status.devices.filter((d) => d.status === 'ok').length), String(verified)],
  ];
  for (const r of rows) console.log(r.map((c) => c.padEnd(14)).join(''));
  console.log(`queue → first byte (fleet run): p50 ${pct(q, 50)} ms, p99 ${pct(q, 99)} ms, max ${Math.max(...q)} ms; image ${SIZE} B at ${BAUD} baud`);
  console.log(`  of which queue → a station took the job: p50 ${pct(take, 50)} ms, p99 ${pct(take, 99)} ms (the rest: the bulk flasher's pool start and its worker taking the board)`);
  console.log(
    JSON.stringify({
      bench: 'fleet',
      stations: STATIONS,
      devices: DEVICES,
      fleet_over_single: Math.round((rate(multi) / rate(single)) * 1000) / 1000,
      queue_to_first_byte_p50_ms: pct(q, 50),
      queue_to_first_byte_p99_ms: pct(q, 99),
      queue_to_take_p99_ms: pct(take, 99),
      verified,
      single_seconds: Math.round(single.seconds * 10) / 10,
      fleet_seconds: Math.round(multi.seconds * 10) / 10,
      image_bytes: SIZE,
      baud: BAUD,
    }),
  );
} finally {
  await Promise.all(sims.map((s) => s.close()));
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}
