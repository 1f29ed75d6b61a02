/**
 * Helpers of the fleet tests: one embedded PostgreSQL per test file, station agents as real child
 * processes (`mcumgr station`), simulated boards in processes of their own, and reading back what
 * a board runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MCUmgrClient } from '../src/index.js';
import { listStations, startEmbeddedPostgres, type EmbeddedPostgres, type Fleet } from '../src/fleet/index.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

/** An embedded PostgreSQL on a temporary directory (removed by `stop`). */
export async function startTestPostgres(): Promise<EmbeddedPostgres & { dispose(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'mcumgr-fleet-test-'));
  chmodSync(dir, 0o755); // run as root, the server runs as the user "postgres": it must reach its data directory
  const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'db') });
  return Object.assign(pg, {
    async dispose() {
      await pg.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

/** A station agent in a child process; its stderr is kept for assertion messages. */
export interface StationProcess {
  child: ChildProcess;
  log: string[];
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

/** Starts `mcumgr station` in a child process with `devices` as `id=connection`. */
export function spawnStation(url: string, schema: string, name: string, devices: Array<{ id: string; connection: string }>, extra: string[] = []): StationProcess {
  const args = ['--import', 'tsx', MAIN, 'station', '--db', url, '--schema', schema, '--name', name, '--heartbeat', '300', '--ttl', '1500', '-v', ...extra];
  for (const d of devices) args.push('--conn', `${d.id}=${d.connection}`);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const keep = (b: Buffer): void => {
    log.push(...b.toString().split('\n').filter(Boolean));
    if (log.length > 400) log.splice(0, log.length - 400);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  return { child, log, exited };
}

/** Stops a station process with SIGTERM (graceful) and waits for it. */
export async function stopStation(s: StationProcess): Promise<void> {
  if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGTERM');
  const t = setTimeout(() => s.child.kill('SIGKILL'), 20_000);
  await s.exited;
  clearTimeout(t);
}

/** Waits until every named station is alive in the registry. */
export async function waitForStations(fleet: Fleet, names: string[], timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const alive = new Set((await listStations(fleet)).filter((s) => s.alive).map((s) => s.name));
    if (names.every((n) => alive.has(n))) return;
    if (Date.now() > until) throw new Error(`stations ${names.filter((n) => !alive.has(n)).join(', ')} did not come up`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The hash of the image a board runs (its active slot), read over its own link. */
export async function runningHash(connection: string): Promise<string> {
  const client = await MCUmgrClient.connect(connection, { timeoutMs: 2000, retries: 2 });
  try {
    const slots = await client.image.state();
    const active = slots.find((s) => s.active) ?? slots.find((s) => s.slot === 0);
    return Buffer.from(active!.hash!).toString('hex');
  } finally {
    await client.close();
  }
}
