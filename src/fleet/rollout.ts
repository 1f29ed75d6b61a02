/**
 * Rollouts, after the model of fleet update servers (hawkBit's rollout groups and thresholds, AWS
 * IoT Jobs' abort criteria): an image for a list of devices, split into deployment groups that
 * run one after the other; pause, resume, cancel, retry the failed. Every check is made before
 * anything is written, so bad input never leaves a job queued.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { BulkDeviceOptions } from '../bulk/index.js';
import { emit, evaluate, lockRollout, queueDevice, setState, startGroup, stopRollout, withdrawQueued, type DeviceRow, type RolloutRow } from './advance.js';
import type { Fleet } from './db.js';
import { FleetError } from './errors.js';
import { checkMcubootImage, sha256Hex, storeImage } from './images.js';
import { listDevices } from './registry.js';
import { readImageFile } from '../image/read-file.js';

/** What {@link createRollout} is asked to do. */
export interface RolloutSpec {
  /** The signed MCUboot image: its bytes or a file path. Stored once, by SHA-256. */
  image: Uint8Array | string;
  /** Device ids (as stations registered them). Give this or `selector`. */
  targets?: string[];
  /** Every registered device matching: `match` is a glob on the id (`board-*`), `stations` limits to those stations. */
  selector?: { match?: string; stations?: string[] };
  /** Deployment groups: their count (devices split in order), or the lists of device ids. Default 1. */
  groups?: number | string[][];
  /** Devices per group (instead of `groups`). */
  groupSize?: number;
  /** Fraction of a group that must succeed before the next group starts, 0..1. Default 1. */
  successThreshold?: number;
  /** Fraction of a group's devices that may fail; one more stops the rollout, 0..1. Default 0 (the first failure stops it). */
  errorThreshold?: number;
  /** `confirm` (default): the new image becomes permanent; `test`: it boots once. */
  mode?: 'test' | 'confirm';
  /** No device is started after this (a Date, an ISO time, or ms from now). */
  deadline?: Date | string | number;
  /** A name for people. Default: the image's version. */
  name?: string;
  /** Lease of one device's job, seconds: a station silent for this long loses the job to a retry. Default 900. */
  leaseSeconds?: number;
  /** Only these stations drive the devices. */
  stations?: string[];
  /** Settings of the bulk flasher for every device (window, timeouts, retries…). */
  device?: Omit<BulkDeviceOptions, 'mode'>;
}

/** A created rollout. */
export interface RolloutCreated {
  id: string;
  name: string;
  /** SHA-256 of the image file (its address in the store). */
  imageSha256: string;
  /** Device ids per group. */
  groups: string[][];
}

function checkFraction(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
    throw new RangeError(`${name} must be a fraction between 0 and 1 (e.g. 0.95 for 95 %), got ${JSON.stringify(v)}`);
  }
  return v;
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/**
 * Creates a rollout and queues its first group. Checks, before anything is written or queued:
 * the image is an MCUboot image, thresholds are fractions, every target is registered by a
 * station (alive or not), every named station exists, the groups cover each target once.
 *
 * @throws RangeError / TypeError naming the argument and the fix; ImageFormatError for a file
 *   that is not an MCUboot image.
 * @example
 * ```ts
 * const r = await createRollout(fleet, { image: 'zephyr.signed.bin', selector: { match: 'board-*' }, groups: 3, errorThreshold: 0.1 });
 * for await (const e of watchRollout(fleet, r.id)) console.log(e.type);
 * ```
 */
export async function createRollout(fleet: Fleet, spec: RolloutSpec): Promise<RolloutCreated> {
  if (spec === null || typeof spec !== 'object') throw new TypeError('createRollout needs a spec { image, targets | selector, … }');
  const successThreshold = checkFraction('successThreshold', spec.successThreshold, 1);
  const errorThreshold = checkFraction('errorThreshold', spec.errorThreshold, 0);
  const mode = spec.mode ?? 'confirm';
  if (mode !== 'test' && mode !== 'confirm') throw new RangeError(`mode must be 'test' or 'confirm', got ${JSON.stringify(mode)}`);
  const leaseS = spec.leaseSeconds ?? 900;
  if (!Number.isInteger(leaseS) || leaseS < 5 || leaseS > 86_400) throw new RangeError(`leaseSeconds must be an integer 5..86400 (longer than one device's update), got ${JSON.stringify(leaseS)}`);
  let deadline: Date | null = null;
  if (spec.deadline !== undefined) {
    deadline = typeof spec.deadline === 'number' ? new Date(Date.now() + spec.deadline) : new Date(spec.deadline);
    if (Number.isNaN(deadline.getTime())) throw new RangeError(`deadline must be a Date, an ISO time or ms from now, got ${JSON.stringify(spec.deadline)}`);
  }
  if (spec.device !== undefined && (spec.device === null || typeof spec.device !== 'object' || 'mode' in spec.device)) {
    throw new TypeError('device must be an object of bulk flasher options (without mode: give mode on the rollout)');
  }

  const bytes = typeof spec.image === 'string' ? await readImageFile(spec.image) : spec.image;
  if (!(bytes instanceof Uint8Array)) throw new TypeError('image must be the image bytes (Uint8Array) or a file path');
  const info = checkMcubootImage(bytes, typeof spec.image === 'string' ? spec.image : 'image');

  const registry = await listDevices(fleet);
  const stationNames = new Set(registry.map((d) => d.station));
  for (const s of [...(spec.stations ?? []), ...(spec.selector?.stations ?? [])]) {
    if (!stationNames.has(s)) {
      throw new RangeError(`station ${JSON.stringify(s)} is not registered (known: ${[...stationNames].join(', ') || 'none'}); start it with "mcumgr station --name ${s} --conn …" or fix the name`);
    }
  }
  const allowed = spec.stations ? new Set(spec.stations) : undefined;
  const reachable = registry.filter((d) => !allowed || allowed.has(d.station));
  let targets: string[];
  if (spec.targets !== undefined) {
    if (spec.selector !== undefined) throw new TypeError('give targets or selector, not both');
    if (!Array.isArray(spec.targets) || spec.targets.length === 0 || spec.targets.some((t) => typeof t !== 'string')) {
      throw new TypeError('targets must be a non-empty list of device ids ("mcumgr fleet devices" lists them)');
    }
    targets = spec.targets;
  } else if (spec.selector !== undefined) {
    const re = spec.selector.match !== undefined ? globToRegExp(spec.selector.match) : undefined;
    const inStations = spec.selector.stations ? new Set(spec.selector.stations) : undefined;
    targets = [...new Set(reachable.filter((d) => (!re || re.test(d.id)) && (!inStations || inStations.has(d.station))).map((d) => d.id))].sort();
    if (targets.length === 0) throw new RangeError(`the selector ${JSON.stringify(spec.selector)} matches no registered device; "mcumgr fleet devices" lists them`);
  } else {
    throw new TypeError('give targets (device ids) or selector ({ match, stations })');
  }
  const seen = new Set<string>();
  const owned = new Set(reachable.map((d) => d.id));
  for (const t of targets) {
    if (seen.has(t)) throw new RangeError(`target ${t} is listed twice; list each device once`);
    seen.add(t);
    if (!owned.has(t)) {
      throw new RangeError(
        `no ${allowed ? 'allowed ' : ''}station owns target ${JSON.stringify(t)}; start a station that reaches it ("mcumgr station --name st-1 --conn ${t}=serial:/dev/ttyACM0") or remove it from the targets`,
      );
    }
  }
  const groups = splitGroups(targets, spec.groups, spec.groupSize);

  const image = await storeImage(fleet, bytes);
  if (image.sha256 !== sha256Hex(bytes)) throw new FleetError('FLEET_ERR_IMAGE_HASH', 'the stored image hash differs from the bytes given');
  const id = `ro-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}-${randomUUID().slice(0, 6)}`;
  const name = spec.name ?? `image ${info.versionString}`;
  const S = fleet.schema;
  await fleet.tx(async (c, db) => {
    await c.query(
      `INSERT INTO "${S}".rollouts (id, name, image_sha, state, mode, success_threshold, error_threshold, group_count, deadline_at, lease_s, options)
       VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, $8, $9, $10)`,
      [id, name, image.sha256, mode, successThreshold, errorThreshold, groups.length, deadline, leaseS, JSON.stringify({ device: spec.device ?? {}, stations: spec.stations })],
    );
    for (const [g, list] of groups.entries()) {
      await c.query(`INSERT INTO "${S}".rollout_groups (rollout_id, group_no) VALUES ($1, $2)`, [id, g]);
      for (const dev of list) await c.query(`INSERT INTO "${S}".rollout_devices (rollout_id, device_id, group_no) VALUES ($1, $2, $3)`, [id, dev, g]);
    }
    const r = await lockRollout(c, S, id);
    await emit(c, S, { type: 'rollout-state', rollout: id, at: Date.now(), state: 'running', reason: `created for ${targets.length} devices in ${groups.length} groups` });
    await startGroup(fleet, c, db, r, 0);
  });
  return { id, name, imageSha256: image.sha256, groups };
}

function splitGroups(targets: string[], groups: RolloutSpec['groups'], groupSize: number | undefined): string[][] {
  if (Array.isArray(groups)) {
    if (groupSize !== undefined) throw new TypeError('give groups or groupSize, not both');
    const flat = groups.flat();
    if (groups.some((g) => !Array.isArray(g) || g.length === 0)) throw new RangeError('every group must be a non-empty list of device ids');
    if (flat.length !== targets.length || new Set(flat).size !== flat.length || flat.some((d) => !targets.includes(d))) {
      throw new RangeError('the groups must hold every target exactly once');
    }
    return groups.map((g) => [...g]);
  }
  let count = 1;
  if (groupSize !== undefined) {
    if (groups !== undefined) throw new TypeError('give groups or groupSize, not both');
    if (!Number.isInteger(groupSize) || groupSize < 1) throw new RangeError(`groupSize must be an integer ≥ 1, got ${JSON.stringify(groupSize)}`);
    count = Math.ceil(targets.length / groupSize);
  } else if (groups !== undefined) {
    if (!Number.isInteger(groups) || groups < 1 || groups > targets.length) throw new RangeError(`groups must be an integer 1..${targets.length} (the number of targets), got ${JSON.stringify(groups)}`);
    count = groups;
  }
  const size = Math.ceil(targets.length / count);
  return Array.from({ length: count }, (_, g) => targets.slice(g * size, (g + 1) * size)).filter((g) => g.length > 0);
}

async function control(fleet: Fleet, id: string, fn: (r: RolloutRow, c: Parameters<Parameters<Fleet['tx']>[0]>[0], db: Parameters<Parameters<Fleet['tx']>[0]>[1]) => Promise<void>): Promise<void> {
  await fleet.tx(async (c, db) => fn(await lockRollout(c, fleet.schema, id), c, db));
}

function refuse(id: string, what: string, state: string, hint: string): never {
  throw new FleetError('FLEET_ERR_STATE', `rollout ${id} is ${state}: it cannot be ${what}; ${hint}`);
}

/** Pauses a running rollout: devices not yet started wait; running ones finish. */
export async function pauseRollout(fleet: Fleet, id: string): Promise<void> {
  await control(fleet, id, async (r, c, db) => {
    if (r.state !== 'running') refuse(id, 'paused', r.state, 'only a running rollout pauses');
    await withdrawQueued(fleet, c, db, r, 'pending', 'paused');
    await setState(c, fleet.schema, r, 'paused', 'paused by operator');
  });
}

/** Resumes a paused rollout. */
export async function resumeRollout(fleet: Fleet, id: string): Promise<void> {
  await control(fleet, id, async (r, c, db) => {
    if (r.state !== 'paused') refuse(id, 'resumed', r.state, 'only a paused rollout resumes (a stopped one: retry)');
    await setState(c, fleet.schema, r, 'running', 'resumed by operator');
    const devs = (
      await c.query<DeviceRow>(
        `SELECT d.* FROM "${fleet.schema}".rollout_devices d JOIN "${fleet.schema}".rollout_groups g ON g.rollout_id = d.rollout_id AND g.group_no = d.group_no
          WHERE d.rollout_id = $1 AND d.status = 'pending' AND g.state = 'running'`,
        [id],
      )
    ).rows;
    for (const d of devs) await queueDevice(fleet, c, db, r, d);
    await evaluate(fleet, c, db, r);
  });
}

/** Cancels a rollout: no new device is touched; running ones finish. */
export async function cancelRollout(fleet: Fleet, id: string): Promise<void> {
  await control(fleet, id, async (r, c, db) => {
    if (r.state === 'cancelled' || r.state === 'finished') refuse(id, 'cancelled', r.state, 'it has ended already');
    await stopRollout(fleet, c, db, r, 'cancelled', 'cancelled by operator');
  });
}

/**
 * Tries the failed (and the cancelled) devices of the groups that had started again and sets
 * the rollout running. Returns how many devices were queued.
 */
export async function retryFailed(fleet: Fleet, id: string): Promise<number> {
  let n = 0;
  await control(fleet, id, async (r, c, db) => {
    if (r.state === 'finished' || r.state === 'cancelled') refuse(id, 'retried', r.state, 'create a new rollout');
    const devs = (
      await c.query<DeviceRow>(
        `SELECT d.* FROM "${fleet.schema}".rollout_devices d JOIN "${fleet.schema}".rollout_groups g ON g.rollout_id = d.rollout_id AND g.group_no = d.group_no
          WHERE d.rollout_id = $1 AND d.status IN ('failed', 'cancelled') AND g.state <> 'pending'`,
        [id],
      )
    ).rows;
    await c.query(`UPDATE "${fleet.schema}".rollout_groups SET state = 'running', finished_at = NULL WHERE rollout_id = $1 AND group_no = ANY($2)`, [id, [...new Set(devs.map((d) => d.group_no))]]);
    await setState(c, fleet.schema, r, 'running', `retry of ${devs.length} devices`);
    for (const d of devs) await queueDevice(fleet, c, db, r, d);
    n = devs.length;
    await evaluate(fleet, c, db, r);
  });
  return n;
}
