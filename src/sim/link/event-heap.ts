/**
 * The event queue of the link's discrete-event simulation: a binary min-heap ordered by
 * (virtual time, insertion order), so events at the same instant run in the order they were made.
 * @module
 */

/** One scheduled event. */
export interface Ev {
  t: number;
  seq: number;
  /** Generation the event belongs to (a reset cancels the device's pending events); null: always runs. */
  gen: number | null;
  run: (t: number) => void;
}

/** A binary min-heap of events ordered by (time, insertion order). */
export class EventHeap {
  readonly #a: Ev[] = [];
  get size(): number {
    return this.#a.length;
  }
  peek(): Ev | undefined {
    return this.#a[0];
  }
  push(e: Ev): void {
    const a = this.#a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): Ev | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
  clear(): void {
    this.#a.length = 0;
  }
}

function before(x: Ev, y: Ev): boolean {
  return x.t < y.t || (x.t === y.t && x.seq < y.seq);
}
