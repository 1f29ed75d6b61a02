/**
 * The clock of the link's discrete-event simulation. Events and input bytes run in virtual-time
 * order; one wall-clock timer (setImmediate or setTimeout) wakes the pump when the next thing is
 * due, so timer jitter delays output but never changes what the device does.
 * @module
 */
import { EventHeap } from './event-heap.js';

/** What the scheduler drives besides its own events. */
export interface SchedulerSource {
  /** Current reboot generation (events of an older one are skipped). */
  gen(): number;
  /** When the next input byte reaches the device. */
  nextInput(): number;
  /** Feeds that input byte to the device at its arrival time. */
  takeInput(t: number): void;
  /** When the next output reaches the host. */
  nextOutput(): number;
  /** Releases output due by `now`. */
  flush(now: number): void;
}

/** One link's event queue and wake-up timer. */
export class Scheduler {
  readonly #heap = new EventHeap();
  #seq = 0;
  #closed = false;
  #timer: { handle: NodeJS.Timeout | NodeJS.Immediate; at: number; immediate: boolean } | undefined;
  #unref = false;

  constructor(
    private readonly clock: () => number,
    private readonly source: SchedulerSource,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  /** True once {@link unref} was called (new timers are made unref'd too). */
  get unrefd(): boolean {
    return this.#unref;
  }

  /** Runs `run` at virtual time `t` if the generation is still `gen` (null: always). */
  schedule(t: number, gen: number | null, run: (t: number) => void): void {
    this.#heap.push({ t, seq: this.#seq++, gen, run });
  }

  #clearTimer(): void {
    const tm = this.#timer;
    if (!tm) return;
    if (tm.immediate) clearImmediate(tm.handle as NodeJS.Immediate);
    else clearTimeout(tm.handle as NodeJS.Timeout);
    this.#timer = undefined;
  }

  /** Sets the one timer for the next thing due (an event, an input byte, an output byte). */
  arm(): void {
    if (this.#closed) return;
    const next = Math.min(this.source.nextInput(), this.#heap.peek()?.t ?? Infinity, this.source.nextOutput());
    if (next === Infinity) {
      this.#clearTimer();
      return;
    }
    if (this.#timer && this.#timer.at <= next) return;
    this.#clearTimer();
    const delay = next - this.clock();
    if (delay <= 0) {
      const handle = setImmediate(this.#pump);
      if (this.#unref) handle.unref();
      this.#timer = { handle, at: next, immediate: true };
    } else {
      // Node's timers have 1 ms resolution and may fire early by a fraction: round up.
      const handle = setTimeout(this.#pump, Math.ceil(delay));
      if (this.#unref) handle.unref();
      this.#timer = { handle, at: next, immediate: false };
    }
  }

  readonly #pump = (): void => {
    this.#timer = undefined;
    if (this.#closed) return;
    const now = this.clock();
    const src = this.source;
    for (;;) {
      const ev = this.#heap.peek();
      const tEv = ev ? ev.t : Infinity;
      const tIn = src.nextInput();
      if (tEv <= tIn) {
        if (tEv > now) break;
        this.#heap.pop();
        if (ev!.gen === null || ev!.gen === src.gen()) ev!.run(tEv);
        if (this.#closed) return;
        continue;
      }
      if (tIn > now) break;
      src.takeInput(tIn);
    }
    src.flush(now);
    this.arm();
  };

  /** Lets the process exit while timers are pending. */
  unref(): void {
    this.#unref = true;
    const h = this.#timer?.handle;
    if (h && 'unref' in h) h.unref();
  }

  /** Stops: no more events or timers. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimer();
    this.#heap.clear();
  }
}
