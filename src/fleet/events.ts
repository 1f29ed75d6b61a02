/**
 * The events of a rollout, as {@link watchRollout} yields them and as a page or a CLI follows
 * them. Every event is plain JSON (no Dates, no Buffers, no class instances): it is stored as
 * `jsonb` in PostgreSQL, survives a restart of any process, and travels unchanged over
 * server-sent events or a pipe.
 *
 * Every event carries `seq` (its position in the rollout's stream, strictly increasing: a
 * consumer that reconnects resumes with `from: lastSeq`), `rollout` (the rollout's id) and `at`
 * (wall-clock ms on the `Date.now()` scale, taken where the event happened).
 *
 * @example
 * ```ts
 * for await (const e of watchRollout(fleet, id)) {
 *   if (e.type === 'progress') console.log(e.device, e.step, `${e.bytes}/${e.total}`);
 *   if (e.type === 'device-done' && e.result === 'failed') console.log(e.device, e.error?.code);
 * }
 * ```
 * @module
 */

/** The lifecycle state of a rollout. */
export type RolloutState =
  /** Groups are being worked on. */
  | 'running'
  /** No new device is started; devices already running finish. `resume` goes on. */
  | 'paused'
  /** Stopped by its error threshold, its deadline, or a group that missed its success threshold. `retry` may restart it. */
  | 'stopped'
  /** Cancelled by an operator; queued devices were never touched. */
  | 'cancelled'
  /** Every group passed. */
  | 'finished';

/** How one device's job ended. */
export type DeviceOutcome =
  /** Updated and verified, or it already ran the image. */
  | 'ok'
  /** The update failed; `error` says why. Nothing half-written is left marked for boot. */
  | 'failed'
  /** The rollout was stopped or cancelled before this device was touched. */
  | 'cancelled';

/** Fields every event has. */
export interface FleetEventBase {
  /** Position in the rollout's event stream (strictly increasing, from 1). */
  seq: number;
  /** The rollout's id. */
  rollout: string;
  /** When it happened, ms since the epoch. */
  at: number;
}

/** A device's progress (at most two a second per device, plus step changes). */
export interface ProgressEvent extends FleetEventBase {
  type: 'progress';
  /** The device's id in the registry. */
  device: string;
  /** The station driving it. */
  station: string;
  /** Its deployment group, 0-based. */
  group: number;
  /** The bulk flasher's step: `connect`, `validate`, `check`, `upload`, `mark`, `reset`, `verify`, `done`… */
  step: string;
  /** Image bytes the device has confirmed. */
  bytes: number;
  /** Image size. */
  total: number;
  /** Upload rate, bytes/s. */
  rate: number;
  /** Requests in flight allowed by the upload window. */
  window: number;
  /** Attempt of the bulk flasher within this delivery, 1-based. */
  attempt: number;
}

/** A device's job ended (once per device and delivery that reached the database; never twice for one result). */
export interface DeviceDoneEvent extends FleetEventBase {
  type: 'device-done';
  device: string;
  /** The station that drove it (empty when it was cancelled before any station took it). */
  station: string;
  group: number;
  result: DeviceOutcome;
  /** The device already ran this image; nothing was sent. */
  alreadyInstalled: boolean;
  /** After the reset the device ran the new image. */
  verified: boolean;
  /** Image bytes uploaded. */
  bytes: number;
  /** Time spent on the device, seconds. */
  seconds: number;
  /** How many times a station took this device's job (more than 1 after a station died or a lease expired). */
  deliveries: number;
  /** The failure, for `failed` and `cancelled`. */
  error?: { code: string; message: string };
}

/** A deployment group was started: its devices were queued. */
export interface GroupStartedEvent extends FleetEventBase {
  type: 'group-started';
  group: number;
  /** Device ids of the group. */
  devices: string[];
  /** Fraction of the group that must succeed before the next group starts. */
  successThreshold: number;
  /** Fraction of failures above which the rollout stops. */
  errorThreshold: number;
}

/** Every device of a group has ended, or the group made the rollout stop. */
export interface GroupFinishedEvent extends FleetEventBase {
  type: 'group-finished';
  group: number;
  /** `passed`: it reached its success threshold; `failed`: it passed its error threshold or missed its success threshold; `cancelled`. */
  outcome: 'passed' | 'failed' | 'cancelled';
  total: number;
  ok: number;
  failed: number;
  cancelled: number;
  successThreshold: number;
  errorThreshold: number;
}

/** The rollout changed state. */
export interface RolloutStateEvent extends FleetEventBase {
  type: 'rollout-state';
  state: RolloutState;
  /** The state before (absent for the first event of a rollout). */
  previous?: RolloutState;
  /** Why, in words: `error threshold 0 passed in group 1 (2/8 failed)`, `paused by operator`… */
  reason?: string;
}

/** Any event of a rollout's stream. */
export type FleetEvent = ProgressEvent | DeviceDoneEvent | GroupStartedEvent | GroupFinishedEvent | RolloutStateEvent;

/** An event before the database gave it its `seq`. */
export type NewFleetEvent = FleetEvent extends infer E ? (E extends FleetEvent ? Omit<E, 'seq'> : never) : never;

/** True for the states after which nothing more happens unless an operator acts (`retry`). */
export function isFinalState(s: RolloutState): boolean {
  return s === 'stopped' || s === 'cancelled' || s === 'finished';
}
