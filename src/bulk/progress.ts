/**
 * Progress of the bulk flasher: the throttle a worker puts in front of its MessagePort (at most one
 * message per interval, the latest state wins, nothing is lost at the end of a burst), and a
 * tally of every device's progress for a "total" line on the main thread.
 * @module
 */
import type { BulkProgressEvent } from './types.js';

/**
 * Sends at most one message per `intervalMs`. A message offered too soon is kept (replacing any
 * kept one) and sent when the interval has passed, so the receiver always ends up with the latest
 * state, yet never sees more than `1000 / intervalMs` messages a second.
 */
export class ProgressThrottle<T> {
  readonly #send: (msg: T, at: number) => void;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #last = -Infinity;
  #pending: T | undefined;
  #hasPending = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** Messages sent so far. */
  sent = 0;

  constructor(send: (msg: T, at: number) => void, intervalMs = 100, now: () => number = () => performance.now()) {
    if (typeof send !== 'function') throw new TypeError('send must be a function');
    if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs < 0) {
      throw new RangeError(`intervalMs must be a non-negative number of milliseconds, got ${String(intervalMs)}`);
    }
    this.#send = send;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /** Offers the latest state; it is sent now or at the end of the current interval. */
  push(msg: T): void {
    if (this.#closed) return;
    const wait = this.#last + this.#intervalMs - this.#now();
    if (wait <= 0 && this.#timer === undefined) {
      this.#emit(msg);
      return;
    }
    this.#pending = msg;
    this.#hasPending = true;
    if (this.#timer === undefined) this.#arm(wait);
  }

  /**
   * Sends the kept message once the interval is over. A timer may fire a few ms early (libuv
   * counts from the loop's cached time), so the time is checked again and the timer re-armed.
   */
  #arm(wait: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#hasPending || this.#closed) return;
      const left = this.#last + this.#intervalMs - this.#now();
      if (left > 0) {
        this.#arm(left);
        return;
      }
      const m = this.#pending as T;
      this.#pending = undefined;
      this.#hasPending = false;
      this.#emit(m);
    }, Math.max(1, Math.ceil(wait)));
    this.#timer.unref?.();
  }

  /** Drops a kept message and stops sending. */
  close(): void {
    this.#closed = true;
    this.#pending = undefined;
    this.#hasPending = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #emit(msg: T): void {
    this.#last = this.#now();
    this.sent++;
    // The time the interval is counted from goes with the message, so two are never closer.
    this.#send(msg, this.#last);
  }
}

/** The sum over all devices, for a "total" progress line. */
export interface BulkTotals {
  /** Devices in the job. */
  devices: number;
  /** Devices finished, well or not. */
  finished: number;
  succeeded: number;
  failed: number;
  /** Image bytes confirmed, summed over devices. */
  bytes: number;
  /**
   * Image bytes to send, summed over devices. A device that failed counts only the bytes it took,
   * and one that had the image already counts as fully sent, so the total reaches 100 % at the end.
   */
  total: number;
  /** Sum of the devices' current upload rates, bytes/s (0 once no device is uploading). */
  rate: number;
  /**
   * Bytes uploaded in this run (not those a device already held) over the time from the first
   * upload report to the last, bytes/s: the aggregate upload rate, still meaningful after the
   * last upload has ended (when `rate` is 0).
   */
  averageRate: number;
}

/**
 * Keeps the latest event of every device and sums them. Feed it every {@link BulkProgressEvent}
 * (it ignores events that arrive after a device's final one).
 * @example
 * ```ts
 * const tally = new BulkProgressTally(targets.length);
 * await bulkFlash(targets, image, { onProgress: (e) => { tally.update(e); draw(tally.totals()); } });
 * ```
 */
export class BulkProgressTally {
  readonly #latest: Array<BulkProgressEvent | undefined>;
  /** Per device, its first upload report: the bytes it already held then, and when. */
  readonly #uploadStart: Array<{ bytes: number; at: number } | undefined>;
  /** Time of the latest upload report of any device. */
  #lastAt = 0;

  constructor(devices: number) {
    if (!Number.isInteger(devices) || devices < 0) throw new RangeError(`devices must be a non-negative integer, got ${String(devices)}`);
    this.#latest = new Array<BulkProgressEvent | undefined>(devices).fill(undefined);
    this.#uploadStart = new Array<{ bytes: number; at: number } | undefined>(devices).fill(undefined);
  }

  /** Records an event; returns false when it was ignored (late, or unknown device). */
  update(e: BulkProgressEvent): boolean {
    if (!Number.isInteger(e.index) || e.index < 0 || e.index >= this.#latest.length) return false;
    const prev = this.#latest[e.index];
    if (prev && (prev.state === 'ok' || prev.state === 'failed')) return false;
    this.#latest[e.index] = e;
    if (e.step === 'upload' && e.state === 'running' && e.bytes > 0) {
      this.#uploadStart[e.index] ??= { bytes: e.bytes, at: e.at };
      this.#lastAt = Math.max(this.#lastAt, e.at);
    }
    return true;
  }

  /** The latest event of a device. */
  get(index: number): BulkProgressEvent | undefined {
    return this.#latest[index];
  }

  totals(): BulkTotals {
    const t: BulkTotals = { devices: this.#latest.length, finished: 0, succeeded: 0, failed: 0, bytes: 0, total: 0, rate: 0, averageRate: 0 };
    let uploaded = 0;
    let since = Infinity;
    for (const [i, start] of this.#uploadStart.entries()) {
      const e = this.#latest[i];
      if (!start || !e) continue;
      since = Math.min(since, start.at);
      uploaded += Math.max(0, Math.min(e.bytes, e.total || e.bytes) - start.bytes);
    }
    if (this.#lastAt > since) t.averageRate = uploaded / ((this.#lastAt - since) / 1000);
    const sizes = this.#latest.map((e) => e?.total ?? 0);
    const size = Math.max(0, ...sizes);
    for (const e of this.#latest) {
      const total = e?.total || size;
      if (!e) {
        t.total += total;
        continue;
      }
      if (e.state === 'ok') {
        t.finished++;
        t.succeeded++;
        t.total += total;
        t.bytes += total; // an already-installed device needs nothing more
      } else if (e.state === 'failed') {
        t.finished++;
        t.failed++;
        const got = Math.min(e.bytes, total);
        t.total += got; // nothing more will come from it
        t.bytes += got;
      } else {
        t.total += total;
        t.bytes += Math.min(e.bytes, total);
        if (e.step === 'upload') t.rate += e.rate;
      }
    }
    return t;
  }
}
