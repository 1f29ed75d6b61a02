/**
 * Map entries straight from the CBOR bytes, in wire order and with repeated keys kept.
 *
 * {@link decodeCbor} hands maps back as plain objects (cbor-x `mapsAsObjects`), and even cbor-x's
 * `Map` output keeps one value per key. Some answers legitimately repeat a key: Zephyr's
 * `os taskstat` keys threads by name, priority or index, none of which is unique. This walks the
 * bytes to find where each entry starts and ends and decodes keys and values one by one.
 * @module
 */
import { decodeCbor, MAX_CBOR_DEPTH } from './cbor.js';
import { SmpFrameError } from '../errors.js';

/** One map entry: the decoded key and value, as {@link decodeCbor} would give them. */
export type CborEntry = [key: unknown, value: unknown];

/**
 * The entries of the map reached from the top-level map of `bytes` by following `path` (text
 * keys; when a key repeats along the path, its last value is used, as {@link decodeCbor} does).
 * @returns the entries in wire order, or `undefined` when `path` does not lead to a map.
 * @throws SmpFrameError when the bytes are not well-formed CBOR.
 * @example
 * ```ts
 * cborMapEntries(payload, ['tasks']); // [['main', {...}], ['main', {...}], ...]
 * ```
 */
export function cborMapEntries(bytes: Uint8Array, path: readonly string[] = []): CborEntry[] | undefined {
  let slice = bytes;
  for (const key of path) {
    const ranges = mapRanges(slice, 0);
    if (!ranges) return undefined;
    let next: Uint8Array | undefined;
    for (const [k0, k1, v1] of ranges) {
      if (decodeCbor(slice.subarray(k0, k1)) === key) next = slice.subarray(k1, v1);
    }
    if (!next) return undefined;
    slice = next;
  }
  const ranges = mapRanges(slice, 0);
  if (!ranges) return undefined;
  return ranges.map(([k0, k1, v1]) => [decodeCbor(slice.subarray(k0, k1)), decodeCbor(slice.subarray(k1, v1))]);
}

/** `[keyStart, keyEnd = valueStart, valueEnd]` of each entry of the map at `off`, or undefined if no map is there. */
function mapRanges(b: Uint8Array, off: number): Array<[number, number, number]> | undefined {
  if (off >= b.length || b[off]! >> 5 !== 5) return undefined;
  const h = head(b, off);
  const out: Array<[number, number, number]> = [];
  let p = h.end;
  for (let i = 0; h.count === undefined || i < h.count; i++) {
    if (h.count === undefined && at(b, p) === 0xff) break;
    const k1 = skip(b, p, 1);
    const v1 = skip(b, k1, 1);
    out.push([p, k1, v1]);
    p = v1;
  }
  return out;
}

/** The initial byte's argument: a count/length (undefined for indefinite) and where the content starts. */
function head(b: Uint8Array, off: number): { count: number | undefined; end: number } {
  const ai = at(b, off) & 0x1f;
  if (ai < 24) return { count: ai, end: off + 1 };
  if (ai === 31) return { count: undefined, end: off + 1 };
  if (ai > 27) throw new SmpFrameError(`malformed CBOR: reserved additional info ${ai} at byte ${off}`);
  const n = 1 << (ai - 24);
  if (off + 1 + n > b.length) throw truncated(off);
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + b[off + 1 + i]!;
  return { count: v, end: off + 1 + n };
}

/** The offset after the data item at `off`. */
function skip(b: Uint8Array, off: number, depth: number): number {
  if (depth > MAX_CBOR_DEPTH) throw new SmpFrameError(`CBOR nesting deeper than ${MAX_CBOR_DEPTH}`);
  const major = at(b, off) >> 5;
  const h = head(b, off);
  switch (major) {
    case 0:
    case 1:
      if (h.count === undefined) throw new SmpFrameError(`malformed CBOR: indefinite integer at byte ${off}`);
      return h.end;
    case 2:
    case 3: {
      if (h.count !== undefined) return within(b, h.end + h.count, off);
      let p = h.end; // indefinite string: definite chunks up to a break
      while (at(b, p) !== 0xff) p = skip(b, p, depth + 1);
      return p + 1;
    }
    case 4:
    case 5: {
      const items = h.count === undefined ? undefined : h.count * (major === 5 ? 2 : 1);
      let p = h.end;
      for (let i = 0; items === undefined ? at(b, p) !== 0xff : i < items; i++) p = skip(b, p, depth + 1);
      return items === undefined ? p + 1 : p;
    }
    case 6:
      return skip(b, h.end, depth + 1);
    default:
      // Simple values and floats: the argument bytes are the value.
      if (h.count === undefined) throw new SmpFrameError(`malformed CBOR: unexpected break at byte ${off}`);
      return h.end;
  }
}

function at(b: Uint8Array, off: number): number {
  if (off >= b.length) throw truncated(off);
  return b[off]!;
}

function within(b: Uint8Array, end: number, off: number): number {
  if (end > b.length) throw truncated(off);
  return end;
}

function truncated(off: number): SmpFrameError {
  return new SmpFrameError(`malformed CBOR: item at byte ${off} runs past the end of the payload`);
}
