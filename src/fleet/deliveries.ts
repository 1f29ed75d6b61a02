/**
 * One delivery of a device's job to a station, as two transactions: the start (is the job still
 * wanted, take the device lock, mark it running) and the finish (record the result once, release
 * the lock, complete the pg-boss job, move the rollout on). A job delivered twice (a lease that
 * expired while the first try still ran, a restarted station) finds its row already ended, or
 * its lock held, and changes nothing.
 * @module
 */
import type { PoolClient } from 'pg';
import type { Fleet, TxDb } from './db.js';
import { evaluate, emit, lockRollout, type DeviceRow, type RolloutRow } from './advance.js';

/** Who takes a delivery. */
export interface DeliveryKey {
  rollout: string;
  device: string;
  jobId: string;
  queue: string;
  station: string;
  instance: string;
}

/** What the start transaction decided. */
export type StartDecision =
  /** Run it: the device is locked for this station. */
  | { run: true; imageSha: string; mode: 'test' | 'confirm'; deviceOptions: Record<string, unknown>; deadlineAt: number | undefined; group: number; deliveries: number }
  /** Not wanted any more (ended, withdrawn, rollout not running): the job was completed as a no-op. */
  | { run: false; busy: false; why: string }
  /** Another station drives the device right now: the job goes back to the queue. */
  | { run: false; busy: true; why: string };

/**
 * The start of the deliveries of one fetch, in one transaction (rollout rows locked in id order).
 * `lockTtlMs`: how long a device lock lives without a heartbeat.
 */
export async function startDeliveries(fleet: Fleet, keys: DeliveryKey[], lockTtlMs: number): Promise<StartDecision[]> {
  const S = fleet.schema;
  return fleet.tx(async (c, db) => {
    const rollouts = new Map<string, RolloutRow>();
    for (const id of [...new Set(keys.map((k) => k.rollout))].sort()) rollouts.set(id, await lockRollout(c, S, id, 'SHARE'));
    const out: StartDecision[] = [];
    for (const k of keys) out.push(await startOne(fleet, c, db, rollouts.get(k.rollout)!, k, lockTtlMs));
    return out;
  });
}

async function startOne(fleet: Fleet, c: PoolClient, db: TxDb, r: RolloutRow, k: DeliveryKey, lockTtlMs: number): Promise<StartDecision> {
  const S = fleet.schema;
  const d = (await c.query<DeviceRow>(`SELECT * FROM "${S}".rollout_devices WHERE rollout_id = $1 AND device_id = $2 FOR UPDATE`, [k.rollout, k.device])).rows[0];
  const drop = async (why: string): Promise<StartDecision> => {
    await fleet.boss.complete(k.queue, k.jobId, { db });
    return { run: false, busy: false, why };
  };
  if (!d || d.job_id !== k.jobId) return drop('the job was replaced or withdrawn');
  if (d.status !== 'queued' && d.status !== 'running') return drop(`the device already ended (${d.status})`);
  if (r.state !== 'running') return drop(`the rollout is ${r.state}`);
  const lock = await c.query(
    `INSERT INTO "${S}".device_locks (device_id, rollout_id, station, instance, job_id, expires_at)
          VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 millisecond')
     ON CONFLICT (device_id) DO UPDATE SET rollout_id = EXCLUDED.rollout_id, station = EXCLUDED.station, instance = EXCLUDED.instance,
                                           job_id = EXCLUDED.job_id, expires_at = EXCLUDED.expires_at
      WHERE "${S}".device_locks.expires_at < now() OR "${S}".device_locks.instance = EXCLUDED.instance
     RETURNING device_id`,
    [k.device, k.rollout, k.station, k.instance, k.jobId, lockTtlMs],
  );
  if (lock.rowCount === 0) {
    const holder = (await c.query(`SELECT station FROM "${S}".device_locks WHERE device_id = $1`, [k.device])).rows[0] as { station: string } | undefined;
    await fleet.boss.fail(k.queue, k.jobId, { db });
    return { run: false, busy: true, why: `device ${k.device} is locked by station ${holder?.station ?? '?'}` };
  }
  await c.query(
    `UPDATE "${S}".rollout_devices SET status = 'running', station = $3, instance = $4, deliveries = deliveries + 1, started_at = coalesce(started_at, now())
      WHERE rollout_id = $1 AND device_id = $2`,
    [k.rollout, k.device, k.station, k.instance],
  );
  return {
    run: true,
    imageSha: r.image_sha,
    mode: r.mode,
    deviceOptions: r.options.device ?? {},
    deadlineAt: r.deadline_at ? r.deadline_at.getTime() : undefined,
    group: d.group_no,
    deliveries: d.deliveries + 1,
  };
}

/** A device's outcome as a station records it. */
export interface DeliveryResult {
  ok: boolean;
  alreadyInstalled: boolean;
  verified: boolean;
  bytes: number;
  seconds: number;
  step: string;
  attempts: number;
  throughput: number;
  error?: { code: string; message: string };
}

/**
 * The end of a delivery: records the result unless this job no longer owns the device's row (then
 * nothing changes: no result is ever written twice), completes the job, and moves the rollout on.
 * Returns whether the result was recorded.
 */
export async function finishDelivery(fleet: Fleet, k: DeliveryKey, res: DeliveryResult): Promise<boolean> {
  const S = fleet.schema;
  return fleet.tx(async (c, db) => {
    const r = await lockRollout(c, S, k.rollout);
    const upd = await c.query<DeviceRow>(
      `UPDATE "${S}".rollout_devices SET status = $4, result = $5, error_code = $6, error_message = $7, finished_at = now()
        WHERE rollout_id = $1 AND device_id = $2 AND job_id = $3 AND status = 'running' RETURNING *`,
      [k.rollout, k.device, k.jobId, res.ok ? 'ok' : 'failed', JSON.stringify(res), res.error?.code ?? null, res.error?.message ?? null],
    );
    await c.query(`DELETE FROM "${S}".device_locks WHERE device_id = $1 AND job_id = $2`, [k.device, k.jobId]);
    await fleet.boss.complete(k.queue, k.jobId, { db });
    const d = upd.rows[0];
    if (!d) return false;
    await emit(c, S, {
      type: 'device-done',
      rollout: k.rollout,
      at: Date.now(),
      device: k.device,
      station: k.station,
      group: d.group_no,
      result: res.ok ? 'ok' : 'failed',
      alreadyInstalled: res.alreadyInstalled,
      verified: res.verified,
      bytes: res.bytes,
      seconds: res.seconds,
      deliveries: d.deliveries,
      ...(res.error ? { error: res.error } : {}),
    });
    await evaluate(fleet, c, db, r);
    return true;
  });
}

/**
 * Hands a delivery back without a result (a station stopping, or the device's run aborted): the
 * lock is released and the job fails, so pg-boss delivers it again after its retry delay.
 */
export async function handBack(fleet: Fleet, k: DeliveryKey): Promise<void> {
  await fleet.tx(async (c, db) => {
    await c.query(`DELETE FROM "${fleet.schema}".device_locks WHERE device_id = $1 AND job_id = $2`, [k.device, k.jobId]);
    await fleet.boss.fail(k.queue, k.jobId, { db });
  });
}
