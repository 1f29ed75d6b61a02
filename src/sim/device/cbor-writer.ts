/**
 * A small CBOR writer for the simulated device, shaped like zcbor's encoder as Zephyr and MCUboot
 * use it (PROTOCOL.md §1.1):
 *
 * - maps and arrays are **indefinite-length** by default (`BF … FF`, `9F … FF`), or definite-length
 *   (shortest header) when the device is built "canonical" (`CONFIG_ZCBOR_CANONICAL=y`);
 * - integers are always in their shortest form;
 * - map keys are written exactly in the order the handler added them (an {@link OMap} keeps
 *   insertion order even for keys such as `"0"` that a plain JS object would reorder).
 *
 * Only what SMP servers emit is supported: unsigned/negative integers (number or bigint),
 * text strings, byte strings, booleans, null, arrays and ordered maps with text keys.
 * @module
 */

/** A value the writer can encode. */
export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | Uint8Array
  | TStr
  | CborValue[]
  | OMap;

/** A text string given as raw bytes (zcbor copies request strings byte for byte, valid UTF-8 or not). */
export class TStr {
  constructor(readonly bytes: Uint8Array) {}
}

/** An ordered CBOR map with text keys (insertion order is the wire order). */
export class OMap {
  /** The entries in wire order. */
  readonly entries: Array<[string, CborValue]>;
  constructor(entries: Array<[string, CborValue]> = []) {
    this.entries = entries;
  }
  /** Appends `key: value` and returns the map (chainable). Duplicate keys are not checked. */
  set(key: string, value: CborValue): this {
    this.entries.push([key, value]);
    return this;
  }
  /** The value of the first entry named `key`, if any. */
  get(key: string): CborValue | undefined {
    for (const [k, v] of this.entries) if (k === key) return v;
    return undefined;
  }
  /** Whether an entry named `key` exists. */
  has(key: string): boolean {
    return this.entries.some(([k]) => k === key);
  }
  /** Number of entries. */
  get size(): number {
    return this.entries.length;
  }
}

/** Builds an {@link OMap} from `[key, value]` pairs, skipping pairs whose value is `undefined`. */
export function omap(...pairs: Array<[string, CborValue | undefined]>): OMap {
  const m = new OMap();
  for (const [k, v] of pairs) if (v !== undefined) m.set(k, v);
  return m;
}

/** Encoding options. */
export interface CborWriteOptions {
  /** Emit definite-length maps and arrays (zcbor canonical mode). Default: indefinite. */
  definite?: boolean;
}

/** Encodes `value` as CBOR bytes. Throws a `TypeError` for values SMP servers never emit. */
export function encodeCborValue(value: CborValue, opts: CborWriteOptions = {}): Buffer {
  const w = new ByteSink();
  writeValue(w, value, opts.definite === true);
  return w.toBuffer();
}

class ByteSink {
  private buf = Buffer.allocUnsafe(256);
  private len = 0;
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }
  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

/** Writes a major type with argument `n` in shortest form. */
function writeHead(w: ByteSink, major: number, n: number | bigint): void {
  const mt = major << 5;
  if (typeof n === 'bigint') {
    if (n < 0n) throw new RangeError('CBOR head argument must be non-negative');
    if (n <= BigInt(Number.MAX_SAFE_INTEGER)) return writeHead(w, major, Number(n));
    if (n > 0xffffffffffffffffn) throw new RangeError('CBOR integer does not fit 64 bits');
    w.byte(mt | 27);
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(n);
    w.bytes(b);
    return;
  }
  if (n < 24) {
    w.byte(mt | n);
  } else if (n <= 0xff) {
    w.byte(mt | 24);
    w.byte(n);
  } else if (n <= 0xffff) {
    w.byte(mt | 25);
    w.byte(n >> 8);
    w.byte(n & 0xff);
  } else if (n <= 0xffffffff) {
    w.byte(mt | 26);
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(n);
    w.bytes(b);
  } else {
    w.byte(mt | 27);
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(BigInt(n));
    w.bytes(b);
  }
}

function writeValue(w: ByteSink, v: CborValue, definite: boolean): void {
  if (v === null) {
    w.byte(0xf6);
  } else if (typeof v === 'boolean') {
    w.byte(v ? 0xf5 : 0xf4);
  } else if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new TypeError(`the device CBOR writer encodes integers only, got ${v}`);
    if (v >= 0) writeHead(w, 0, v);
    else writeHead(w, 1, -1 - v);
  } else if (typeof v === 'bigint') {
    if (v >= 0n) writeHead(w, 0, v);
    else writeHead(w, 1, -1n - v);
  } else if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    writeHead(w, 3, b.length);
    w.bytes(b);
  } else if (v instanceof TStr) {
    writeHead(w, 3, v.bytes.length);
    w.bytes(v.bytes);
  } else if (v instanceof Uint8Array) {
    writeHead(w, 2, v.length);
    w.bytes(v);
  } else if (Array.isArray(v)) {
    if (definite) writeHead(w, 4, v.length);
    else w.byte(0x9f);
    for (const item of v) writeValue(w, item, definite);
    if (!definite) w.byte(0xff);
  } else if (v instanceof OMap) {
    if (definite) writeHead(w, 5, v.entries.length);
    else w.byte(0xbf);
    for (const [k, item] of v.entries) {
      writeValue(w, k, definite);
      writeValue(w, item, definite);
    }
    if (!definite) w.byte(0xff);
  } else {
    throw new TypeError(`the device CBOR writer cannot encode ${Object.prototype.toString.call(v)}`);
  }
}
