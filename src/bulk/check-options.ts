/**
 * The bulk flasher's argument checks, all run on the main thread before any worker starts: the
 * job's options, the job kind, the targets with their per-device options, the image source.
 * @module
 */
import type { MessagePort } from 'node:worker_threads';
import { MAX_WINDOW } from '../transfer/window-size.js';
import { parseConnection } from '../connection.js';
import { readImageFile } from '../image/index.js';
import { argBool, argInt, argNumber, argOptions, describe } from '../groups/util.js';
import type { BulkCommand, BulkDeviceOptions, BulkDeviceResult, BulkOptions, BulkTarget, ProgressMessage } from './types.js';

/** Keys of {@link BulkDeviceOptions} (what a target may override). */
export const DEVICE_KEYS = [
  'mode',
  'window',
  'maxWindow',
  'chunkSize',
  'timeoutMs',
  'maxTimeouts',
  'firstTimeoutMs',
  'reset',
  'verify',
  'force',
  'confirmAfterTest',
  'reconnectTimeoutMs',
  'image',
  'upgrade',
  'retries',
  'autoFrameSize',
  'client',
] as const;
/** Resends of an idempotent read after a timeout, unless the client options say otherwise. */
export const DEFAULT_READ_RETRIES = 2;

/** Keys only the whole job has. */
export const JOB_KEYS = ['job', 'concurrency', 'threads', 'deadlineMs', 'signal', 'onProgress', 'progressIntervalMs', 'abortGraceMs'] as const;

/** One device as the main thread tracks it. */
export interface Device {
  index: number;
  target: string;
  name: string;
  options: BulkDeviceOptions;
  retries: number;
  port: MessagePort | undefined;
  /** Aborting it cancels the piscina task (dequeues it, or stops its worker). */
  hard: AbortController;
  /** A message arrived from the worker: the task runs. */
  started: boolean;
  startedAt: number;
  taskDone: boolean;
  last: ProgressMessage | undefined;
  result: BulkDeviceResult | undefined;
}

export async function loadImage(image: Uint8Array | string | undefined): Promise<Uint8Array> {
  if (image instanceof Uint8Array) return image;
  if (typeof image === 'string') return readImageFile(image);
  throw new TypeError(`image must be the image bytes (Uint8Array) or a file path, got ${describe(image)}`);
}

export function checkOptions(options: BulkOptions): BulkOptions {
  argOptions('options', options);
  for (const k of Object.keys(options)) {
    if (!(DEVICE_KEYS as readonly string[]).includes(k) && !(JOB_KEYS as readonly string[]).includes(k)) {
      throw new RangeError(`options.${k} is not a bulkFlash option; use one of ${[...JOB_KEYS, ...DEVICE_KEYS].join(', ')}`);
    }
  }
  const o = options;
  if (o.concurrency !== undefined) argInt('options.concurrency', o.concurrency, 1, 1024);
  if (o.threads !== undefined) argInt('options.threads', o.threads, 1, 256);
  if (o.deadlineMs !== undefined) argNumber('options.deadlineMs', o.deadlineMs, 1, 2 ** 31 - 1);
  if (o.progressIntervalMs !== undefined) argNumber('options.progressIntervalMs', o.progressIntervalMs, 0, 60_000);
  if (o.abortGraceMs !== undefined) argNumber('options.abortGraceMs', o.abortGraceMs, 0, 60_000);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
    throw new TypeError(`options.onProgress must be a function, got ${describe(o.onProgress)}`);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new TypeError(`options.signal must be an AbortSignal, got ${describe(o.signal)}`);
  }
  return o;
}

export function checkJob(job: BulkOptions['job']): 'update' | 'upload' | 'commands' {
  if (job === undefined || job === 'update') return 'update';
  if (job === 'upload') return 'upload';
  if (job !== null && typeof job === 'object' && Array.isArray((job as { commands?: unknown }).commands)) {
    const cmds = (job as { commands: unknown[] }).commands;
    if (cmds.length === 0) throw new RangeError('options.job.commands is empty; give at least one { call, args }');
    cmds.forEach((c, i) => {
      const call = (c as BulkCommand | null)?.call;
      if (typeof call !== 'string' || !/^[A-Za-z_$][\w$]*\.[A-Za-z_$][\w$]*$/.test(call)) {
        throw new TypeError(`options.job.commands[${i}].call must name a group and method like 'os.echo', got ${describe(call)}`);
      }
      const args = (c as BulkCommand).args;
      if (args !== undefined && !Array.isArray(args)) throw new TypeError(`options.job.commands[${i}].args must be an array`);
      checkCloneable(`options.job.commands[${i}].args`, args);
    });
    return 'commands';
  }
  throw new TypeError(`options.job must be 'update', 'upload' or { commands: [...] }, got ${describe(job)}`);
}

export function checkTargets(targets: readonly BulkTarget[], opts: BulkOptions): Device[] {
  if (!Array.isArray(targets) || targets.length === 0) {
    throw new TypeError(`targets must be a non-empty array of connection strings or { connection, name?, options? }, got ${describe(targets)}`);
  }
  const base: BulkDeviceOptions = {};
  for (const k of DEVICE_KEYS) if (opts[k as keyof BulkOptions] !== undefined) (base as Record<string, unknown>)[k] = opts[k as keyof BulkOptions];
  const names = new Set<string>();
  return targets.map((t, index) => {
    const where = `targets[${index}]`;
    let connection: string;
    let name: string | undefined;
    let own: BulkDeviceOptions = {};
    if (typeof t === 'string') connection = t;
    else if (t !== null && typeof t === 'object' && typeof t.connection === 'string') {
      connection = t.connection;
      name = t.name;
      if (name !== undefined && (typeof name !== 'string' || name === '')) throw new TypeError(`${where}.name must be a non-empty string`);
      if (t.options !== undefined) {
        if (t.options === null || typeof t.options !== 'object') throw new TypeError(`${where}.options must be an object`);
        own = t.options;
      }
    } else {
      throw new TypeError(`${where} must be a connection string or { connection, name?, options? }, got ${describe(t)}`);
    }
    try {
      parseConnection(connection);
    } catch (e) {
      const msg = `${where}: ${(e as Error).message}`;
      throw e instanceof RangeError ? new RangeError(msg) : new TypeError(msg);
    }
    const merged: BulkDeviceOptions = { ...base, ...own };
    merged.client = { retries: DEFAULT_READ_RETRIES, ...base.client, ...own.client };
    checkDeviceOptions(`${where}.options`, own);
    checkDeviceOptions('options', merged);
    const label = name ?? connection;
    if (names.has(label)) throw new RangeError(`${where}: the name ${label} is used twice; give each device its own name`);
    names.add(label);
    return {
      index,
      target: connection,
      name: label,
      options: withoutRetries(merged),
      retries: merged.retries ?? 1,
      port: undefined,
      hard: new AbortController(),
      started: false,
      startedAt: 0,
      taskDone: false,
      last: undefined,
      result: undefined,
    };
  });
}

export function withoutRetries(o: BulkDeviceOptions): BulkDeviceOptions {
  const { retries: _r, ...rest } = o;
  return rest;
}

export function checkDeviceOptions(where: string, o: BulkDeviceOptions): void {
  for (const k of Object.keys(o)) {
    if (!(DEVICE_KEYS as readonly string[]).includes(k)) throw new RangeError(`${where}.${k} is not a per-device option; use one of ${DEVICE_KEYS.join(', ')}`);
  }
  if (o.mode !== undefined && o.mode !== 'test' && o.mode !== 'confirm') throw new RangeError(`${where}.mode must be 'test' or 'confirm', got ${describe(o.mode)}`);
  if (o.window !== undefined && o.window !== 'auto') argInt(`${where}.window`, o.window, 1, MAX_WINDOW);
  if (o.maxWindow !== undefined) argInt(`${where}.maxWindow`, o.maxWindow, 1, MAX_WINDOW);
  if (o.chunkSize !== undefined) argInt(`${where}.chunkSize`, o.chunkSize, 1, 65535);
  if (o.retries !== undefined) argInt(`${where}.retries`, o.retries, 0, 100);
  if (o.image !== undefined) argInt(`${where}.image`, o.image, 0, 255);
  if (o.maxTimeouts !== undefined) argInt(`${where}.maxTimeouts`, o.maxTimeouts, 0, 1000);
  for (const k of ['timeoutMs', 'firstTimeoutMs', 'reconnectTimeoutMs'] as const) {
    if (o[k] !== undefined) argNumber(`${where}.${k}`, o[k], 1, 2 ** 31 - 1);
  }
  for (const k of ['reset', 'verify', 'force', 'confirmAfterTest', 'upgrade', 'autoFrameSize'] as const) {
    if (o[k] !== undefined) argBool(`${where}.${k}`, o[k]);
  }
  if (o.client !== undefined && (o.client === null || typeof o.client !== 'object')) throw new TypeError(`${where}.client must be an object of client options`);
  checkCloneable(where, o);
}

export function checkCloneable(where: string, v: unknown): void {
  try {
    structuredClone(v);
  } catch {
    throw new TypeError(`${where} must hold plain data only (it is copied into a worker thread); remove functions and class instances`);
  }
}
