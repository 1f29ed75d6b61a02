/**
 * The requests in flight, by sequence number: 256 slots. A Map here rehashed as it emptied and
 * filled again, which cost an allocation per request on the path of every upload chunk.
 * @module
 */
export class InFlightTable<T> {
  readonly #slots: Array<T | undefined> = new Array<T | undefined>(256).fill(undefined);
  #size = 0;

  /** Number of entries. */
  get size(): number {
    return this.#size;
  }

  get(seq: number): T | undefined {
    return this.#slots[seq];
  }

  has(seq: number): boolean {
    return this.#slots[seq] !== undefined;
  }

  set(seq: number, v: T): void {
    if (this.#slots[seq] === undefined) this.#size++;
    this.#slots[seq] = v;
  }

  delete(seq: number): void {
    if (this.#slots[seq] === undefined) return;
    this.#slots[seq] = undefined;
    this.#size--;
  }

  /** Calls `fn` with every entry, in slot order. */
  forEach(fn: (v: T) => void): void {
    for (let i = 0, seen = 0; i < 256 && seen < this.#size; i++) {
      const v = this.#slots[i];
      if (v !== undefined) {
        seen++;
        fn(v);
      }
    }
  }

  /** Removes every entry and returns them. */
  drain(): T[] {
    const out: T[] = [];
    for (let i = 0; i < 256 && out.length < this.#size; i++) {
      const v = this.#slots[i];
      if (v !== undefined) out.push(v);
    }
    this.#slots.fill(undefined);
    this.#size = 0;
    return out;
  }
}
