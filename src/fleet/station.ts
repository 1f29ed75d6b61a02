/**
 * The station agent: registers itself and the devices it reaches (heartbeat with a TTL), takes
 * only jobs for its own devices (its own pg-boss queue), runs them on the bulk flasher
 * ({@link bulkFlash}), streams progress and writes each device's result to the database.
 *
 * It also recovers: at start it takes back the jobs a previous instance of its name was running
 * (that one died), and while it runs it takes over the jobs of dead stations for devices it
 * reaches too. A graceful stop hands back what has not finished; a SIGKILL loses only leases.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bulkFlash, type BulkDeviceOptions, type BulkDeviceResult, type BulkProgressEvent } from '../bulk/index.js';
import { queueDevice, lockRollout, type DeviceRow } from './advance.js';
import { persist, type Fleet } from './db.js';
import { finishDelivery, handBack, startDeliveries, type DeliveryKey, type DeliveryResult, type StartDecision } from './deliveries.js';
import { FleetError } from './errors.js';
import type { ProgressEvent } from './events.js';
import { localImage } from './images.js';
import { checkName, heartbeat, registerStation, unregisterStation, type StationDevice } from './registry.js';
import type { StationEvent } from './station-events.js';

/** Options of {@link startStation}. */
export interface StationOptions {
  /** The station's name, unique in the fleet (`st-3`). A new process with the same name takes its place. */
  name: string;
  /** The devices it reaches. */
  devices: StationDevice[];
  /** Where verified local image copies are kept. Default `<tmp>/mcumgr-fleet-images`. */
  cacheDir?: string;
  /** Heartbeat period, ms. Default 2000. */
  heartbeatMs?: number;
  /** The registry forgets the station (and its device locks lapse) this long after its last heartbeat, ms. Default 5 × heartbeatMs. */
  ttlMs?: number;
  /** Devices driven at once. Default: all of them. */
  concurrency?: number;
  /** Worker threads of each bulk run (the `threads` option of `bulkFlash`). */
  threads?: number;
  /** Progress written to the database per device at most this often, ms. Default 500. */
  progressIntervalMs?: number;
  /** Called with what the station does (`took job …`, `recorded …`), for a log. */
  log?: (line: string) => void;
  /** Called with each job, its progress and its result as they happen here (see {@link StationEvent}); it must not throw. */
  onEvent?: (e: StationEvent) => void;
}

/** A running station agent. */
export interface Station {
  readonly name: string;
  /** This process's instance id (a new one at each start). */
  readonly instance: string;
  /** Devices being driven now. */
  readonly running: ReadonlySet<string>;
  /**
   * Stops taking jobs. `graceful` (default true) lets running devices finish for up to `graceMs`
   * (default 60 s), then aborts them and hands their jobs back.
   */
  stop(options?: { graceful?: boolean; graceMs?: number }): Promise<void>;
}

interface Run {
  key: DeliveryKey;
  group: number;
  firstByte: boolean;
  lastWrite: number;
  lastStep: string;
}

/**
 * Starts a station agent on an open fleet database.
 *
 * @example
 * ```ts
 * const fleet = await openFleet({ url: process.env.FLEET_DB! });
 * const station = await startStation(fleet, {
 *   name: 'st-1',
 *   devices: [{ id: 'board-17', connection: 'serial:/dev/ttyACM0?baud=115200' }],
 * });
 * process.once('SIGTERM', () => void station.stop().then(() => fleet.close()));
 * ```
 */
export async function startStation(fleet: Fleet, options: StationOptions): Promise<Station> {
  const name = checkName('name', options.name);
  if (!Array.isArray(options.devices) || options.devices.length === 0) throw new TypeError('devices must list at least one { id, connection } the station reaches');
  const ids = new Set<string>();
  for (const [i, d] of options.devices.entries()) {
    checkName(`devices[${i}].id`, d?.id);
    if (typeof d.connection !== 'string' || d.connection === '') throw new TypeError(`devices[${i}].connection must be a connection string like serial:/dev/ttyACM0`);
    if (ids.has(d.id)) throw new RangeError(`devices[${i}].id ${d.id} is listed twice; give each device its own id`);
    ids.add(d.id);
  }
  const heartbeatMs = options.heartbeatMs ?? 2000;
  const ttlMs = options.ttlMs ?? heartbeatMs * 5;
  if (!(heartbeatMs >= 100) || !(ttlMs > heartbeatMs)) throw new RangeError('heartbeatMs must be ≥ 100 and ttlMs larger than heartbeatMs');
  const concurrency = options.concurrency ?? options.devices.length;
  const cacheDir = options.cacheDir ?? join(tmpdir(), 'mcumgr-fleet-images');
  const progressEvery = options.progressIntervalMs ?? 500;
  const log = options.log ?? (() => undefined);
  const emit = (e: StationEvent): void => {
    try {
      options.onEvent?.(e);
    } catch (err) {
      log(`onEvent threw: ${(err as Error).message}`); // a watcher's bug never stops a job
    }
  };
  const byId = new Map(options.devices.map((d) => [d.id, d]));
  const instance = randomUUID();
  const S = fleet.schema;

  const queue = await fleet.stationQueue(name);
  await persist(() => registerStation(fleet, name, instance, ttlMs, options.devices));
  const running = new Set<string>();
  const runs = new Map<string, Run>();
  const aborts = new Set<AbortController>();
  let stopping = false;
  let pending: ProgressEvent[] = [];
  let firstBytes: Array<[string, string, number]> = [];

  /** Jobs of devices that were running here (previous instance) or on a dead station: queue them here again. */
  const reclaim = async (): Promise<void> => {
    const rows = await fleet.query<DeviceRow & { reason: string }>(
      `SELECT rd.*, CASE WHEN rd.station = $1 THEN 'previous instance' ELSE 'station ' || rd.station || ' is dead' END AS reason
         FROM "${S}".rollout_devices rd JOIN "${S}".rollouts r ON r.id = rd.rollout_id
         LEFT JOIN "${S}".stations s ON s.name = rd.station
        WHERE r.state = 'running' AND rd.status IN ('queued', 'running')
          AND ((rd.station = $1 AND rd.status = 'running' AND rd.instance IS DISTINCT FROM $2)
            OR (rd.station <> $1 AND (s.name IS NULL OR s.stopped OR s.heartbeat_at < now() - s.ttl_ms * interval '1 millisecond')
                AND EXISTS (SELECT 1 FROM "${S}".devices d WHERE d.id = rd.device_id AND d.station = $1)))`,
      [name, instance],
    );
    for (const row of rows) {
      if (running.has(row.device_id)) continue;
      await fleet.tx(async (c, db) => {
        const r = await lockRollout(c, S, row.rollout_id);
        const d = (await c.query<DeviceRow>(`SELECT * FROM "${S}".rollout_devices WHERE rollout_id = $1 AND device_id = $2 FOR UPDATE`, [row.rollout_id, row.device_id])).rows[0];
        if (!d || d.job_id !== row.job_id || (d.status !== 'queued' && d.status !== 'running') || r.state !== 'running') return;
        await c.query(`DELETE FROM "${S}".device_locks WHERE device_id = $1 AND instance IS DISTINCT FROM $2 AND (station = $3 OR expires_at < now())`, [d.device_id, instance, name]);
        await queueDevice(fleet, c, db, r, d, name);
      });
      log(`took back ${row.device_id} of rollout ${row.rollout_id} (${row.reason})`);
    }
  };
  await persist(reclaim);

  const flush = async (): Promise<void> => {
    const batch = pending;
    const fb = firstBytes;
    pending = [];
    firstBytes = [];
    try {
      if (batch.length > 0) {
        await fleet.query(
          `INSERT INTO "${S}".events (rollout_id, body) SELECT e->>'rollout', e FROM jsonb_array_elements($1::jsonb) AS e`,
          [JSON.stringify(batch)],
        );
      }
      for (const [rollout, device, at] of fb) {
        await fleet.query(`UPDATE "${S}".rollout_devices SET first_byte_ms = coalesce(first_byte_ms, $3) WHERE rollout_id = $1 AND device_id = $2`, [rollout, device, at]);
      }
    } catch {
      firstBytes.push(...fb); // the database is away: progress is dropped, first-byte times kept for later
    }
  };

  const onProgress = (e: BulkProgressEvent): void => {
    const run = runs.get(e.name);
    if (!run || e.state === 'queued') return;
    emit({ type: 'progress', rollout: run.key.rollout, device: run.key.device, at: e.at, progress: e });
    if (!run.firstByte) {
      run.firstByte = true; // the worker took the device: its connection opens now
      firstBytes.push([run.key.rollout, run.key.device, e.at]);
    }
    if (e.state === 'ok' || e.state === 'failed') return; // the result is recorded by finishDelivery
    if (e.at - run.lastWrite < progressEvery && e.step === run.lastStep) return;
    run.lastWrite = e.at;
    run.lastStep = e.step;
    pending.push({
      type: 'progress',
      seq: 0,
      rollout: run.key.rollout,
      at: e.at,
      device: run.key.device,
      station: name,
      group: run.group,
      step: e.step,
      bytes: e.bytes,
      total: e.total,
      rate: Math.round(e.rate),
      window: e.window,
      attempt: e.attempt,
    });
  };

  /** Runs the devices of one rollout's deliveries in one bulk run and records each result. */
  const runBatch = async (rollout: string, items: Array<{ key: DeliveryKey; start: Extract<StartDecision, { run: true }> }>): Promise<void> => {
    const first = items[0]!.start;
    const abort = new AbortController();
    aborts.add(abort);
    const record = async (k: DeliveryKey, res: DeliveryResult): Promise<void> => {
      await flush();
      const ok = await persist(() => finishDelivery(fleet, k, res));
      emit({ type: 'result', rollout: k.rollout, device: k.device, at: Date.now(), result: res, recorded: ok });
      log(`${ok ? 'recorded' : 'dropped stale result of'} ${k.device}: ${res.ok ? 'ok' : `failed ${res.error?.code}`}`);
    };
    try {
      const remaining = first.deadlineAt !== undefined ? first.deadlineAt - Date.now() : undefined;
      if (remaining !== undefined && remaining <= 0) {
        const error = new FleetError('FLEET_ERR_DEADLINE', `the rollout's deadline passed before ${'the device'} was started`);
        for (const it of items) await record(it.key, failure(error, 'queued'));
        return;
      }
      const image = await localImage(fleet, first.imageSha, cacheDir);
      for (const it of items) runs.set(it.key.device, { key: it.key, group: it.start.group, firstByte: false, lastWrite: 0, lastStep: '' });
      const report = await bulkFlash(
        items.map((it) => ({ connection: byId.get(it.key.device)!.connection, name: it.key.device })),
        image,
        {
          ...(first.deviceOptions as BulkDeviceOptions),
          mode: first.mode,
          signal: abort.signal,
          onProgress,
          progressIntervalMs: Math.min(100, progressEvery),
          ...(remaining !== undefined ? { deadlineMs: Math.max(1, remaining) } : {}),
          ...(options.threads !== undefined ? { threads: options.threads } : {}),
        },
      );
      for (const [i, d] of report.devices.entries()) {
        const it = items[i]!;
        if (abort.signal.aborted && !d.ok) {
          await persist(() => handBack(fleet, it.key)).catch(() => undefined); // stopping: another delivery finishes it
          emit({ type: 'handed-back', rollout: it.key.rollout, device: it.key.device, at: Date.now(), why: `station ${name} is stopping` });
          log(`handed back ${it.key.device}`);
        } else {
          await record(it.key, fromBulk(d));
        }
      }
    } catch (e) {
      for (const it of items) {
        await persist(() => handBack(fleet, it.key)).catch(() => undefined);
        emit({ type: 'handed-back', rollout: it.key.rollout, device: it.key.device, at: Date.now(), why: (e as Error).message });
      }
      log(`rollout ${rollout}: ${(e as Error).message}; jobs handed back`);
    } finally {
      aborts.delete(abort);
      for (const it of items) {
        running.delete(it.key.device);
        runs.delete(it.key.device);
      }
    }
  };

  const take = async (): Promise<number> => {
    const free = concurrency - running.size;
    if (free <= 0) return 0;
    const jobs = await fleet.boss.fetch<{ rollout: string; device: string }>(queue, { batchSize: free });
    const groups = new Map<string, Array<{ key: DeliveryKey; start: Extract<StartDecision, { run: true }> }>>();
    const keys: DeliveryKey[] = [];
    for (const job of jobs) {
      const { rollout, device } = job.data;
      if (running.has(device) || !byId.has(device)) continue; // a second delivery while the first still runs here: its end completes it
      running.add(device);
      keys.push({ rollout, device, jobId: job.id, queue, station: name, instance });
    }
    if (keys.length === 0) return jobs.length;
    let starts: StartDecision[];
    try {
      starts = await startDeliveries(fleet, keys, ttlMs);
    } catch (e) {
      for (const k of keys) running.delete(k.device);
      log(`could not start ${keys.map((k) => k.device).join(', ')}: ${(e as Error).message}`);
      return jobs.length;
    }
    for (const [i, key] of keys.entries()) {
      const start = starts[i]!;
      if (!start.run) {
        running.delete(key.device);
        log(`skipped ${key.device}: ${start.why}`);
        continue;
      }
      log(`took ${key.device} of rollout ${key.rollout} (delivery ${start.deliveries})`);
      emit({ type: 'job', rollout: key.rollout, device: key.device, at: Date.now(), group: start.group, deliveries: start.deliveries });
      const list = groups.get(key.rollout) ?? [];
      list.push({ key, start });
      groups.set(key.rollout, list);
    }
    for (const [rollout, items] of groups) void runBatch(rollout, items);
    return jobs.length;
  };

  let pollTimer: ReturnType<typeof setTimeout> | undefined;
  const poll = async (): Promise<void> => {
    let got = 0;
    try {
      got = await take();
    } catch (e) {
      log(`poll: ${(e as Error).message}`);
    }
    if (!stopping) pollTimer = setTimeout(() => void poll(), got > 0 ? 50 : fleet.pollingIntervalSeconds * 1000);
  };
  const flushTimer = setInterval(() => void flush(), Math.max(100, progressEvery / 2));
  let beats = 0;
  const beatTimer = setInterval(() => {
    void (async () => {
      try {
        if (!(await heartbeat(fleet, name, instance, ttlMs))) {
          log(`another instance took the name ${name}; stopping`);
          void station.stop({ graceful: false });
          return;
        }
        if (++beats % 2 === 0) await reclaim();
      } catch (e) {
        log(`heartbeat: ${(e as Error).message}`);
      }
    })();
  }, heartbeatMs);
  void poll();

  const station: Station = {
    name,
    instance,
    running,
    async stop({ graceful = true, graceMs = 60_000 } = {}) {
      if (stopping) return;
      stopping = true;
      if (pollTimer) clearTimeout(pollTimer);
      const until = Date.now() + (graceful ? graceMs : 0);
      while (running.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      for (const a of aborts) a.abort(new FleetError('FLEET_ERR_CANCELLED', `station ${name} is stopping`));
      while (running.size > 0) await new Promise((r) => setTimeout(r, 100));
      clearInterval(beatTimer);
      clearInterval(flushTimer);
      await flush();
      await unregisterStation(fleet, name, instance).catch(() => undefined);
    },
  };
  return station;
}

function failure(error: FleetError, step: string): DeliveryResult {
  return { ok: false, alreadyInstalled: false, verified: false, bytes: 0, seconds: 0, step, attempts: 0, throughput: 0, error: { code: error.code, message: error.message } };
}

function fromBulk(d: BulkDeviceResult): DeliveryResult {
  const r: DeliveryResult = {
    ok: d.ok,
    alreadyInstalled: d.alreadyInstalled,
    verified: d.verified,
    bytes: d.bytes,
    seconds: Math.round(d.seconds * 1000) / 1000,
    step: d.step,
    attempts: d.attempts,
    throughput: Math.round(d.throughput),
  };
  if (d.error) r.error = { code: (d.error as { code?: string }).code ?? d.error.name, message: d.error.message };
  return r;
}
