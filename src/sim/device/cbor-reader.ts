/**
 * Request decoding for the simulated device, with zcbor's strictness (PROTOCOL.md §1.1).
 *
 * The shared codec (`src/codec/cbor.ts`) decodes into plain JS values, which loses what decides
 * whether Zephyr accepts a request: the CBOR major type of each value (a float `0.0` is not the
 * unsigned integer `0`, a byte string is not a text string, the key `1` is not the key `"1"`),
 * duplicate keys, and where the first item ends. So the device parses one CBOR item into a typed
 * tree here and applies `zcbor_map_decode_bulk`'s rules to it:
 *
 * - the payload must start with a map (definite or indefinite); bytes after that first item are
 *   ignored (Zephyr's reader sees the rest of the transport buffer, PROTOCOL.md §1);
 * - every key must be a definite-length text string, otherwise decoding fails;
 * - unknown keys are skipped; a known key seen twice, or a known key whose value has the wrong
 *   type (or is out of range for its C type), fails the decode.
 *
 * A failed decode is what Zephyr handlers turn into `MGMT_ERR_EINVAL` (3).
 * @module
 */

/** One decoded CBOR data item. */
export type CItem =
  | { t: 'uint'; v: bigint }
  | { t: 'nint'; v: bigint }
  | { t: 'bstr'; v: Buffer; indef: boolean }
  | { t: 'tstr'; v: Buffer; indef: boolean }
  | { t: 'array'; items: CItem[]; indef: boolean }
  | { t: 'map'; entries: Array<[CItem, CItem]>; indef: boolean }
  | { t: 'simple'; v: number }
  | { t: 'float'; v: number }
  | { t: 'tag'; tag: bigint; item: CItem };

const MAX_DEPTH = 32;

class Malformed extends Error {}

/**
 * Parses the first CBOR item of `buf` starting at `off`.
 * @returns the item and the offset after it, or `undefined` when the bytes are not well-formed.
 */
export function readItem(buf: Uint8Array, off = 0): { item: CItem; end: number } | undefined {
  try {
    const r = new Reader(buf, off);
    const item = r.item(0);
    return { item, end: r.pos };
  } catch (e) {
    if (e instanceof Malformed) return undefined;
    throw e;
  }
}

class Reader {
  constructor(
    private readonly buf: Uint8Array,
    public pos: number,
  ) {}

  private byte(): number {
    if (this.pos >= this.buf.length) throw new Malformed('truncated');
    return this.buf[this.pos++]!;
  }

  private arg(ai: number): bigint {
    if (ai < 24) return BigInt(ai);
    const n = ai === 24 ? 1 : ai === 25 ? 2 : ai === 26 ? 4 : ai === 27 ? 8 : -1;
    if (n < 0) throw new Malformed('reserved additional information');
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(this.byte());
    return v;
  }

  private take(len: bigint): Buffer {
    if (len > BigInt(this.buf.length - this.pos)) throw new Malformed('truncated string');
    const n = Number(len);
    const out = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, n);
    this.pos += n;
    return out;
  }

  private atBreak(): boolean {
    if (this.pos >= this.buf.length) throw new Malformed('missing break');
    if (this.buf[this.pos] === 0xff) {
      this.pos++;
      return true;
    }
    return false;
  }

  item(depth: number): CItem {
    if (depth > MAX_DEPTH) throw new Malformed('too deep');
    const ib = this.byte();
    const major = ib >> 5;
    const ai = ib & 0x1f;
    switch (major) {
      case 0:
        return { t: 'uint', v: this.arg(ai) };
      case 1:
        return { t: 'nint', v: -1n - this.arg(ai) };
      case 2:
      case 3: {
        let v: Buffer;
        let indef = false;
        if (ai === 31) {
          indef = true;
          const parts: Buffer[] = [];
          while (!this.atBreak()) {
            const cb = this.byte();
            if (cb >> 5 !== major || (cb & 0x1f) === 31) throw new Malformed('bad string chunk');
            parts.push(this.take(this.arg(cb & 0x1f)));
          }
          v = Buffer.concat(parts);
        } else {
          v = this.take(this.arg(ai));
        }
        return major === 2 ? { t: 'bstr', v, indef } : { t: 'tstr', v, indef };
      }
      case 4: {
        const items: CItem[] = [];
        if (ai === 31) {
          while (!this.atBreak()) items.push(this.item(depth + 1));
          return { t: 'array', items, indef: true };
        }
        const n = this.arg(ai);
        if (n > BigInt(this.buf.length - this.pos)) throw new Malformed('array longer than data');
        for (let i = 0n; i < n; i++) items.push(this.item(depth + 1));
        return { t: 'array', items, indef: false };
      }
      case 5: {
        const entries: Array<[CItem, CItem]> = [];
        if (ai === 31) {
          while (!this.atBreak()) entries.push([this.item(depth + 1), this.item(depth + 1)]);
          return { t: 'map', entries, indef: true };
        }
        const n = this.arg(ai);
        if (n * 2n > BigInt(this.buf.length - this.pos)) throw new Malformed('map longer than data');
        for (let i = 0n; i < n; i++) entries.push([this.item(depth + 1), this.item(depth + 1)]);
        return { t: 'map', entries, indef: false };
      }
      case 6:
        return { t: 'tag', tag: this.arg(ai), item: this.item(depth + 1) };
      default: {
        if (ai < 24) return { t: 'simple', v: ai };
        if (ai === 24) return { t: 'simple', v: this.byte() };
        if (ai === 25) {
          const b = this.take(2n);
          return { t: 'float', v: halfToNumber(b.readUInt16BE(0)) };
        }
        if (ai === 26) return { t: 'float', v: this.take(4n).readFloatBE(0) };
        if (ai === 27) return { t: 'float', v: this.take(8n).readDoubleBE(0) };
        throw new Malformed('unexpected break or reserved simple value');
      }
    }
  }
}

function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Marker a value decoder returns when the item has the wrong type or range. */
export const BAD = Symbol('bad value');

/** Converts one map value the way a zcbor typed decoder would, or returns {@link BAD}. */
export type ValueDecoder<T> = (item: CItem) => T | typeof BAD;

/** `zcbor_uint32_decode` (also `zcbor_size_decode` on a 32-bit device). */
export const u32: ValueDecoder<number> = (i) => (i.t === 'uint' && i.v <= 0xffffffffn ? Number(i.v) : BAD);
/** `zcbor_uint64_decode`. Values above 2^53 come back as a lossy number; devices never see those. */
export const u64: ValueDecoder<number> = (i) => (i.t === 'uint' ? Number(i.v) : BAD);
/** `zcbor_tstr_decode`: a definite-length text string, as its raw bytes. */
export const tstr: ValueDecoder<Buffer> = (i) => (i.t === 'tstr' && !i.indef ? i.v : BAD);
/** `zcbor_bstr_decode`: a definite-length byte string. */
export const bstr: ValueDecoder<Buffer> = (i) => (i.t === 'bstr' && !i.indef ? i.v : BAD);
/** `zcbor_bool_decode`: the simple values false (20) and true (21) only. */
export const bool: ValueDecoder<boolean> = (i) => (i.t === 'simple' && (i.v === 20 || i.v === 21) ? i.v === 21 : BAD);

/** A `zcbor_map_decode_bulk` key table: key name → value decoder. */
export type BulkSpec = Record<string, ValueDecoder<unknown>>;

/** The decoded values of a {@link BulkSpec}; keys absent from the request are absent here. */
export type BulkResult<S extends BulkSpec> = { [K in keyof S]?: Exclude<ReturnType<S[K]>, typeof BAD> };

/**
 * Applies `zcbor_map_decode_bulk` to the first CBOR item of `payload`.
 * @returns the decoded values, or `undefined` when Zephyr's decode would fail (→ rc 3).
 */
export function decodeBulk<S extends BulkSpec>(payload: Uint8Array, spec: S): BulkResult<S> | undefined {
  const r = readItem(payload, 0);
  if (!r || r.item.t !== 'map') return undefined;
  return bulkFromMap(r.item, spec);
}

/** {@link decodeBulk} on an already parsed map item. */
export function bulkFromMap<S extends BulkSpec>(map: Extract<CItem, { t: 'map' }>, spec: S): BulkResult<S> | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of map.entries) {
    // A key that is not a definite text string ends zcbor's loop before the map's end → failure.
    if (k.t !== 'tstr' || k.indef) return undefined;
    const name = k.v.toString('latin1');
    const dec = Object.prototype.hasOwnProperty.call(spec, name) ? spec[name] : undefined;
    if (!dec) continue;
    if (Object.prototype.hasOwnProperty.call(out, name)) return undefined; // -EADDRINUSE
    const val = dec(v);
    if (val === BAD) return undefined; // -ENOMSG
    out[name] = val;
  }
  return out as BulkResult<S>;
}

/** Parses the first item of `payload` if it is a map (for handlers that walk the map by hand). */
export function firstMap(payload: Uint8Array): Extract<CItem, { t: 'map' }> | undefined {
  const r = readItem(payload, 0);
  return r && r.item.t === 'map' ? r.item : undefined;
}
