/**
 * CBOR for SMP payloads, through cbor-x with the options that make it emit plain CBOR
 * (DESIGN.md): no records, no tags for byte strings or maps, no string bundling.
 * Decoding accepts definite and indefinite maps and arrays (Zephyr sends indefinite ones).
 * @module
 */
import { Encoder, Decoder } from 'cbor-x';
import { SmpFrameError } from '../errors.js';
import { decodeFlatMap } from './cbor-flat.js';

const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  tagUint8Array: false,
  useTag259ForMaps: false,
  pack: false,
  bundleStrings: false,
} as ConstructorParameters<typeof Encoder>[0]);

const decoder = new Decoder({ useRecords: false, mapsAsObjects: true } as ConstructorParameters<typeof Decoder>[0]);

/** A CBOR map as this library exchanges it with devices. */
export type CborMap = Record<string, unknown>;

/**
 * Encodes `value` as definite-length plain CBOR. Integers of 2^32 and beyond are sent as CBOR
 * integers (cbor-x would send them as float64, which Zephyr's integer fields reject).
 */
export function encodeCbor(value: unknown): Buffer {
  // cbor-x may return a view into its shared scratch buffer; callers keep packets around.
  return Buffer.from(encodeCborTransient(value));
}

/**
 * Like {@link encodeCbor}, but the result may be a view into the encoder's scratch buffer, valid
 * only until the next encode: for callers that copy it at once (the session copies it into the
 * packet), saving a copy of every upload chunk.
 */
export function encodeCborTransient(value: unknown): Buffer {
  return encoder.encode(widenIntegers(value, 0)) as Buffer;
}

/**
 * Decodes one CBOR data item that must fill `bytes` exactly. Byte strings come back as Buffers.
 * @throws SmpFrameError when the bytes are not one well-formed CBOR item.
 */
export function decodeCbor(bytes: Uint8Array): unknown {
  if (bytes.length === 0) throw new SmpFrameError('empty CBOR payload');
  try {
    // decodeMultiple would accept trailing items; SMP payloads are exactly one item.
    const items: unknown[] = [];
    decoder.decodeMultiple(bytes, (v: unknown) => {
      items.push(v);
      return items.length < 2;
    });
    if (items.length !== 1) throw new SmpFrameError(`CBOR payload holds ${items.length} items, expected 1`);
    return normalise(items[0], 0);
  } catch (e) {
    if (e instanceof SmpFrameError) throw e;
    throw new SmpFrameError(`malformed CBOR payload: ${(e as Error).message}`, { cause: e });
  }
}

/** Decodes a payload that must be a CBOR map (a flat one, as transfers answer, without cbor-x). */
export function decodeCborMap(bytes: Uint8Array): CborMap {
  const flat = decodeFlatMap(bytes);
  if (flat) return flat;
  const v = decodeCbor(bytes);
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v) || v instanceof Uint8Array) {
    throw new SmpFrameError('SMP payload is not a CBOR map');
  }
  return v as CborMap;
}

function widenIntegers(v: unknown, depth: number): unknown {
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) >= 2 ** 32 && Number.isSafeInteger(v) ? BigInt(v) : v;
  if (depth > MAX_CBOR_DEPTH || v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.some((x) => typeof x === 'number' || (x !== null && typeof x === 'object')) ? v.map((x) => widenIntegers(x, depth + 1)) : v;
  if (v instanceof Map) return v;
  let copy: Record<string, unknown> | undefined;
  const o = v as Record<string, unknown>;
  // for-in over a plain object allocates nothing per key (this runs for every request sent).
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue;
    const x = o[k];
    if (typeof x !== 'number' && (x === null || typeof x !== 'object' || x instanceof Uint8Array)) continue;
    const w = widenIntegers(x, depth + 1);
    if (w !== x) (copy ??= { ...o })[k] = w;
  }
  return copy ?? v;
}

/** Deepest nesting accepted from a device; SMP payloads are a few levels deep. */
export const MAX_CBOR_DEPTH = 32;

function normalise(v: unknown, depth: number): unknown {
  if (depth > MAX_CBOR_DEPTH) throw new SmpFrameError(`CBOR nesting deeper than ${MAX_CBOR_DEPTH}`);
  // cbor-x returns every 8-byte integer as a BigInt; keep plain numbers where they are exact.
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (v instanceof Uint8Array) return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = normalise(v[i], depth + 1);
    return v;
  }
  if (v instanceof Map) {
    const o: CborMap = {};
    for (const [k, val] of v) o[String(k)] = normalise(val, depth + 1);
    return o;
  }
  if (v !== null && typeof v === 'object') {
    const o = v as CborMap;
    for (const k of Object.keys(o)) o[k] = normalise(o[k], depth + 1);
    return o;
  }
  return v;
}
