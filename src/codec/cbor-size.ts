/**
 * The exact size of the CBOR that {@link encodeCbor} writes for a flat map, computed without
 * encoding it: the transfer engine sizes every upload chunk from it, and encoding each chunk's
 * fields once more only to count them cost an allocation per chunk. Values it cannot size
 * exactly (floats, integers beyond 32 bits, nested maps, arrays) make it return `undefined`;
 * the caller then encodes. `test/codec-parts.test.ts` holds it to cbor-x's output on random maps.
 * @module
 */

/** Bytes of a CBOR head (major type 0–5) carrying the argument `n`. */
export function cborHeadSize(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9;
}

/** Bytes of one value, or undefined when only encoding can tell. */
function valueSize(v: unknown): number | undefined {
  switch (typeof v) {
    case 'number':
      if (!Number.isInteger(v)) return undefined;
      if (v >= 0 && v < 0x100000000) return cborHeadSize(v);
      if (v < 0 && v >= -0x80000000) return cborHeadSize(-1 - v);
      return undefined;
    case 'string':
      return stringSize(v);
    case 'boolean':
      return 1;
    case 'object':
      if (v === null) return 1;
      if (v instanceof Uint8Array) return cborHeadSize(v.length) + v.length;
      return undefined;
    default:
      return undefined;
  }
}

function stringSize(s: string): number {
  const n = Buffer.byteLength(s, 'utf8');
  return cborHeadSize(n) + n;
}

/**
 * Encoded size of the map `fields` with `extra` more entries of the given key and value sizes
 * added (e.g. a `data` byte string still to be chosen), or undefined.
 * @example
 * cborMapSize({ off: 4096 }); // 8: a0+1 map head, "off" 4, 4096 as 3
 */
export function cborMapSize(fields: Record<string, unknown>, extra: { entries: number; bytes: number } = { entries: 0, bytes: 0 }): number | undefined {
  let count = extra.entries;
  let size = extra.bytes;
  for (const k in fields) {
    if (!Object.hasOwn(fields, k)) continue;
    const v = valueSize(fields[k]);
    if (v === undefined) return undefined;
    size += stringSize(k) + v;
    count++;
  }
  if (count >= 24) return undefined; // cbor-x's head for larger maps is not worth modelling here
  return 1 + size;
}
