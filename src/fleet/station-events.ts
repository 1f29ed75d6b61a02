/**
 * What a station agent does with its devices, as it happens in this process
 * ({@link StationOptions.onEvent}): a host program, a log or the station page follows it without
 * asking the database. The rollout's own stream ({@link watchRollout}) stays the record; these
 * events are the local view and are not stored.
 * @module
 */
import type { BulkProgressEvent } from '../bulk/index.js';
import type { DeliveryResult } from './deliveries.js';

/** Fields every station event has. */
interface StationEventBase {
  /** The rollout the job belongs to. */
  rollout: string;
  /** The device's id in the registry. */
  device: string;
  /** When it happened, ms since the epoch. */
  at: number;
}

/** The station took a device's job and starts it. */
export interface StationJobEvent extends StationEventBase {
  type: 'job';
  /** Deployment group of the device in its rollout, 0-based. */
  group: number;
  /** How many times a station has taken this device's job, this one included. */
  deliveries: number;
}

/** Progress of a running job, as the bulk flasher reports it. */
export interface StationProgressEvent extends StationEventBase {
  type: 'progress';
  progress: BulkProgressEvent;
}

/** A job ended and its result went to the database (`recorded`), or was dropped as stale (another delivery owns the device now). */
export interface StationResultEvent extends StationEventBase {
  type: 'result';
  result: DeliveryResult;
  recorded: boolean;
}

/** A job was handed back unfinished (the station is stopping, or it could not run it); another delivery will finish it. */
export interface StationHandBackEvent extends StationEventBase {
  type: 'handed-back';
  why: string;
}

/** Any event of {@link StationOptions.onEvent}. */
export type StationEvent = StationJobEvent | StationProgressEvent | StationResultEvent | StationHandBackEvent;
