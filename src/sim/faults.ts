/**
 * Injected link faults for the simulated device: per-direction probabilities applied to wire
 * units (a console line, a COBS frame, a raw packet, a datagram), plus scheduled device events
 * (reset after N received bytes or at a time, silence, slow answers). Every decision comes from a
 * seeded {@link Rng}, so a run's faults are reproduced by its seed, and every injected fault is
 * counted and logged.
 * @module
 */
import { Rng, hashSeed, type Seed } from './rng.js';

/** Fault probabilities (0..1) for one direction; each is decided independently per wire unit. */
export interface DirectionFaults {
  /** Lose the whole unit (a console line, a COBS frame, a raw packet, a datagram). */
  drop?: number;
  /** Flip one random bit of the unit's wire bytes. */
  bitFlip?: number;
  /** Deliver the unit twice. */
  duplicate?: number;
  /** Cut the unit's wire bytes short (a console line loses its LF and runs into the next one). */
  truncate?: number;
  /** Insert a random log line or binary junk before the unit. */
  garbage?: number;
}

/** All faults of a link. */
export interface FaultOptions {
  /** Faults on what the host sends to the device. */
  toDevice?: DirectionFaults;
  /** Faults on what the device sends to the host. */
  toHost?: DirectionFaults;
  /**
   * Reset the device once it has received this many bytes in total (one threshold or several).
   * The byte that crosses the threshold is lost; the device reboots and is silent for `bootMs`.
   */
  resetAfterBytes?: number | number[];
  /** Reset the device this many ms after the link starts (one time or several). */
  resetAt?: number | number[];
  /** The device receives and works but never answers. */
  silent?: boolean;
  /** The device answers at this many bytes per second, one byte per write (a stalled-looking link). */
  slowBytesPerSec?: number;
}

/** The kinds of fault the injector applies to wire units. */
export type UnitFaultKind = 'drop' | 'bitFlip' | 'duplicate' | 'truncate' | 'garbage';

/** A link direction: host → device, or device → host. */
export type Direction = 'toDevice' | 'toHost';

/** How wire units look, for garbage that fits the encoding. */
export type UnitStyle = 'line' | 'cobs' | 'raw' | 'packet' | 'datagram';

/** Counters of injected faults in one direction. */
export type FaultCounts = Record<UnitFaultKind, number>;

/** One injected fault or scheduled event. */
export interface FaultLogEntry {
  /** Where it happened: a direction, or `device` for resets. */
  dir: Direction | 'device';
  /** Index of the wire unit in its direction (0-based), or the reset number for `device`. */
  unit: number;
  /** What was done. */
  kind: UnitFaultKind | 'reset';
  /** Details: which bit was flipped, how much was kept, why the device reset. */
  detail?: string;
  /** Milliseconds since the link started (wall clock; not part of the reproducible sequence). */
  atMs: number;
}

/** Counters of everything the injector did. */
export interface FaultStats {
  toDevice: FaultCounts;
  toHost: FaultCounts;
  /** Resets caused by `resetAfterBytes` / `resetAt` (not by an `os reset` command). */
  resets: number;
}

const KINDS: readonly UnitFaultKind[] = ['drop', 'bitFlip', 'duplicate', 'truncate', 'garbage'];

function zeroCounts(): FaultCounts {
  return { drop: 0, bitFlip: 0, duplicate: 0, truncate: 0, garbage: 0 };
}

function checkProb(where: string, v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
    throw new RangeError(`faults.${where} must be a probability between 0 and 1, got ${String(v)}`);
  }
  return v;
}

function checkTimes(where: string, v: unknown, integer: boolean): number[] {
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const x of list) {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0 || (integer && !Number.isInteger(x))) {
      throw new RangeError(`faults.${where} must be ${integer ? 'a non-negative integer' : 'a non-negative number'} or a list of them, got ${String(x)}`);
    }
  }
  return [...(list as number[])].sort((a, b) => a - b);
}

/** Validated fault settings with every default filled in. */
export interface ResolvedFaults {
  toDevice: Required<DirectionFaults>;
  toHost: Required<DirectionFaults>;
  resetAfterBytes: number[];
  resetAt: number[];
  silent: boolean;
  slowBytesPerSec: number | undefined;
}

/** Checks fault options and fills in defaults; throws a `RangeError` that names the bad field. */
export function resolveFaults(opts: FaultOptions = {}): ResolvedFaults {
  if (opts === null || typeof opts !== 'object') throw new TypeError('faults must be an object');
  const dir = (name: Direction): Required<DirectionFaults> => {
    const d = opts[name] ?? {};
    if (typeof d !== 'object' || d === null) throw new TypeError(`faults.${name} must be an object`);
    for (const k of Object.keys(d)) {
      if (!(KINDS as readonly string[]).includes(k)) throw new RangeError(`faults.${name}.${k} is not a fault; use one of ${KINDS.join(', ')}`);
    }
    return {
      drop: checkProb(`${name}.drop`, d.drop),
      bitFlip: checkProb(`${name}.bitFlip`, d.bitFlip),
      duplicate: checkProb(`${name}.duplicate`, d.duplicate),
      truncate: checkProb(`${name}.truncate`, d.truncate),
      garbage: checkProb(`${name}.garbage`, d.garbage),
    };
  };
  const slow = opts.slowBytesPerSec;
  if (slow !== undefined && (typeof slow !== 'number' || !(slow > 0) || !Number.isFinite(slow))) {
    throw new RangeError(`faults.slowBytesPerSec must be a positive number, got ${String(slow)}`);
  }
  return {
    toDevice: dir('toDevice'),
    toHost: dir('toHost'),
    resetAfterBytes: checkTimes('resetAfterBytes', opts.resetAfterBytes, true),
    resetAt: checkTimes('resetAt', opts.resetAt, false),
    silent: opts.silent === true,
    slowBytesPerSec: slow,
  };
}

const LOG_MODULES = ['main', 'os_mgmt', 'img_mgmt', 'flash', 'net_buf', 'usb_cdc', 'bt_hci', 'fs_mgmt'];
const LOG_LEVELS = ['inf', 'dbg', 'wrn', 'err'];
const LOG_TEXT = [
  'heartbeat',
  'sensor sample ready',
  'erasing sector',
  'write done',
  'queue depth',
  'rx frame',
  'NO BUFFER',
  'Frame too long',
  'tick',
  'battery mV',
];

/**
 * Random junk that looks like what really appears on a device's UART: a Zephyr log line, or a
 * line of binary noise. Shaped for the unit style: lines end with LF, COBS junk ends with 0x00,
 * raw and packet junk are bare bytes.
 */
export function makeGarbage(rng: Rng, style: UnitStyle): Buffer {
  if (style === 'packet' || style === 'datagram') return rng.bytes(rng.range(1, 24));
  const text = rng.chance(0.7);
  let body: Buffer;
  if (text) {
    const ms = rng.int(3_600_000);
    const stamp = `[${String(Math.floor(ms / 3_600_000)).padStart(2, '0')}:${String(Math.floor(ms / 60_000) % 60).padStart(2, '0')}:${String(Math.floor(ms / 1000) % 60).padStart(2, '0')}.${String(ms % 1000).padStart(3, '0')},${String(rng.int(1000)).padStart(3, '0')}]`;
    body = Buffer.from(`${stamp} <${rng.pick(LOG_LEVELS)}> ${rng.pick(LOG_MODULES)}: ${rng.pick(LOG_TEXT)} ${rng.int(100000)}\r`, 'latin1');
  } else {
    body = rng.bytes(rng.range(1, 40));
  }
  if (style === 'line') {
    // Binary junk must stay one line: no LF inside.
    for (let i = 0; i < body.length; i++) if (body[i] === 0x0a) body[i] = 0x0b;
    return Buffer.concat([body, Buffer.of(0x0a)]);
  }
  if (style === 'cobs') {
    for (let i = 0; i < body.length; i++) if (body[i] === 0) body[i] = 0xff;
    return Buffer.concat([body, Buffer.of(0)]);
  }
  return body;
}

/**
 * Applies per-unit faults and keeps the counters and the log. One injector serves one link;
 * each direction and the garbage text draw from their own stream derived from the seed.
 */
export class FaultInjector {
  /** The validated settings. */
  readonly config: ResolvedFaults;
  /** The seed (given or chosen), for replay. */
  readonly seed: Seed;
  readonly #rng: Record<Direction, Rng>;
  readonly #junk: Record<Direction, Rng>;
  readonly #units: Record<Direction, number> = { toDevice: 0, toHost: 0 };
  readonly #counts: Record<Direction, FaultCounts> = { toDevice: zeroCounts(), toHost: zeroCounts() };
  readonly #log: FaultLogEntry[] = [];
  #resets = 0;
  readonly #elapsed: () => number;
  readonly #maxLog: number;

  /**
   * @param opts fault settings (validated here)
   * @param seed seed of the fault streams
   * @param elapsed milliseconds since the link started, for log entries
   * @param maxLog log entries kept (older ones are discarded; counters are never capped)
   */
  constructor(opts: FaultOptions | undefined, seed: Seed, elapsed: () => number = () => 0, maxLog = 10_000) {
    this.config = resolveFaults(opts);
    this.seed = seed;
    this.#rng = { toDevice: new Rng(hashSeed(seed, 'toDevice')), toHost: new Rng(hashSeed(seed, 'toHost')) };
    this.#junk = { toDevice: new Rng(hashSeed(seed, 'junk:toDevice')), toHost: new Rng(hashSeed(seed, 'junk:toHost')) };
    this.#elapsed = elapsed;
    this.#maxLog = maxLog;
  }

  /** True when any unit fault has a non-zero probability in `dir`. */
  active(dir: Direction): boolean {
    const d = this.config[dir];
    return d.drop > 0 || d.bitFlip > 0 || d.duplicate > 0 || d.truncate > 0 || d.garbage > 0;
  }

  /**
   * Passes one wire unit through the faults of `dir`; returns the pieces to put on the wire in
   * order (none when dropped, two when duplicated, junk first when garbage is inserted).
   * The unit buffer is not modified. A `datagram` (UDP) that was cut or bit-flipped is dropped
   * instead: the receiver's UDP checksum and length check discard it, so no damaged datagram
   * ever reaches an application on a real network (junk from another sender still can).
   */
  apply(dir: Direction, unit: Buffer, style: UnitStyle): Buffer[] {
    const index = this.#units[dir]++;
    if (!this.active(dir)) return [unit];
    const p = this.config[dir];
    const rng = this.#rng[dir];
    // Always draw the same number of values per unit, so changing one probability does not
    // shift the decisions made for the others.
    const garbage = rng.chance(p.garbage);
    const drop = rng.chance(p.drop);
    const truncate = rng.chance(p.truncate);
    const flip = rng.chance(p.bitFlip);
    const duplicate = rng.chance(p.duplicate);
    const cutDraw = rng.next();
    const flipDraw = rng.u32();
    const out: Buffer[] = [];
    if (garbage) {
      const junk = makeGarbage(this.#junk[dir], style);
      out.push(junk);
      this.#note(dir, index, 'garbage', `${junk.length} bytes`);
    }
    if (drop) {
      this.#note(dir, index, 'drop', `${unit.length} bytes`);
      return out;
    }
    let u = unit;
    if (truncate && u.length > 1) {
      const keep = 1 + Math.floor(cutDraw * (u.length - 1));
      u = u.subarray(0, keep);
      this.#note(dir, index, 'truncate', `kept ${keep} of ${unit.length}${style === 'datagram' ? ', dropped by the UDP length check' : ''}`);
    }
    if (flip && u.length > 0) {
      const bit = flipDraw % (u.length * 8);
      u = Buffer.from(u);
      u[bit >> 3]! ^= 1 << (bit & 7);
      this.#note(dir, index, 'bitFlip', `byte ${bit >> 3} bit ${bit & 7}${style === 'datagram' ? ', dropped by the UDP checksum' : ''}`);
    }
    if (style === 'datagram' && u !== unit) return out;
    out.push(u);
    if (duplicate) {
      out.push(u);
      this.#note(dir, index, 'duplicate');
    }
    return out;
  }

  /** Records a scheduled reset (counted in `resets`). */
  noteReset(reason: string): void {
    this.#resets++;
    this.#push({ dir: 'device', unit: this.#resets - 1, kind: 'reset', detail: reason, atMs: this.#elapsed() });
  }

  #note(dir: Direction, unit: number, kind: UnitFaultKind, detail?: string): void {
    this.#counts[dir][kind]++;
    this.#push(detail === undefined ? { dir, unit, kind, atMs: this.#elapsed() } : { dir, unit, kind, detail, atMs: this.#elapsed() });
  }

  #push(e: FaultLogEntry): void {
    this.#log.push(e);
    if (this.#log.length > this.#maxLog) this.#log.splice(0, this.#log.length - this.#maxLog);
  }

  /** Counters of injected faults. */
  stats(): FaultStats {
    return { toDevice: { ...this.#counts.toDevice }, toHost: { ...this.#counts.toHost }, resets: this.#resets };
  }

  /** The fault log (a copy), oldest first. */
  log(): FaultLogEntry[] {
    return this.#log.map((e) => ({ ...e }));
  }
}
