/**
 * Chunk sizing from the exact CBOR size of each request, so that every packet fits the device's
 * limit (PROTOCOL.md §6.3). Unlike a worst-case estimate, this uses the real field values, so
 * chunks are as large as the frame allows.
 * @module
 */
import { encodeCborTransient, type CborMap } from '../codec/cbor.js';
import { cborMapSize } from '../codec/cbor-size.js';
import { SMP_HEADER_SIZE } from '../codec/header.js';
import { SmpFrameSizeError } from '../errors.js';

/** Bytes of a CBOR byte-string head for a string of `n` bytes. */
export function bstrHeadSize(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/** CBOR byte-string head size and the string lengths that use it. */
const HEAD_RANGES: ReadonlyArray<readonly [number, number, number]> = [
  [1, 1, 23],
  [2, 24, 0xff],
  [3, 0x100, 0xffff],
  [5, 0x10000, 0xffffffff],
];

/** The `data` key of a chunk with no head yet: one entry of a 5-byte key ("data"). */
const DATA_ENTRY = { entries: 1, bytes: 5 };
const EMPTY = Buffer.alloc(0);

/**
 * The largest `data` length such that `{...fields, data: bstr(len)}` with its SMP header fits
 * `maxRequest`, capped by `remaining`, rounded down to `alignment` unless it is the last piece.
 * @throws SmpFrameSizeError when not even one data byte fits.
 */
export function fitChunk(fields: CborMap, maxRequest: number, remaining: number, alignment = 1): number {
  // Encoded size without the data string's head, which depends on the length chosen below:
  // counted where the fields allow it (every upload chunk), encoded only where they do not.
  const counted = Object.hasOwn(fields, 'data') ? undefined : cborMapSize(fields, DATA_ENTRY);
  const base = SMP_HEADER_SIZE + (counted ?? encodeCborTransient({ ...fields, data: EMPTY }).length - 1);
  let best = 0;
  // Indexed, not destructured: this runs for every chunk, and destructuring walks an iterator.
  for (let i = 0; i < HEAD_RANGES.length; i++) {
    const r = HEAD_RANGES[i]!;
    const len = Math.min(maxRequest - base - r[0], r[2]);
    if (len >= r[1] && len > best) best = len;
  }
  if (best <= 0) {
    throw new SmpFrameSizeError(`frame size ${maxRequest} leaves no room for data after ${base + 1} bytes of request; raise the frame size`);
  }
  if (best >= remaining) return remaining;
  if (alignment > 1) {
    best -= best % alignment;
    if (best === 0) throw new SmpFrameSizeError(`frame size ${maxRequest} leaves less than one ${alignment}-byte aligned block for data`);
  }
  return best;
}
