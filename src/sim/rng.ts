/**
 * A small seeded pseudo-random generator for the simulator's fault injection. Same seed, same
 * sequence, on every platform: the faults of a run can be replayed from its seed.
 *
 * The generator is mulberry32 (32-bit state, period 2^32), which is plenty for choosing which
 * frame to corrupt. Independent streams (one per link direction, one for garbage text) are
 * derived from one seed with {@link Rng.fork} so that traffic in one direction does not shift the
 * choices made in the other.
 * @module
 */

/** A seed: a 32-bit integer, or any string (hashed to one). */
export type Seed = number | string;

/** Hashes a seed and an optional label into a 32-bit state (FNV-1a, then a final avalanche). */
export function hashSeed(seed: Seed, label = ''): number {
  let h = 0x811c9dc5;
  const text = `${typeof seed === 'number' ? (seed >>> 0).toString(16) : seed}\u0000${label}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A seeded generator (mulberry32). Not for cryptography. */
export class Rng {
  #state: number;
  /** The seed this generator was made from (for logs and replay). */
  readonly seed: Seed;

  /** Makes a generator; a number seed is used as is (modulo 2^32), a string is hashed. */
  constructor(seed: Seed) {
    if (typeof seed === 'number' && !Number.isFinite(seed)) throw new RangeError(`seed must be a finite number or a string, got ${seed}`);
    this.seed = seed;
    this.#state = typeof seed === 'number' ? seed >>> 0 : hashSeed(seed);
  }

  /** The next 32-bit unsigned integer. */
  u32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [0, n). `n` must be a positive integer. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`Rng.int(n) needs a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi] (both included). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability `p` (always draws one value, so the sequence does not depend on `p`). */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** `n` random bytes. */
  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** An independent generator derived from this one's seed and `label` (does not advance this one). */
  fork(label: string): Rng {
    return new Rng(hashSeed(this.seed, label));
  }
}

/** Makes a seeded generator; without a seed, picks one at random (read it back from `rng.seed`). */
export function createRng(seed?: Seed): Rng {
  return new Rng(seed ?? Math.floor(Math.random() * 0x100000000));
}
