/**
 * A queue of fixed capacity over one array that is never reallocated. The upload engine's
 * arrays, emptied after every answer (`length = 0`, `shift()`), lost their storage and made it
 * again for the next chunk: an allocation per chunk each.
 * @module
 */
export class Fifo<T> {
  readonly #items: Array<T | undefined>;
  #head = 0;
  #size = 0;

  constructor(readonly capacity: number) {
    this.#items = new Array<T | undefined>(capacity).fill(undefined);
  }

  get length(): number {
    return this.#size;
  }

  /** The item `i` places from the front. */
  at(i: number): T {
    return this.#items[(this.#head + i) % this.capacity]!;
  }

  push(v: T): void {
    if (this.#size === this.capacity) throw new RangeError(`queue full (${this.capacity})`);
    this.#items[(this.#head + this.#size++) % this.capacity] = v;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const v = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.capacity;
    this.#size--;
    return v;
  }

  clear(): void {
    while (this.#size > 0) this.shift();
    this.#head = 0;
  }
}
