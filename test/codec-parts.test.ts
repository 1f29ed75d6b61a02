/**
 * Packets as pieces (zero-copy hot path): a packet built as pieces, and each serial encoding of
 * those pieces, must be byte for byte what the one-buffer path gives, on random maps and random
 * splits, for the native codec and the TypeScript twins; a large byte string must travel as the
 * caller's own bytes, not a copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildPacketParts, GATHER_MIN_BYTES, setSeq } from '../src/codec/packet.js';
import { buildPacket } from '../src/codec/header.js';
import { encodeCbor } from '../src/codec/cbor.js';
import { cborMapSize } from '../src/codec/cbor-size.js';
import { tsCodec, nativeCodec, type Codec } from '../src/codec/index.js';
import { SmpFrameSizeError } from '../src/errors.js';
import { native } from '../src/addon.js';

const codecs: Codec[] = nativeCodec ? [tsCodec, nativeCodec] : [tsCodec];
const header = { op: 2, version: 1, flags: 0, group: 1, seq: 7, id: 1 };

const value = fc.oneof(
  fc.integer(),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constant(null),
  fc.double(),
  fc.boolean(),
  fc.constant(2 ** 40),
  fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
  fc.uint8Array({ minLength: GATHER_MIN_BYTES, maxLength: 2000 }),
);

test('a packet built as pieces is the packet built in one buffer', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string({ maxLength: 30 }), value, { maxKeys: 26 }), (body) => {
      const { parts, payloadLength } = buildPacketParts(header, body);
      const want = buildPacket(header, encodeCbor(body));
      assert.deepEqual(Buffer.concat(parts), want);
      assert.equal(payloadLength + 8, want.length);
    }),
    { numRuns: 1500 },
  );
});

test('a large byte string travels as the caller\'s own bytes; small ones and the header are copied', () => {
  const image = Buffer.alloc(4096, 0x5a);
  const data = image.subarray(1024, 2048);
  const { parts } = buildPacketParts(header, { off: 1024, data });
  assert.equal(parts.length, 2);
  assert.equal(parts[1], data, 'the chunk is not copied');
  const small = Buffer.alloc(GATHER_MIN_BYTES - 1, 1);
  const one = buildPacketParts(header, { off: 0, data: small });
  assert.equal(one.parts.length, 1);
  assert.equal(one.parts[0]!.buffer === small.buffer && one.parts[0]!.byteOffset === small.byteOffset, false);
  // The chunk in the middle of the map: three pieces, same bytes.
  const mid = buildPacketParts(header, { image: 0, data, len: 4096, sha: Buffer.alloc(32, 3), upgrade: false });
  assert.equal(mid.parts.length, 3);
  assert.equal(mid.parts[1], data);
  assert.deepEqual(Buffer.concat(mid.parts), buildPacket(header, encodeCbor({ image: 0, data, len: 4096, sha: Buffer.alloc(32, 3), upgrade: false })));
});

test('the sequence number is rewritten in place in the first piece', () => {
  const { parts } = buildPacketParts(header, { off: 0, data: Buffer.alloc(100, 1) });
  setSeq(parts[0]!, 200);
  assert.deepEqual(Buffer.concat(parts), buildPacket({ ...header, seq: 200 }, encodeCbor({ off: 0, data: Buffer.alloc(100, 1) })));
});

test('a payload over 65535 bytes is refused with SmpFrameSizeError', () => {
  assert.throws(() => buildPacketParts(header, { data: Buffer.alloc(70000) }), SmpFrameSizeError);
  assert.throws(() => buildPacketParts(header, Buffer.alloc(70000)), SmpFrameSizeError);
});

/** Random cut points of `packet` into pieces (some empty). */
const split = (packet: Buffer, cuts: number[]): Buffer[] => {
  const at = [...new Set(cuts.map((c) => c % (packet.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...at, packet.length]) {
    out.push(packet.subarray(prev, c));
    prev = c;
  }
  return out;
};

for (const c of codecs) {
  test(`${c.backend}: console and COBS frames of pieces equal the frames of the joined packet`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 6 }), (u, cuts) => {
        const packet = Buffer.from(u);
        const parts = split(packet, cuts);
        assert.deepEqual(c.encodeConsoleParts(parts), tsCodec.encodeConsole(packet));
        assert.deepEqual(c.encodeConsoleParts(parts, 'zephyr'), tsCodec.encodeConsole(packet, 'zephyr'));
        assert.deepEqual(c.encodeCobsFrameParts(parts), tsCodec.encodeCobsFrame(packet));
      }),
      { numRuns: 600 },
    );
  });

  test(`${c.backend}: a packet in more pieces than one addon call takes (70) frames the same`, () => {
    const packet = Buffer.from(Array.from({ length: 700 }, (_, i) => (i * 7) & 0xff));
    const parts = Array.from({ length: 70 }, (_, i) => packet.subarray(i * 10, i * 10 + 10));
    assert.deepEqual(c.encodeConsoleParts(parts), tsCodec.encodeConsole(packet));
    assert.deepEqual(c.encodeConsoleParts(parts, 'zephyr'), tsCodec.encodeConsole(packet, 'zephyr'));
    assert.deepEqual(c.encodeCobsFrameParts(parts), tsCodec.encodeCobsFrame(packet));
  });

  test(`${c.backend}: an empty or oversized packet of pieces is refused like a whole one`, () => {
    assert.throws(() => c.encodeConsoleParts([Buffer.alloc(0), Buffer.alloc(0)]), RangeError);
    assert.throws(() => c.encodeCobsFrameParts([Buffer.alloc(0)]), RangeError);
    assert.throws(() => c.encodeCobsFrameParts([Buffer.alloc(0x8000), Buffer.alloc(0x8000)]), RangeError);
  });
}

test('the counted size of a flat map is the size cbor-x encodes, or undefined', () => {
  const key = fc.string({ unit: 'grapheme', maxLength: 30 });
  const plain = fc.oneof(
    fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
    fc.string({ unit: 'grapheme', maxLength: 300 }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
  );
  // Maps of plain values are always counted, and exactly.
  fc.assert(
    fc.property(fc.dictionary(key, plain, { maxKeys: 23 }), (body) => {
      assert.equal(cborMapSize(body), encodeCbor(body).length);
      // With a data entry still to come (what fitChunk asks): the map with an empty byte string, less its head.
      if (!Object.hasOwn(body, 'data')) assert.equal(cborMapSize(body, { entries: 1, bytes: 5 }), encodeCbor({ ...body, data: Buffer.alloc(0) }).length - 1);
    }),
    { numRuns: 2000 },
  );
  // Anything else: counted exactly or not at all.
  const other = fc.oneof(plain, fc.double(), fc.constant(-(2 ** 31) - 1), fc.constant(2 ** 32), fc.constant([1, 2]), fc.constant({ a: 1 }));
  fc.assert(
    fc.property(fc.dictionary(key, other, { maxKeys: 26 }), (body) => {
      const size = cborMapSize(body);
      if (size !== undefined) assert.equal(size, encodeCbor(body).length);
    }),
    { numRuns: 2000 },
  );
  assert.equal(cborMapSize({ off: 4096 }), 8);
  assert.equal(cborMapSize({ x: 1.5 }), undefined);
  assert.equal(cborMapSize({ big: 2 ** 40 }), undefined);
});

test('native *Parts encoders: a piece detached by a getter while the list is read frames as it is then, never from freed memory', { skip: !native?.encodeConsoleParts || !native?.encodeCobsFrameParts }, () => {
  /** [first, second] where reading index 1 detaches `first`. */
  const trap = (second: Buffer): { list: Uint8Array[]; first: Uint8Array } => {
    const first = new Uint8Array(new ArrayBuffer(4000)).fill(0x41);
    const list: Uint8Array[] = [first];
    Object.defineProperty(list, 1, {
      enumerable: true,
      get() {
        structuredClone(first.buffer, { transfer: [first.buffer] }); // detaches `first`
        return second;
      },
    });
    return { list, first };
  };
  const second = Buffer.alloc(100, 0x42);
  for (let run = 0; run < 20; run++) {
    const c = trap(second);
    assert.deepEqual(native!.encodeConsoleParts!(c.list, false), tsCodec.encodeConsole(second));
    assert.equal(c.first.length, 0, 'the getter detached the first piece');
    const b = trap(second);
    assert.deepEqual(native!.encodeCobsFrameParts!(b.list), tsCodec.encodeCobsFrame(second));
    assert.equal(b.first.length, 0);
  }
});
