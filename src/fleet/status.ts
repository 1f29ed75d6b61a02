/**
 * Reading a rollout back: its state, its groups' counts, every device's result, and the stream of
 * its events ({@link watchRollout}).
 * @module
 */
import { groupCounts, type GroupCounts } from './advance.js';
import type { Fleet } from './db.js';
import { FleetError } from './errors.js';
import { isFinalState, type FleetEvent, type RolloutState } from './events.js';

/** One device of a rollout. */
export interface RolloutDeviceStatus {
  device: string;
  group: number;
  /** The station it was given to. */
  station: string | null;
  status: 'pending' | 'queued' | 'running' | 'ok' | 'failed' | 'cancelled';
  /** Times a station took its job. */
  deliveries: number;
  alreadyInstalled: boolean;
  verified: boolean;
  bytes: number;
  seconds: number;
  errorCode: string | null;
  errorMessage: string | null;
  /** From queued to the station's first byte to the device, ms (null until then). */
  queueToFirstByteMs: number | null;
  /** From queued to a station taking the job (its start transaction), ms (null until then). */
  queueToTakeMs: number | null;
}

/** A rollout as {@link rolloutStatus} reads it. */
export interface RolloutStatus {
  id: string;
  name: string;
  state: RolloutState;
  reason: string | null;
  mode: 'test' | 'confirm';
  imageSha256: string;
  imageVersion: string;
  /** Size of the image file, bytes. */
  imageSize: number;
  /** The image's own hash (MCUboot's SHA-256 TLV, as `image list` shows it), hex. */
  imageHash: string;
  successThreshold: number;
  errorThreshold: number;
  /** ISO time, or null. */
  deadline: string | null;
  createdAt: string;
  groups: GroupCounts[];
  devices: RolloutDeviceStatus[];
}

/** The state of one rollout with every device's result. */
export async function rolloutStatus(fleet: Fleet, id: string): Promise<RolloutStatus> {
  const S = fleet.schema;
  const r = (
    await fleet.query(
      `SELECT r.*, i.version, i.size AS image_size, i.image_hash FROM "${S}".rollouts r JOIN "${S}".images i ON i.sha256 = r.image_sha WHERE r.id = $1`,
      [id],
    )
  )[0];
  if (!r) throw new FleetError('FLEET_ERR_UNKNOWN_ROLLOUT', `no rollout has the id ${JSON.stringify(id)}; "mcumgr rollout status" lists them`);
  const devs = await fleet.query(`SELECT * FROM "${S}".rollout_devices WHERE rollout_id = $1 ORDER BY group_no, device_id`, [id]);
  return {
    id: r.id,
    name: r.name,
    state: r.state,
    reason: r.reason,
    mode: r.mode,
    imageSha256: r.image_sha,
    imageVersion: r.version,
    imageSize: r.image_size,
    imageHash: r.image_hash,
    successThreshold: r.success_threshold,
    errorThreshold: r.error_threshold,
    deadline: r.deadline_at ? (r.deadline_at as Date).toISOString() : null,
    createdAt: (r.created_at as Date).toISOString(),
    groups: await groupCounts(fleet.pool, S, id),
    devices: devs.map((d) => ({
      device: d.device_id,
      group: d.group_no,
      station: d.station,
      status: d.status,
      deliveries: d.deliveries,
      alreadyInstalled: d.result?.alreadyInstalled ?? false,
      verified: d.result?.verified ?? false,
      bytes: d.result?.bytes ?? 0,
      seconds: d.result?.seconds ?? 0,
      errorCode: d.error_code,
      errorMessage: d.error_message,
      queueToFirstByteMs: d.first_byte_ms !== null && d.queued_ms !== null ? Math.max(0, Math.round(d.first_byte_ms - d.queued_ms)) : null,
      queueToTakeMs: d.started_at && d.queued_ms !== null ? Math.max(0, Math.round((d.started_at as Date).getTime() - d.queued_ms)) : null,
    })),
  };
}

/** Every rollout, newest first: id, name, state, created. */
export async function listRollouts(fleet: Fleet): Promise<Array<{ id: string; name: string; state: RolloutState; reason: string | null; createdAt: string }>> {
  const rows = await fleet.query(`SELECT id, name, state, reason, created_at FROM "${fleet.schema}".rollouts ORDER BY created_at DESC`);
  return rows.map((r) => ({ id: r.id, name: r.name, state: r.state, reason: r.reason, createdAt: (r.created_at as Date).toISOString() }));
}

/** Options of {@link watchRollout}. */
export interface WatchOptions {
  /** Yield only events after this `seq` (resume a stream). Default 0: the whole history first. */
  from?: number;
  /** Keep following after the rollout reached a final state (`stopped`, `cancelled`, `finished`). Default false: the iteration ends there. */
  follow?: boolean;
  /** How often the database is asked for new events, ms. Default 250. */
  intervalMs?: number;
  /** Ends the iteration. */
  signal?: AbortSignal;
}

/**
 * The rollout's events as an async iterable: its history first, then new events as stations
 * write them, until the rollout reaches a final state and its last running device has ended (unless `follow`). Every event is plain
 * JSON ({@link FleetEvent}); `seq` resumes a stream after a disconnect. A database restart
 * pauses the stream; it goes on where it was. An event whose transaction committed after a
 * later-numbered one had been read still comes (within 30 s of that read), with its own, lower
 * `seq`: dedupe by `seq`, and resume a stream from a `seq` read 30 s before the disconnect to miss
 * nothing.
 *
 * @example
 * ```ts
 * for await (const e of watchRollout(fleet, id)) {
 *   if (e.type === 'rollout-state') console.log('rollout', e.state, e.reason ?? '');
 * }
 * ```
 */
export async function* watchRollout(fleet: Fleet, id: string, options: WatchOptions = {}): AsyncGenerator<FleetEvent, void, undefined> {
  const S = fleet.schema;
  let seq = options.from ?? 0;
  const interval = options.intervalMs ?? 250;
  let checked = false;
  // Sequence numbers are taken when an event is inserted, not when its transaction commits: a
  // station's progress can commit after a device's result with a lower number, still uncommitted
  // when the stream read past it. So every poll also looks back over what came in the last
  // LATE_COMMIT_MS for numbers it has not yielded yet.
  const late = new LateEvents(options.from ?? 0);
  while (!options.signal?.aborted) {
    let rows: Array<{ seq: string; body: FleetEvent }>;
    let missed: Array<{ seq: string; body: FleetEvent }>;
    let state: RolloutState | undefined;
    let active = 0;
    try {
      missed = await late.query(fleet, S, id, seq);
      rows = await fleet.query(`SELECT seq, body FROM "${S}".events WHERE rollout_id = $1 AND seq > $2 ORDER BY seq LIMIT 1000`, [id, seq]);
      const st = await fleet.query<{ state: RolloutState; active: number }>(
        `SELECT state, (SELECT count(*) FROM "${S}".rollout_devices d WHERE d.rollout_id = r.id AND d.status IN ('queued', 'running'))::int AS active
           FROM "${S}".rollouts r WHERE id = $1`,
        [id],
      );
      state = st[0]?.state;
      active = st[0]?.active ?? 0;
    } catch (e) {
      if (!checked) throw e;
      await new Promise((r) => setTimeout(r, interval * 4)); // the database is away: wait for it
      continue;
    }
    if (!checked && state === undefined) throw new FleetError('FLEET_ERR_UNKNOWN_ROLLOUT', `no rollout has the id ${JSON.stringify(id)}; "mcumgr rollout status" lists them`);
    checked = true;
    for (const r of missed) {
      late.yielded(Number(r.seq));
      yield { ...r.body, seq: Number(r.seq) } as FleetEvent;
    }
    for (const r of rows) {
      seq = Number(r.seq);
      late.yielded(seq);
      yield { ...r.body, seq } as FleetEvent;
    }
    late.mark(seq);
    if (rows.length === 1000) continue;
    // The state was read after the events: once final with no device still running, every
    // event was read or is in the tail (states change in the same transaction as their events).
    if (!options.follow && state !== undefined && isFinalState(state) && active === 0) {
      const tail = [
        ...(await late.query(fleet, S, id, seq)),
        ...(await fleet.query<{ seq: string; body: FleetEvent }>(`SELECT seq, body FROM "${S}".events WHERE rollout_id = $1 AND seq > $2 ORDER BY seq`, [id, seq])),
      ];
      for (const r of tail) {
        seq = Number(r.seq);
        yield { ...r.body, seq } as FleetEvent;
      }
      return;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** How long after a poll an event may still commit with a lower number than one already read. */
const LATE_COMMIT_MS = 30_000;

/** What a stream has yielded lately, to find events that committed after it read past them. */
class LateEvents {
  readonly #seen = new Set<number>();
  /** (time, highest number read by then), oldest first. */
  readonly #marks: Array<{ at: number; seq: number }> = [];
  /** Numbers at or below this are settled: no late event is looked for there. */
  #floor: number;

  constructor(from: number) {
    this.#floor = from;
  }

  yielded(seq: number): void {
    if (seq > this.#floor) this.#seen.add(seq);
  }

  /** After a poll that read up to `seq`: what was read LATE_COMMIT_MS ago becomes settled. */
  mark(seq: number): void {
    const now = Date.now();
    this.#marks.push({ at: now, seq });
    while (this.#marks.length > 0 && now - this.#marks[0]!.at >= LATE_COMMIT_MS) this.#floor = Math.max(this.#floor, this.#marks.shift()!.seq);
    for (const s of this.#seen) if (s <= this.#floor) this.#seen.delete(s);
  }

  /** Events of the rollout between the floor and `upTo` that this stream has not yielded. */
  query(fleet: Fleet, S: string, id: string, upTo: number): Promise<Array<{ seq: string; body: FleetEvent }>> {
    if (upTo <= this.#floor) return Promise.resolve([]);
    return fleet.query(
      `SELECT seq, body FROM "${S}".events WHERE rollout_id = $1 AND seq > $2 AND seq <= $3 AND NOT (seq = ANY($4::bigint[])) ORDER BY seq`,
      [id, this.#floor, upTo, [...this.#seen]],
    );
  }
}
