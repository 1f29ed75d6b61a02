/**
 * Types of the bulk flasher: targets, options, progress events, per-device results, and the
 * messages that travel between the main thread and the pool's workers.
 * @module
 */
import type { ImageInfo } from '../image/index.js';
import type { ClientOptions } from '../client/options.js';
import type { SerializedError } from '../errors.js';
import type { UpdateStep } from '../workflows/firmware-update.js';

/**
 * The step a device is in. `queued`: waiting for a worker; `connect`: opening its connection and
 * asking its buffer size; then the steps of `firmwareUpdate` (`validate` … `done`), or `upload`
 * for a plain upload, or `commands` for a command list.
 */
export type BulkStep = 'queued' | 'connect' | UpdateStep | 'commands';

/** What each device's task does. */
export type BulkJob =
  /** `firmwareUpdate`: upload, mark (test/confirm), reset, reconnect, verify. Default. */
  | 'update'
  /** Only upload the image to the free slot; nothing is marked. */
  | 'upload'
  /** Run a list of client calls, e.g. `{ commands: [{ call: 'os.echo', args: ['hi'] }] }`. */
  | { commands: BulkCommand[] };

/**
 * One client call of a command-list job: `call` names a group namespace and its method
 * (`'os.echo'`, `'image.state'`, `'os.reset'` …), `args` are its arguments (plain data only: they
 * are copied into the worker). The method's resolved value is returned in
 * {@link BulkDeviceResult.commandResults}.
 */
export interface BulkCommand {
  call: string;
  args?: unknown[];
}

/**
 * Per-device settings. Everything here is plain data (it is copied into the worker). Values given
 * for a target override the job-wide ones of {@link BulkOptions}.
 */
export interface BulkDeviceOptions {
  /** `test`: boot the new image once; `confirm`: make it permanent. Default `confirm`. */
  mode?: 'test' | 'confirm';
  /** Requests in flight during the upload: `'auto'` (default) or a fixed number (1 = stop-and-wait). */
  window?: number | 'auto';
  /** Cap of the auto window. */
  maxWindow?: number;
  /** Data bytes per upload chunk (default: the largest that fits the device's buffer). */
  chunkSize?: number;
  /** Deadline of each chunk's answer, ms. */
  timeoutMs?: number;
  /** Timeouts tolerated in a row during the upload. Default 5. */
  maxTimeouts?: number;
  /** Deadline of the first chunk (the slot erase), ms. */
  firstTimeoutMs?: number;
  /** Reset after marking (default true). */
  reset?: boolean;
  /** Check after the reset that the new image runs (default true). */
  verify?: boolean;
  /** Upload even when the running image already has this hash (default false). */
  force?: boolean;
  /** After a test boot, confirm the running new image (default false). */
  confirmAfterTest?: boolean;
  /** How long to wait for the device after the reset, ms. Default 30000. */
  reconnectTimeoutMs?: number;
  /** Image number on multi-image devices. Default 0. */
  image?: number;
  /** Ask the device to refuse an image not newer than the running one. */
  upgrade?: boolean;
  /** Attempts after the first one, for failures before the image was marked. */
  retries?: number;
  /** Ask the device for its buffer size first (`useAutoFrameSize`). Default true. */
  autoFrameSize?: boolean;
  /**
   * Client options (request deadlines, frame size, SMP version, read retries). The bulk flasher
   * resends an idempotent read twice after a timeout (`retries: 2`) unless this says otherwise:
   * on a lossy line one lost state read should not fail a board.
   */
  client?: ClientOptions;
}

/** A device to image: a connection string, or one with a display name and its own options. */
export type BulkTarget =
  | string
  | {
      /** Connection string, e.g. `serial:/dev/ttyACM0?baud=115200` or `udp:192.0.2.1:1337`. */
      connection: string;
      /** Name shown in progress and results. Default: the connection string. */
      name?: string;
      /** Settings that differ for this device. */
      options?: BulkDeviceOptions;
    };

/** The figures of a progress report, as a worker takes them and the main thread passes them on. */
export interface BulkProgressFigures {
  step: BulkStep;
  /** Extra words about the step (e.g. `already installed`). */
  detail?: string;
  /** Bytes of the image the device has confirmed. */
  bytes: number;
  /** Size of the image (0 for a command list). */
  total: number;
  /** Upload rate, bytes/s. */
  rate: number;
  /** Requests currently allowed in flight. */
  window: number;
  rewinds: number;
  timeouts: number;
  /** Attempt number, 1-based. */
  attempt: number;
  /** Wall-clock time of the report (`Date.now()` scale, ms), taken where it was made. */
  at: number;
}

/** A progress report of one device (at most ten a second per device, plus the final one). */
export interface BulkProgressEvent extends BulkProgressFigures {
  /** Position of the device in the targets list. */
  index: number;
  /** Its connection string. */
  target: string;
  name: string;
  /** `queued`, `running`, `retrying` (a failed attempt will be retried), and finally `ok` or `failed`. */
  state: 'queued' | 'running' | 'retrying' | 'ok' | 'failed';
  /** The failure, on the final event of a device that failed. */
  error?: Error;
}

/** What happened to one device. */
export interface BulkDeviceResult {
  index: number;
  /** Its connection string. */
  target: string;
  name: string;
  /** True when the job finished on this device (for an update: verified, or already installed). */
  ok: boolean;
  /** The step reached (`done` on success) or the one the device failed in. */
  step: BulkStep;
  /** Image bytes the device confirmed. */
  bytes: number;
  /**
   * Image bytes that crossed the link in the last upload (resends included): less than `bytes`
   * when the device already held the image (`alreadyInSlot`) or part of it (`resumedAt`).
   */
  sent?: number;
  /** The last upload resumed at this offset (the device held the bytes before it). */
  resumedAt?: number;
  /** The device already held this image in its slot: the upload stopped after the first chunk. */
  alreadyInSlot?: boolean;
  /** Time spent on the device, all attempts, seconds. */
  seconds: number;
  /** Upload throughput over the bytes sent (`sent`), bytes/s (0 when nothing was uploaded). */
  throughput: number;
  /** Attempts made (1 + retries used). */
  attempts: number;
  /** The device already ran this image; nothing was sent. */
  alreadyInstalled: boolean;
  /** After the reset, the device ran the new image (confirmed when the mode was `confirm`). */
  verified: boolean;
  /** Largest upload window used. */
  window: number;
  /** Times the upload went back to the device's offset after a lost or reordered chunk. */
  rewinds: number;
  /** Answers that did not come within their deadline. */
  timeouts: number;
  /** Values resolved by a command-list job, in order. */
  commandResults?: unknown[];
  /** The failure, rebuilt as the library's error class (e.g. `SmpTimeoutError`, `AbortError`). */
  error?: Error;
}

/** Options of {@link bulkFlash}. */
export interface BulkOptions extends Omit<BulkDeviceOptions, 'retries'> {
  /** What each device's task does. Default `'update'`. */
  job?: BulkJob;
  /** Devices worked on at once. Default: min(targets, cores × 4). */
  concurrency?: number;
  /**
   * Worker threads that carry them. Default: one per 16 devices in flight, at most cores − 1 (at least 1). A device's job is I/O-bound
   * (it waits on its link most of the time), so one thread serves several devices, each on its
   * own connection; each thread costs a module graph load (about a second under tsx).
   */
  threads?: number;
  /** Attempts after the first, per device, for failures before the image was marked. Default 1. */
  retries?: number;
  /**
   * Deadline of the whole job, ms. When it passes, every unfinished device is reported with an
   * `SmpTimeoutError` (code `SMP_ERR_TIMEOUT`) and the pool is shut down.
   */
  deadlineMs?: number;
  /** Cancels the whole job: unfinished devices are reported with an `AbortError`. */
  signal?: AbortSignal;
  /** Called with each device's progress. Exceptions it throws are ignored. */
  onProgress?: (event: BulkProgressEvent) => void;
  /** Minimum interval between two progress messages of one device, ms. Default 100 (10/s). */
  progressIntervalMs?: number;
  /** How long unfinished devices get to stop cleanly after a deadline or abort before their worker is stopped, ms. Default 1000. */
  abortGraceMs?: number;
}

/** The outcome of {@link bulkFlash}. */
export interface BulkReport {
  /** Every device succeeded. */
  ok: boolean;
  /** One result per target, in the order of the targets. */
  devices: BulkDeviceResult[];
  /** Wall time of the whole job, seconds. */
  seconds: number;
  /** The job was cut short: `deadline`, `abort`, or undefined. */
  stopped: 'deadline' | 'abort' | undefined;
  /** The image sent (update and upload jobs). */
  image: { size: number; version: string; hash: string } | undefined;
}

/* ------------------------------------------------------------------------------------------ */
/* Between the threads (internal)                                                             */
/* ------------------------------------------------------------------------------------------ */

/** The job as it travels to a worker. */
export type WireJob = 'update' | 'upload' | { commands: BulkCommand[] };

/** One device's task, posted to a worker (the port is transferred, the image buffer is shared). */
export interface WorkerTask {
  index: number;
  connection: string;
  job: WireJob;
  /** The image bytes, shared by every worker (no copy per device). */
  image: SharedArrayBuffer | undefined;
  /** Hex of the image hash the main thread computed, checked against what the worker's update reports. */
  imageHash: string | undefined;
  /** The image as the main thread parsed and validated it (Buffers arrive as Uint8Arrays): spares each worker a parse and two hashing passes. */
  imageInfo: ImageInfo | undefined;
  options: BulkDeviceOptions;
  retries: number;
  progressIntervalMs: number;
  port: import('node:worker_threads').MessagePort;
}

/** Main thread → worker. */
export type ToWorker = { type: 'abort'; reason: 'deadline' | 'abort' };

/** Worker → main thread: a progress snapshot (throttled). */
export interface ProgressMessage extends BulkProgressFigures {
  type: 'progress';
  state: 'running' | 'retrying';
}

/** Worker → main thread (the first message also tells that the task has started). */
export type FromWorker = ProgressMessage;

/** What a worker's task resolves with (it never throws: failures are in `error`, as a plain object). */
export type WorkerOutcome = Omit<BulkDeviceResult, 'index' | 'target' | 'name' | 'error'> & { error?: SerializedError };
