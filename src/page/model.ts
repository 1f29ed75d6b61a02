/**
 * The station page's state model: what the page shows (a run, its devices, its rollout groups and
 * the totals), as plain JSON, and the events that change it.
 *
 * Every source (a `bulkFlash` run, a tracked transfer, a fleet rollout) is turned into
 * {@link PageEvent}s by a small adapter; {@link RunState} folds them into one {@link PageSnapshot}.
 * A device event carries the device's *absolute* values (bytes so far, not bytes since the last
 * event), so applying one twice changes nothing: a page that reconnects and gets the same row again
 * never counts anything twice.
 * @module
 */

/** How a device stands. `skipped`: a rollout stopped before it reached the device. */
export type PageDeviceState = 'queued' | 'running' | 'retrying' | 'ok' | 'failed' | 'skipped';

/** How a run (or a rollout group) stands. */
export type PageRunStatus = 'waiting' | 'running' | 'paused' | 'done' | 'failed' | 'stopped';

/** A failure as the page shows it: the stable code and the message. */
export interface PageError {
  code: string;
  message: string;
}

/** One row of the page. */
export interface PageDevice {
  /** Unique key of the row within the run (a bulk index, a fleet device id). */
  key: string;
  /** Display name. */
  name: string;
  /** Connection string or other address of the device. */
  target: string;
  /** Station (host) that drives the device, when a fleet runs it. */
  station?: string;
  /** Rollout group the device belongs to. */
  group?: string;
  state: PageDeviceState;
  /** Step of the update (`connect`, `upload`, `verify` …). */
  step: string;
  /** Extra words about the step. */
  detail?: string;
  /** Bytes the device confirmed. */
  bytes: number;
  /** Bytes to send (0 when unknown or when nothing is uploaded). */
  total: number;
  /** Current upload rate, bytes/s. */
  rate: number;
  /** Requests allowed in flight. */
  window: number;
  /** Attempt number, 1-based. */
  attempt: number;
  /** When work on the device started (ms since the epoch), if it has. */
  startedAt?: number;
  /** When it ended (ms since the epoch), once `ok`, `failed` or `skipped`. */
  endedAt?: number;
  /** The failure of a failed device. */
  error?: PageError;
  /** True when the device already ran the image (nothing sent). */
  alreadyInstalled?: boolean;
  /** True when the device was seen running the new image after its reset. */
  verified?: boolean;
  /**
   * Which job of the device the row shows (a station's n-th job on it, a retried rollout
   * device's next delivery). An event with a higher `round` starts the row afresh, even after a
   * final state; without one, a final state sticks.
   */
  round?: number;
}

/** A rollout group (fleet rollouts only). */
export interface PageGroup {
  id: string;
  name: string;
  /** Its place in the rollout, 0-based. */
  index: number;
  state: PageRunStatus;
  /** Share of devices that must succeed before the next group starts, 0..1. */
  successThreshold?: number;
  /** Share of failed devices that stops the rollout, 0..1. */
  errorThreshold?: number;
  /** Devices in the group. */
  devices: number;
  succeeded: number;
  failed: number;
}

/** The run as a whole. */
export interface PageRun {
  /** `bulk`, `transfer`, `rollout` or any word a host program chooses. */
  kind: string;
  title: string;
  status: PageRunStatus;
  /** Why the run stopped (`abort`, `deadline`, `error threshold` …). */
  reason?: string;
  startedAt?: number;
  endedAt?: number;
  /** The image being installed. */
  image?: { version: string; hash: string; size: number };
}

/** Sums over every device. */
export interface PageTotals {
  devices: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  skipped: number;
  /** Bytes confirmed, summed. */
  bytes: number;
  /** Bytes to send, summed (a failed device counts what it took, so this reaches 100 %). */
  total: number;
  /** Sum of the current rates of the devices uploading, bytes/s. */
  rate: number;
}

/** Everything the page shows: sent whole to a page that connects, then changed by updates. */
export interface PageSnapshot {
  /** Number of the last change folded in; updates with a number at or below it are already in. */
  seq: number;
  /** The server's clock when this was made (ms since the epoch): the page ticks elapsed times from it. */
  now: number;
  run: PageRun;
  devices: PageDevice[];
  groups: PageGroup[];
  totals: PageTotals;
  /** Control actions the server accepts (with the token): `abort`, `pause`, `resume`, `cancel`. */
  controls: string[];
  /** Report formats that can be downloaded now (`json`, `csv`, `junit`). */
  reports: string[];
}

/** A change since an earlier snapshot: only the rows that changed, whole. */
export interface PageUpdate {
  seq: number;
  now: number;
  run?: PageRun;
  devices: PageDevice[];
  groups: PageGroup[];
  totals: PageTotals;
  controls?: string[];
  reports?: string[];
}

/**
 * What an adapter feeds the page. Fields left out keep their value; a new `key` adds a row.
 *
 * - `run`: the run's title, status, image …
 * - `device`: one device's latest state (absolute values).
 * - `group`: a rollout group's latest state.
 *
 * A fleet rollout's `watch()` maps onto these as follows (one `publish` per event):
 * - the rollout itself → `{ type: 'run', kind: 'rollout', title, status, image, startedAt }`;
 *   stopped, paused, done → the same with `status: 'stopped' | 'paused' | 'done'` and `reason`;
 * - group started / finished → `{ type: 'group', id, name, index, state, successThreshold,
 *   errorThreshold, devices, succeeded, failed }`;
 * - device progress → `{ type: 'device', key: <device id>, name, target, station, group,
 *   state: 'running', step, bytes, total, rate, window, attempt }`;
 * - device done → the same with `state: 'ok' | 'failed'`, `error: { code, message }`, `verified`;
 *   a device a stopped rollout never reached → `state: 'skipped'`.
 * Controls: `page.setControl('pause' | 'resume' | 'cancel', handler)` with the rollout's methods.
 */
export type PageEvent =
  | ({ type: 'run' } & Partial<PageRun>)
  | ({ type: 'device'; key: string } & Partial<Omit<PageDevice, 'key'>>)
  | ({ type: 'group'; id: string } & Partial<Omit<PageGroup, 'id'>>);

const FINAL: ReadonlySet<PageDeviceState> = new Set(['ok', 'failed', 'skipped']);
const DEVICE_STATES: ReadonlySet<string> = new Set(['queued', 'running', 'retrying', 'ok', 'failed', 'skipped']);
const RUN_STATES: ReadonlySet<string> = new Set(['waiting', 'running', 'paused', 'done', 'failed', 'stopped']);
/** Rows one run may hold: a page for a line of stations, not a database. */
export const MAX_PAGE_DEVICES = 4096;
const MAX_TEXT = 500;

const text = (v: unknown, field: string): string => {
  if (typeof v !== 'string') throw new TypeError(`page event: ${field} must be a string, got ${typeof v}`);
  return v.length > MAX_TEXT ? v.slice(0, MAX_TEXT - 1) + '…' : v;
};
const count = (v: unknown, field: string): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`page event: ${field} must be a finite number ≥ 0, got ${String(v)}`);
  return v;
};

/**
 * Holds the state of one run and folds {@link PageEvent}s into it, remembering which rows changed
 * since the last {@link RunState.takeUpdate}. A device's final state (`ok`, `failed`, `skipped`)
 * sticks: a later event that does not carry a final state is ignored, unless it opens a new `round`.
 * @example
 * ```ts
 * const state = new RunState({ kind: 'bulk', title: 'app 1.2.0' });
 * state.apply({ type: 'device', key: '0', name: 'board-a', state: 'running', step: 'upload', bytes: 4096, total: 65536 });
 * state.snapshot().totals.bytes; // 4096
 * ```
 */
export class RunState {
  #seq = 0;
  #run: PageRun;
  readonly #devices = new Map<string, PageDevice>();
  readonly #groups = new Map<string, PageGroup>();
  readonly #dirtyDevices = new Set<string>();
  readonly #dirtyGroups = new Set<string>();
  #dirtyRun = false;
  #dirtyMeta = false;
  #controls: string[] = [];
  #reports: string[] = [];

  constructor(run: Partial<PageRun> = {}) {
    this.#run = { kind: run.kind ?? 'run', title: run.title ?? '', status: run.status ?? 'waiting', ...run };
  }

  /** Number of the last change. */
  get seq(): number {
    return this.#seq;
  }

  /** True when something changed since the last {@link takeUpdate}. */
  get dirty(): boolean {
    return this.#dirtyRun || this.#dirtyMeta || this.#dirtyDevices.size > 0 || this.#dirtyGroups.size > 0;
  }

  /** Folds one event in. Throws a `TypeError`/`RangeError` naming the field on malformed input. */
  apply(e: PageEvent): void {
    if (e === null || typeof e !== 'object') throw new TypeError('page event must be an object');
    if (e.type === 'run') this.#applyRun(e);
    else if (e.type === 'device') this.#applyDevice(e);
    else if (e.type === 'group') this.#applyGroup(e);
    else throw new TypeError(`page event: type must be run, device or group, got ${JSON.stringify((e as { type?: unknown }).type)}`);
    this.#seq++;
  }

  /** Sets the control actions offered (see {@link PageSnapshot.controls}). */
  setControls(actions: readonly string[]): void {
    this.#controls = [...actions];
    this.#dirtyMeta = true;
    this.#seq++;
  }

  /** Sets the report formats offered. */
  setReports(formats: readonly string[]): void {
    this.#reports = [...formats];
    this.#dirtyMeta = true;
    this.#seq++;
  }

  /** The whole state, as plain data. */
  snapshot(now = Date.now()): PageSnapshot {
    const devices = [...this.#devices.values()].map((d) => ({ ...d }));
    return {
      seq: this.#seq,
      now,
      run: { ...this.#run },
      devices,
      groups: [...this.#groups.values()].map((g) => ({ ...g })),
      totals: totalsOf(devices),
      controls: [...this.#controls],
      reports: [...this.#reports],
    };
  }

  /** The rows changed since the last call (and clears the marks), or undefined when nothing changed. */
  takeUpdate(now = Date.now()): PageUpdate | undefined {
    if (!this.dirty) return undefined;
    const u: PageUpdate = {
      seq: this.#seq,
      now,
      devices: [...this.#dirtyDevices].map((k) => ({ ...this.#devices.get(k)! })),
      groups: [...this.#dirtyGroups].map((k) => ({ ...this.#groups.get(k)! })),
      totals: totalsOf(this.#devices.values()),
    };
    if (this.#dirtyRun) u.run = { ...this.#run };
    if (this.#dirtyMeta) {
      u.controls = [...this.#controls];
      u.reports = [...this.#reports];
    }
    this.#dirtyDevices.clear();
    this.#dirtyGroups.clear();
    this.#dirtyRun = false;
    this.#dirtyMeta = false;
    return u;
  }

  #applyRun(e: { type: 'run' } & Partial<PageRun>): void {
    const { type: _t, ...rest } = e;
    if (rest.status !== undefined && !RUN_STATES.has(rest.status)) throw new RangeError(`page event: run status ${JSON.stringify(rest.status)} is not one of ${[...RUN_STATES].join(', ')}`);
    if (rest.title !== undefined) rest.title = text(rest.title, 'run.title');
    this.#run = { ...this.#run, ...rest };
    this.#dirtyRun = true;
  }

  #applyDevice(e: { type: 'device'; key: string } & Partial<Omit<PageDevice, 'key'>>): void {
    const key = text(e.key, 'device.key');
    const prev = this.#devices.get(key);
    if (!prev && this.#devices.size >= MAX_PAGE_DEVICES) throw new RangeError(`page: more than ${MAX_PAGE_DEVICES} devices in one run; start a page per run`);
    const { type: _t, key: _k, ...rest } = e;
    // A progress report that arrives after the final one changes nothing; a final result (e.g. the
    // run's result object after its last progress event) still completes the row; a later round
    // (the device's next job) opens it again.
    const newRound = prev !== undefined && rest.round !== undefined && rest.round > (prev.round ?? 0);
    if (prev && !newRound && FINAL.has(prev.state) && !(rest.state !== undefined && FINAL.has(rest.state))) return;
    if (rest.state !== undefined && !DEVICE_STATES.has(rest.state)) throw new RangeError(`page event: device state ${JSON.stringify(rest.state)} is not one of ${[...DEVICE_STATES].join(', ')}`);
    for (const f of ['bytes', 'total', 'rate', 'window', 'attempt', 'round'] as const) if (rest[f] !== undefined) count(rest[f], `device.${f}`);
    for (const f of ['name', 'target', 'station', 'group', 'step', 'detail'] as const) if (rest[f] !== undefined) rest[f] = text(rest[f], `device.${f}`);
    if (rest.error !== undefined) rest.error = { code: text(rest.error.code, 'device.error.code'), message: text(rest.error.message, 'device.error.message') };
    // A new round keeps who the device is and forgets how its last job went.
    const base = newRound ? { name: prev.name, target: prev.target, ...(prev.station !== undefined ? { station: prev.station } : {}) } : prev;
    const d: PageDevice = { key, name: key, target: '', state: 'queued', step: 'queued', bytes: 0, total: 0, rate: 0, window: 0, attempt: 1, ...base, ...rest };
    if (d.startedAt === undefined && d.state !== 'queued') d.startedAt = Date.now();
    if (FINAL.has(d.state)) {
      d.endedAt ??= Date.now();
      d.rate = 0;
    }
    this.#devices.set(key, d);
    this.#dirtyDevices.add(key);
  }

  #applyGroup(e: { type: 'group'; id: string } & Partial<Omit<PageGroup, 'id'>>): void {
    const id = text(e.id, 'group.id');
    const { type: _t, id: _i, ...rest } = e;
    if (rest.state !== undefined && !RUN_STATES.has(rest.state)) throw new RangeError(`page event: group state ${JSON.stringify(rest.state)} is not one of ${[...RUN_STATES].join(', ')}`);
    for (const f of ['successThreshold', 'errorThreshold'] as const) {
      const v = rest[f];
      if (v !== undefined && !(typeof v === 'number' && v >= 0 && v <= 1)) throw new RangeError(`page event: group.${f} must be between 0 and 1, got ${String(v)}`);
    }
    const prev = this.#groups.get(id);
    const g: PageGroup = { id, name: id, index: this.#groups.size, state: 'waiting', devices: 0, succeeded: 0, failed: 0, ...prev, ...rest };
    this.#groups.set(id, g);
    this.#dirtyGroups.add(id);
  }
}

/** Sums the devices (see {@link PageTotals}). */
export function totalsOf(devices: Iterable<PageDevice>): PageTotals {
  const t: PageTotals = { devices: 0, queued: 0, running: 0, succeeded: 0, failed: 0, skipped: 0, bytes: 0, total: 0, rate: 0 };
  const list = [...devices];
  const size = Math.max(0, ...list.map((d) => d.total));
  for (const d of list) {
    t.devices++;
    const total = d.total || size;
    const got = Math.min(d.bytes, total);
    if (d.state === 'ok') {
      t.succeeded++;
      t.bytes += total; // an already-installed device needs nothing more
      t.total += total;
    } else if (d.state === 'failed' || d.state === 'skipped') {
      if (d.state === 'failed') t.failed++;
      else t.skipped++;
      t.bytes += got; // nothing more will come from it
      t.total += got;
    } else {
      if (d.state === 'queued') t.queued++;
      else t.running++;
      t.bytes += got;
      t.total += total;
      t.rate += d.rate;
    }
  }
  return t;
}
