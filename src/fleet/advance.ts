/**
 * The rollout state machine, run inside the transaction of whoever changed something (a station
 * recording a device's result, an operator pausing or retrying): no coordinator process, so the
 * rollout goes on when any process restarts. Every function here expects the rollout's row locked
 * (`lockRollout`) by the caller's transaction, which serialises all changes of one rollout.
 * @module
 */
import type { PoolClient } from 'pg';
import type { Fleet, TxDb } from './db.js';
import { FleetError } from './errors.js';
import type { NewFleetEvent, RolloutState } from './events.js';

/** A rollout's row. */
export interface RolloutRow {
  id: string;
  name: string;
  image_sha: string;
  state: RolloutState;
  reason: string | null;
  mode: 'test' | 'confirm';
  success_threshold: number;
  error_threshold: number;
  group_count: number;
  deadline_at: Date | null;
  lease_s: number;
  options: { device?: Record<string, unknown>; stations?: string[] };
}

/** A device's row in a rollout. */
export interface DeviceRow {
  rollout_id: string;
  device_id: string;
  group_no: number;
  station: string | null;
  status: 'pending' | 'queued' | 'running' | 'ok' | 'failed' | 'cancelled';
  job_id: string | null;
  instance: string | null;
  deliveries: number;
}

/**
 * Locks the rollout's row for the rest of the transaction: `UPDATE` for anything that changes
 * the rollout's course, `SHARE` for a station starting devices (starts of several stations run
 * side by side; a pause or stop waits for them and then sees those devices running).
 */
export async function lockRollout(c: PoolClient, S: string, id: string, mode: 'UPDATE' | 'SHARE' = 'UPDATE'): Promise<RolloutRow> {
  const r = await c.query<RolloutRow>(`SELECT * FROM "${S}".rollouts WHERE id = $1 FOR ${mode}`, [id]);
  if (!r.rows[0]) throw new FleetError('FLEET_ERR_UNKNOWN_ROLLOUT', `no rollout has the id ${JSON.stringify(id)}; "mcumgr rollout status" lists them`);
  return r.rows[0];
}

/** Appends an event to the rollout's stream. */
export async function emit(c: PoolClient, S: string, e: NewFleetEvent): Promise<void> {
  await c.query(`INSERT INTO "${S}".events (rollout_id, body) VALUES ($1, $2)`, [e.rollout, JSON.stringify(e)]);
}

/** Changes the rollout's state and says so in its stream. */
export async function setState(c: PoolClient, S: string, r: RolloutRow, state: RolloutState, reason?: string): Promise<void> {
  if (r.state === state) return;
  await c.query(`UPDATE "${S}".rollouts SET state = $2, reason = $3, updated_at = now() WHERE id = $1`, [r.id, state, reason ?? null]);
  await emit(c, S, { type: 'rollout-state', rollout: r.id, at: Date.now(), state, previous: r.state, ...(reason ? { reason } : {}) });
  r.state = state;
  r.reason = reason ?? null;
}

/**
 * Picks the station for a device: one that is alive and reaches it (the one it had, when still
 * alive; else the least loaded in this rollout), else any station that registered it (its job
 * waits for that station, or for another one to take it over).
 */
async function pickStation(c: PoolClient, S: string, r: RolloutRow, device: string, current: string | null, except?: string): Promise<string | undefined> {
  const rows = (
    await c.query<{ station: string; alive: boolean; load: number }>(
      `SELECT d.station, (s.heartbeat_at > now() - s.ttl_ms * interval '1 millisecond' AND NOT s.stopped) AS alive,
              (SELECT count(*) FROM "${S}".rollout_devices x WHERE x.rollout_id = $1 AND x.station = d.station)::int AS load
         FROM "${S}".devices d JOIN "${S}".stations s ON s.name = d.station
        WHERE d.id = $2 AND ($3::text[] IS NULL OR d.station = ANY($3::text[]))
        ORDER BY alive DESC, load ASC, d.station ASC`,
      [r.id, device, r.options.stations ?? null],
    )
  ).rows.filter((x) => x.station !== except);
  const alive = rows.filter((x) => x.alive);
  if (current && alive.some((x) => x.station === current)) return current;
  return alive[0]?.station ?? rows[0]?.station;
}

/**
 * Queues one device's job on a station's queue, in the caller's transaction (the pg-boss insert
 * joins it, so the job exists exactly when the row says `queued`). A job it replaces is cancelled.
 */
export async function queueDevice(fleet: Fleet, c: PoolClient, db: TxDb, r: RolloutRow, d: DeviceRow, station?: string): Promise<void> {
  const S = fleet.schema;
  if (d.job_id && d.station && (d.status === 'queued' || d.status === 'running')) {
    await fleet.boss.cancel(await fleet.stationQueue(d.station), d.job_id, { db });
  }
  const to = station ?? (await pickStation(c, S, r, d.device_id, d.station));
  if (!to) throw new FleetError('FLEET_ERR_STATE', `no station has registered device ${d.device_id}; start a station that reaches it (mcumgr station --conn ${d.device_id}=…)`);
  const queue = await fleet.stationQueue(to);
  const id = await fleet.boss.send(queue, { rollout: r.id, device: d.device_id }, { expireInSeconds: r.lease_s, retryLimit: 20, retryDelay: 1, db });
  await c.query(
    `UPDATE "${S}".rollout_devices SET status = 'queued', station = $3, job_id = $4, queued_at = now(), queued_ms = $5, instance = NULL,
            first_byte_ms = NULL, error_code = NULL, error_message = NULL
      WHERE rollout_id = $1 AND device_id = $2`,
    [r.id, d.device_id, to, id, Date.now()],
  );
  Object.assign(d, { status: 'queued', station: to, job_id: id });
}

/** Starts a group: queues its devices that have not run yet (or were cancelled by an earlier stop). */
export async function startGroup(fleet: Fleet, c: PoolClient, db: TxDb, r: RolloutRow, group: number): Promise<void> {
  const S = fleet.schema;
  await c.query(`UPDATE "${S}".rollout_groups SET state = 'running', started_at = coalesce(started_at, now()) WHERE rollout_id = $1 AND group_no = $2`, [r.id, group]);
  const devs = (await c.query<DeviceRow>(`SELECT * FROM "${S}".rollout_devices WHERE rollout_id = $1 AND group_no = $2 ORDER BY device_id`, [r.id, group])).rows;
  for (const d of devs) if (d.status === 'pending' || d.status === 'cancelled') await queueDevice(fleet, c, db, r, d);
  await emit(c, S, {
    type: 'group-started',
    rollout: r.id,
    at: Date.now(),
    group,
    devices: devs.map((d) => d.device_id),
    successThreshold: r.success_threshold,
    errorThreshold: r.error_threshold,
  });
}

/**
 * Takes every device back that no station has started: its job is cancelled (pg-boss) and the
 * device is marked `pending` (pause: `resume` queues it again) or `cancelled` (stop, cancel).
 */
export async function withdrawQueued(fleet: Fleet, c: PoolClient, db: TxDb, r: RolloutRow, to: 'pending' | 'cancelled', why: string): Promise<void> {
  const S = fleet.schema;
  const statuses = to === 'pending' ? ['queued'] : ['queued', 'pending'];
  const devs = (await c.query<DeviceRow>(`SELECT * FROM "${S}".rollout_devices WHERE rollout_id = $1 AND status = ANY($2) ORDER BY group_no, device_id`, [r.id, statuses])).rows;
  for (const d of devs) {
    if (d.job_id && d.station && d.status === 'queued') await fleet.boss.cancel(await fleet.stationQueue(d.station), d.job_id, { db });
    await c.query(
      `UPDATE "${S}".rollout_devices SET status = $3, job_id = NULL, error_code = $4, error_message = $5, finished_at = CASE WHEN $3 = 'cancelled' THEN now() END
        WHERE rollout_id = $1 AND device_id = $2`,
      [r.id, d.device_id, to, to === 'cancelled' ? 'FLEET_ERR_CANCELLED' : null, to === 'cancelled' ? why : null],
    );
    if (to === 'cancelled') {
      await emit(c, S, {
        type: 'device-done',
        rollout: r.id,
        at: Date.now(),
        device: d.device_id,
        station: '',
        group: d.group_no,
        result: 'cancelled',
        alreadyInstalled: false,
        verified: false,
        bytes: 0,
        seconds: 0,
        deliveries: d.deliveries,
        error: { code: 'FLEET_ERR_CANCELLED', message: why },
      });
    }
  }
}

/** Counts of one group. */
export interface GroupCounts {
  group: number;
  state: string;
  total: number;
  ok: number;
  failed: number;
  cancelled: number;
  /** Queued or running. */
  active: number;
  pending: number;
}

/** Per-group counts of a rollout, in group order. */
export async function groupCounts(c: Pick<PoolClient, 'query'>, S: string, id: string): Promise<GroupCounts[]> {
  const rows = await c.query<GroupCounts>(
    `SELECT g.group_no AS "group", g.state,
            count(d.*)::int AS total,
            count(*) FILTER (WHERE d.status = 'ok')::int AS ok,
            count(*) FILTER (WHERE d.status = 'failed')::int AS failed,
            count(*) FILTER (WHERE d.status = 'cancelled')::int AS cancelled,
            count(*) FILTER (WHERE d.status IN ('queued', 'running'))::int AS active,
            count(*) FILTER (WHERE d.status = 'pending')::int AS pending
       FROM "${S}".rollout_groups g LEFT JOIN "${S}".rollout_devices d ON d.rollout_id = g.rollout_id AND d.group_no = g.group_no
      WHERE g.rollout_id = $1 GROUP BY g.group_no, g.state ORDER BY g.group_no`,
    [id],
  );
  return rows.rows;
}

async function finishGroup(c: PoolClient, S: string, r: RolloutRow, g: GroupCounts, outcome: 'passed' | 'failed' | 'cancelled'): Promise<void> {
  await c.query(`UPDATE "${S}".rollout_groups SET state = $3, finished_at = now() WHERE rollout_id = $1 AND group_no = $2`, [r.id, g.group, outcome]);
  g.state = outcome;
  await emit(c, S, {
    type: 'group-finished',
    rollout: r.id,
    at: Date.now(),
    group: g.group,
    outcome,
    total: g.total,
    ok: g.ok,
    failed: g.failed,
    cancelled: g.cancelled,
    successThreshold: r.success_threshold,
    errorThreshold: r.error_threshold,
  });
}

/**
 * Stops the rollout (`stopped` or `cancelled`): no new device is touched (queued jobs are
 * cancelled), devices already running finish and their results are still recorded.
 */
export async function stopRollout(fleet: Fleet, c: PoolClient, db: TxDb, r: RolloutRow, state: 'stopped' | 'cancelled', reason: string): Promise<void> {
  await withdrawQueued(fleet, c, db, r, 'cancelled', `the rollout was ${state}: ${reason}`);
  for (const g of await groupCounts(c, fleet.schema, r.id)) {
    if (g.state === 'running' && g.active === 0) await finishGroup(c, fleet.schema, r, g, state === 'cancelled' ? 'cancelled' : g.ok / g.total >= r.success_threshold ? 'passed' : 'failed');
  }
  await setState(c, fleet.schema, r, state, reason);
}

/**
 * Moves the rollout on after a change: stops it when a group passed its error threshold, starts
 * the next group when one reached its success threshold, closes groups whose devices all ended,
 * and finishes the rollout when the last group passed.
 */
export async function evaluate(fleet: Fleet, c: PoolClient, db: TxDb, r: RolloutRow): Promise<void> {
  const S = fleet.schema;
  const groups = await groupCounts(c, S, r.id);
  for (const g of groups) {
    const next = groups[g.group + 1];
    const startNext = async (): Promise<void> => {
      if (r.state === 'running' && next && next.state === 'pending' && g.ok / g.total >= r.success_threshold) {
        await startGroup(fleet, c, db, r, next.group);
        next.state = 'running';
      }
    };
    if (g.state === 'passed') await startNext(); // passed while the rollout was paused
    if (g.state !== 'running') continue;
    const done = g.active === 0 && g.pending === 0;
    if (r.state === 'running' || r.state === 'paused') {
      if (g.failed / g.total > r.error_threshold) {
        const why = `error threshold ${r.error_threshold} passed in group ${g.group} (${g.failed}/${g.total} failed)`;
        if (done) await finishGroup(c, S, r, g, 'failed');
        await stopRollout(fleet, c, db, r, 'stopped', why);
        return;
      }
      await startNext();
    }
    if (done) {
      const passed = g.ok / g.total >= r.success_threshold;
      await finishGroup(c, S, r, g, passed ? 'passed' : 'failed');
      if (!passed && (r.state === 'running' || r.state === 'paused')) {
        await stopRollout(fleet, c, db, r, 'stopped', `group ${g.group} missed its success threshold ${r.success_threshold} (${g.ok}/${g.total} ok)`);
        return;
      }
    }
  }
  if (r.state === 'running' && groups.every((g) => g.state === 'passed')) await setState(c, S, r, 'finished', 'every group passed');
}
