/**
 * One timer for all the deadlines of a session. A timer per request cost two allocations on the
 * path of every upload chunk (the Timeout, and Node's list for its duration, emptied and made
 * again at each answer); this one stays armed for the earliest deadline, is re-armed only when a
 * sooner one comes or when it fires, and does not keep the process alive while nothing is in
 * flight.
 * @module
 */
export class DeadlineTimer {
  #timer: NodeJS.Timeout | undefined;
  #at = Infinity;
  #refed = false;

  /**
   * @param onDue Called when the timer fires, with the time: ends every request due by then and
   * returns the earliest deadline still pending (Infinity when none).
   */
  constructor(private readonly onDue: (now: number) => number) {}

  /** A request due at `at` (performance.now() scale) is in flight. */
  arm(at: number, now: number): void {
    if (this.#timer && at >= this.#at) {
      if (!this.#refed) {
        this.#timer.ref();
        this.#refed = true;
      }
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#at = at;
    this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(at - now)));
    this.#refed = true;
  }

  /** Nothing is in flight: the timer may still fire (and find nothing) but keeps no process alive. */
  idle(): void {
    if (this.#timer && this.#refed) {
      this.#timer.unref();
      this.#refed = false;
    }
  }

  /** Cancels the timer. */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Infinity;
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#at = Infinity;
    let next = Infinity;
    try {
      next = this.onDue(performance.now());
    } finally {
      if (next < Infinity) this.arm(next, performance.now());
    }
  };
}
