/**
 * Differential tests: the C++ addon against its TypeScript twins, on random inputs (fast-check).
 * Encoders must give identical bytes; the streaming decoders, fed the same random streams (valid
 * frames among garbage, log lines, bit flips, truncations, hostile lengths) under random chunkings
 * and resets, must give identical packets, identical `buffered()` after every chunk and identical
 * counters. Encode → decode round trips are checked on both backends and across them.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { tsCodec, nativeCodec, type Codec, type PacketDecoder } from '../src/codec/index.js';
import { CONSOLE_STAT_KEYS } from '../src/codec/console-decoder.js';
import { COBS_STAT_KEYS } from '../src/codec/cobs.js';
import { RAW_STAT_KEYS } from '../src/codec/raw.js';
import { native } from '../src/addon.js';

const NATIVE_EXPECTED = process.env.MCUMGR_NATIVE !== '0';

test('the native addon is loaded (unless MCUMGR_NATIVE=0)', () => {
  if (NATIVE_EXPECTED) assert.ok(nativeCodec !== undefined, 'the native addon did not load');
});

/** Runs a differential property, or skips it when the addon is disabled. */
function diff(title: string, fn: (n: Codec, t: TestContext) => void): void {
  test(title, (t: TestContext) => {
    if (!nativeCodec) {
      t.skip('native addon disabled (MCUMGR_NATIVE=0)');
      return;
    }
    fn(nativeCodec, t);
  });
}

// Larger random inputs than fast-check's default: multi-frame packets and long streams.
fc.configureGlobal({ baseSize: 'medium' });

const T = tsCodec;
const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.length);

// ---- arbitraries ----------------------------------------------------------------------------

/** Bytes with many zeros and long non-zero runs (the interesting cases for COBS). */
const cobsyBytes = (maxSegments: number) =>
  fc
    .array(
      fc.oneof(
        fc.constant(Buffer.from([0])),
        fc.uint8Array({ minLength: 1, maxLength: 40 }).map((u) => buf(u.map((b) => b | 1))),
        fc.integer({ min: 250, max: 600 }).map((n) => Buffer.alloc(n, 0xa5)),
        fc.uint8Array({ maxLength: 64 }).map(buf),
      ),
      { maxLength: maxSegments },
    )
    .map((parts) => Buffer.concat(parts));

const packetArb = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }).map(buf) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 300, maxLength: 2000 }).map(buf) },
  { weight: 1, arbitrary: cobsyBytes(8).filter((b) => b.length >= 1 && b.length <= 2000) },
);
const splitArb = fc.constantFrom('zephyr' as const, 'plain' as const);

/** Chunk sizes used cyclically, and where to call reset() (rarely). */
const chunkingArb = fc.record({
  sizes: fc.array(fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 400 }), fc.constant(1 << 30)), {
    minLength: 1,
    maxLength: 12,
  }),
  resets: fc.array(fc.integer({ min: 0, max: 15 }).map((x) => x === 0), { minLength: 1, maxLength: 12 }),
});
type Chunking = { sizes: number[]; resets: boolean[] };

/** Flips 1..4 random bits. */
const flipBits = ([b, flips]: [Buffer, number[]]): Buffer => {
  const out = Buffer.from(b);
  if (out.length === 0) return out;
  for (const f of flips) out[(f >>> 3) % out.length]! ^= 1 << (f & 7);
  return out;
};
const flipsArb = fc.array(fc.nat(), { minLength: 1, maxLength: 4 });
const truncate = ([b, k]: [Buffer, number]): Buffer => b.subarray(0, b.length ? k % b.length : 0);

/**
 * Feeds one stream to both decoders under the same chunking and resets, comparing everything
 * observable after every chunk. Returns the packets.
 */
function feedBoth<S>(ts: PacketDecoder<S>, nat: PacketDecoder<S>, stream: Buffer, ch: Chunking, maxBuffered: number): Buffer[] {
  const all: Buffer[] = [];
  const kept: [Buffer, Buffer][] = []; // native packets and copies taken when they came out
  let off = 0;
  for (let k = 0; off < stream.length; k++) {
    const n = ch.sizes[k % ch.sizes.length]!;
    const chunk = stream.subarray(off, off + n);
    const a = ts.push(chunk);
    const b = nat.push(k % 3 === 1 ? new Uint8Array(chunk) : chunk); // a plain Uint8Array sometimes
    assert.deepEqual(b, a, `packets after chunk ${k} (offset ${off})`);
    assert.equal(nat.buffered(), ts.buffered(), `buffered() after chunk ${k}`);
    assert.ok(ts.buffered() <= maxBuffered, `buffered ${ts.buffered()} > cap ${maxBuffered}`);
    all.push(...a);
    for (const p of b) kept.push([p, Buffer.from(p)]);
    if (ch.resets[k % ch.resets.length]) {
      ts.reset();
      nat.reset();
      assert.equal(nat.buffered(), 0);
    }
    off += n;
  }
  const stats = ts.stats();
  assert.deepEqual(nat.stats(), stats, 'counters');
  // Packets handed out earlier are not overwritten by later output (they share pool slabs).
  for (const [p, copy] of kept) assert.ok(p.equals(copy), 'a packet changed after it was returned');
  for (const [k, v] of Object.entries(stats as Record<string, number>)) totals[k] = (totals[k] ?? 0) + v;
  return all;
}

/** Counters summed over every stream of the current property, to check the generators reach every reason. */
let totals: Record<string, number> = {};
function checkCoverage(t: TestContext, keys: readonly string[]): void {
  t.diagnostic(`counters over all runs: ${JSON.stringify(totals)}`);
  for (const k of keys) assert.ok((totals[k] ?? 0) > 0, `the random streams never produced "${k}"`);
  totals = {};
}

// ---- pure functions -------------------------------------------------------------------------

diff('crc16: random data and random init', (N) => {
  const initArb = fc.oneof(
    fc.integer({ min: 0, max: 0xffff }),
    fc.integer(),
    fc.double(),
    fc.constantFrom(2 ** 32 + 5, -1, 2 ** 53, -(2 ** 40) - 3, NaN, Infinity, -Infinity, -0, 0x1ffff),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), initArb, fc.nat(), (d, init, cut) => {
      assert.equal(N.crc16(d, init), T.crc16(d, init));
      const k = d.length ? cut % d.length : 0;
      assert.equal(N.crc16(d.subarray(k), N.crc16(d.subarray(0, k), init)), T.crc16(d, init));
    }),
    { numRuns: 2000 },
  );
});

diff('base64: encode, decode, and random (mostly invalid) text', (N) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (d) => {
      const e = N.base64Encode(d);
      assert.deepEqual(e, T.base64Encode(d));
      assert.deepEqual(N.base64Decode(e), buf(d));
    }),
    { numRuns: 1000 },
  );
  const alphabetish = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').map((c) => c.charCodeAt(0))) },
    { weight: 2, arbitrary: fc.constant(0x3d) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
  );
  const textArb = fc.oneof(
    fc.array(alphabetish, { maxLength: 64 }).map((a) => Buffer.from(a)),
    // valid text with one character replaced
    fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 60 }), fc.nat(), alphabetish).map(([d, at, ch]) => {
      const t = Buffer.from(T.base64Encode(d));
      t[at % t.length] = ch;
      return t;
    }),
  );
  fc.assert(
    fc.property(textArb, (text) => {
      assert.deepEqual(N.base64Decode(text), T.base64Decode(text));
    }),
    { numRuns: 2000 },
  );
});

diff('console encoder: random packets, both splits', (N) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), (p) => {
      assert.deepEqual(N.encodeConsole(p, 'zephyr'), T.encodeConsole(p, 'zephyr'));
      assert.deepEqual(N.encodeConsole(p, 'plain'), T.encodeConsole(p, 'plain'));
    }),
    { numRuns: 1000 },
  );
  for (const n of [1, 2, 3, 87, 88, 89, 90, 91, 92, 93, 94, 177, 178, 179, 180, 181, 182, 183, 0xffff - 2]) {
    const p = Buffer.alloc(n, n & 0xff);
    for (const s of ['zephyr', 'plain'] as const) assert.deepEqual(N.encodeConsole(p, s), T.encodeConsole(p, s), `n=${n} ${s}`);
  }
});

diff('COBS: cobsEncode, encodeCobsFrame, cobsDecode (valid and random input)', (N) => {
  fc.assert(
    fc.property(cobsyBytes(12), (d) => {
      const e = N.cobsEncode(d);
      assert.deepEqual(e, T.cobsEncode(d));
      assert.ok(!e.includes(0));
      assert.deepEqual(N.cobsDecode(e), d);
      if (d.length >= 1) assert.deepEqual(N.encodeCobsFrame(d), T.encodeCobsFrame(d));
    }),
    { numRuns: 1500 },
  );
  const encLike = fc.oneof(
    fc.uint8Array({ maxLength: 600 }).map(buf),
    fc.uint8Array({ maxLength: 600 }).map((u) => buf(u.map((b) => b | 1))),
    fc.tuple(cobsyBytes(6), fc.nat()).map(([d, k]) => truncate([T.cobsEncode(d), k])),
    fc.tuple(cobsyBytes(6), flipsArb).map(([d, f]) => flipBits([T.cobsEncode(d), f])),
  );
  fc.assert(
    fc.property(encLike, (e) => {
      assert.deepEqual(N.cobsDecode(e), T.cobsDecode(e));
    }),
    { numRuns: 1000 },
  );
});

// ---- streaming decoders ---------------------------------------------------------------------

const consoleFrame = fc.tuple(packetArb, splitArb).map(([p, s]) => T.encodeConsole(p, s));
const logLine = fc
  .tuple(
    fc.array(fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) }, { weight: 1, arbitrary: fc.constantFrom(0x06, 0x04, 0x09, 0x14, 0x0d) }), {
      maxLength: 120,
    }),
    fc.boolean(),
  )
  .map(([a, crlf]) => Buffer.concat([Buffer.from(a), Buffer.from(crlf ? '\r\n' : '\n')]));
const b64 = (bytes: number[] | Uint8Array): Buffer => T.base64Encode(Uint8Array.from(bytes));
/** A frame with an arbitrary length prefix (bad, huge, or abandoning a packet in progress). */
const craftedFrame = fc
  .tuple(fc.boolean(), fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 60 }), fc.boolean())
  .map(([initial, len, data, crlf]) =>
    Buffer.concat([
      Buffer.from(initial ? [0x06, 0x09] : [0x04, 0x14]),
      b64(initial ? [len >> 8, len & 0xff, ...data] : data),
      Buffer.from(crlf ? '\r\n' : '\n'),
    ]),
  );
/** A frame line of k base64-ish characters, maybe never ended. */
const longLine = fc
  .tuple(fc.integer({ min: 0, max: 900 }), fc.boolean())
  .map(([k, lf]) => Buffer.concat([Buffer.from([0x06, 0x09]), Buffer.alloc(k, 0x41), Buffer.from(lf ? '\n' : '')]));
/** A multi-frame packet with one of its lines missing. */
const missingLine = fc.tuple(consoleFrame, fc.nat()).map(([f, k]) => {
  const lines: Buffer[] = [];
  for (let from = 0, i = f.indexOf(0x0a); i >= 0; from = i + 1, i = f.indexOf(0x0a, from)) lines.push(f.subarray(from, i + 1));
  lines.splice(k % lines.length, 1);
  return Buffer.concat(lines);
});

const consoleStream = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: consoleFrame },
      { weight: 2, arbitrary: logLine },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map(buf) },
      { weight: 2, arbitrary: fc.tuple(consoleFrame, flipsArb).map(flipBits) },
      { weight: 2, arbitrary: fc.tuple(consoleFrame, fc.nat()).map(truncate) },
      { weight: 2, arbitrary: craftedFrame },
      { weight: 1, arbitrary: longLine },
      { weight: 1, arbitrary: missingLine },
    ),
    { maxLength: 25 },
  )
  .map((parts) => Buffer.concat(parts));

diff('ConsoleDecoder: identical packets and counters on random streams and chunkings', (N, t) => {
  const caps = fc.record({
    maxLine: fc.oneof(fc.integer({ min: 4, max: 130 }), fc.integer({ min: 120, max: 700 }), fc.constant(512)),
    maxPacket: fc.oneof(fc.integer({ min: 8, max: 2100 }), fc.constant(16384), fc.constant(16384)),
  });
  fc.assert(
    fc.property(caps, consoleStream, chunkingArb, (c, stream, ch) => {
      feedBoth(T.createConsoleDecoder(c), N.createConsoleDecoder(c), stream, ch, c.maxLine + c.maxPacket + 2);
    }),
    { numRuns: 3000 },
  );
  checkCoverage(t, CONSOLE_STAT_KEYS);
});

const cobsFrame = packetArb.map((p) => T.encodeCobsFrame(p));
const cobsStream = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: cobsFrame },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((n) => Buffer.alloc(n, 0)) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map(buf) },
      { weight: 2, arbitrary: fc.tuple(cobsFrame, flipsArb).map(flipBits) },
      { weight: 2, arbitrary: fc.tuple(cobsFrame, fc.nat()).map(truncate) },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12 }).map((u) => Buffer.concat([T.cobsEncode(u), Buffer.from([0])])) },
      { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.boolean()).map(([n, z]) => Buffer.concat([Buffer.alloc(n, 0x55), Buffer.from(z ? [0] : [])])) },
    ),
    { maxLength: 25 },
  )
  .map((parts) => Buffer.concat(parts));

diff('CobsDecoder: identical packets and counters on random streams and chunkings', (N, t) => {
  const maxPacket = fc.oneof(fc.integer({ min: 8, max: 2100 }), fc.constant(16384));
  fc.assert(
    fc.property(maxPacket, cobsStream, chunkingArb, (mp, stream, ch) => {
      feedBoth(T.createCobsDecoder({ maxPacket: mp }), N.createCobsDecoder({ maxPacket: mp }), stream, ch, mp + 2 + Math.floor((mp + 2) / 254) + 1);
    }),
    { numRuns: 3000 },
  );
  checkCoverage(t, COBS_STAT_KEYS);
});

/** A well-formed SMP packet: header (op 0..3, reserved bits clear, length = body) + body. */
const smpPacket = fc
  .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.uint8Array({ minLength: 5, maxLength: 5 }), fc.uint8Array({ maxLength: 2000 }))
  .map(([op, ver, rest, body]) => {
    const h = Buffer.from([(ver << 3) | op, rest[0]!, body.length >> 8, body.length & 0xff, rest[1]!, rest[2]!, rest[3]!, rest[4]!]);
    return Buffer.concat([h, body]);
  });
const rawStream = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: smpPacket },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 8, maxLength: 8 }).map(buf) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((len) => Buffer.from([0x0a, 0, len >> 8, len & 0xff, 0, 1, 2, 3])) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 50 }).map(buf) },
      { weight: 1, arbitrary: fc.tuple(smpPacket, fc.nat()).map(truncate) },
    ),
    { maxLength: 25 },
  )
  .map((parts) => Buffer.concat(parts));

diff('RawDecoder: identical packets and counters on random streams, chunkings and resets', (N, t) => {
  const maxPacket = fc.oneof(fc.integer({ min: 8, max: 2100 }), fc.constant(16384), fc.constant(0xffff + 8));
  fc.assert(
    fc.property(maxPacket, rawStream, chunkingArb, (mp, stream, ch) => {
      feedBoth(T.createRawDecoder({ maxPacket: mp }), N.createRawDecoder({ maxPacket: mp }), stream, ch, mp);
    }),
    { numRuns: 3000 },
  );
  checkCoverage(t, RAW_STAT_KEYS);
});

// ---- round trips ----------------------------------------------------------------------------

diff('round trip: packets encoded by either backend decode to themselves on both', (N) => {
  const packets = fc.array(fc.uint8Array({ minLength: 8, maxLength: 2000 }).map(buf), { minLength: 1, maxLength: 8 });
  const backends = [T, N];
  fc.assert(
    fc.property(packets, splitArb, fc.integer({ min: 0, max: 1 }), chunkingArb, (ps, split, enc, ch) => {
      const E = backends[enc]!;
      const noResets = { sizes: ch.sizes, resets: [false] };
      const consoleWire = Buffer.concat(ps.map((p) => E.encodeConsole(p, split)));
      assert.deepEqual(feedBoth(T.createConsoleDecoder(), N.createConsoleDecoder(), consoleWire, noResets, Infinity), ps);
      const cobsWire = Buffer.concat(ps.map((p) => E.encodeCobsFrame(p)));
      assert.deepEqual(feedBoth(T.createCobsDecoder(), N.createCobsDecoder(), cobsWire, noResets, Infinity), ps);
      const raw = ps.map((p) => {
        const q = Buffer.from(p);
        q[0] = q[0]! & 0x1b; // op 0..3, reserved bits clear
        q.writeUInt16BE(q.length - 8, 2);
        return q;
      });
      assert.deepEqual(feedBoth(T.createRawDecoder(), N.createRawDecoder(), Buffer.concat(raw), noResets, Infinity), raw);
    }),
    { numRuns: 500 },
  );
  totals = {};
});

// ---- wrong argument types never crash the addon ---------------------------------------------------

diff('native functions throw TypeError on wrong argument types', () => {
  const n = native!;
  const bad: unknown[] = [undefined, null, 1, 'abc', {}, [1, 2], new Uint16Array(2), new ArrayBuffer(4), new DataView(new ArrayBuffer(2))];
  for (const v of bad) {
    for (const f of ['crc16', 'base64Encode', 'base64Decode', 'cobsEncode', 'cobsDecode', 'encodeCobsFrame', 'encodeConsole'] as const) {
      assert.throws(() => (n[f] as (x: unknown) => unknown)(v), TypeError, `${f}(${Object.prototype.toString.call(v)})`);
    }
  }
  assert.throws(() => n.crc16(new Uint8Array(1), 'x' as unknown as number), TypeError);
  assert.throws(() => n.encodeConsole(new Uint8Array(10), 1 as unknown as boolean), TypeError);
  assert.throws(() => n.encodeConsole(new Uint8Array(0), false), RangeError);
  assert.throws(() => n.encodeCobsFrame(new Uint8Array(0)), RangeError);
  for (const [Ctor, args] of [
    [n.ConsoleDecoder, [512]],
    [n.ConsoleDecoder, ['512', 100]],
    [n.CobsDecoder, [{}]],
    [n.RawDecoder, []],
  ] as const) {
    assert.throws(() => new (Ctor as new (...a: unknown[]) => unknown)(...args), TypeError);
  }
  assert.throws(() => new n.ConsoleDecoder(3, 100), RangeError);
  assert.throws(() => new n.ConsoleDecoder(512, 0xffff), RangeError);
  assert.throws(() => new n.CobsDecoder(7.5), RangeError);
  assert.throws(() => new n.RawDecoder(0xffff + 9), RangeError);
  for (const d of [new n.ConsoleDecoder(512, 100), new n.CobsDecoder(100), new n.RawDecoder(100)]) {
    for (const v of bad) assert.throws(() => d.push(v as Uint8Array), TypeError);
    assert.deepEqual(d.push(new Uint8Array(0)), []);
    assert.throws(() => (d.push as (x: Uint8Array) => Buffer[]).call({}, new Uint8Array(1)));
  }
  // A detached buffer reads as empty.
  const ab = new ArrayBuffer(8);
  const view = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  assert.equal(n.crc16(view, 0), 0);
});

// ---- worker threads -------------------------------------------------------------------------

/**
 * Worker body (CommonJS, eval'd): loads the addon itself (the build src/addon.ts would
 * load), encodes and decodes a deterministic sequence of packets with every codec function, and
 * posts a digest of all outputs.
 */
const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const n = process.env.MCUMGR_NATIVE_ADDON ? require(require('node:path').resolve(process.env.MCUMGR_NATIVE_ADDON)) : require(workerData.gypBuild)(workerData.root);
let x = workerData.seed;
const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8);
let digest = 0;
let packets = 0;
const cd = new n.ConsoleDecoder(512, 16384), bd = new n.CobsDecoder(16384);
for (let i = 0; i < workerData.iterations; i++) {
  const p = Buffer.alloc(8 + (rnd() % 600));
  for (let k = 0; k < p.length; k++) p[k] = rnd() % 3 === 0 ? 0 : rnd();
  const outs = [n.encodeConsole(p, (i & 1) === 1), n.encodeCobsFrame(p), n.base64Encode(p), n.cobsEncode(p), n.base64Decode(n.base64Encode(p)), n.cobsDecode(n.cobsEncode(p))];
  for (const o of outs) digest = n.crc16(o, digest);
  for (const q of [...cd.push(outs[0]), ...bd.push(outs[1])]) { digest = n.crc16(q, digest); packets++; }
}
parentPort.postMessage({ digest, packets });
`;

/** The same computation on the TS twins, for the expected digest. */
function expectedDigest(seed: number, iterations: number): { digest: number; packets: number } {
  let x = seed;
  const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8;
  let digest = 0;
  let packets = 0;
  const cd = T.createConsoleDecoder();
  const bd = T.createCobsDecoder();
  for (let i = 0; i < iterations; i++) {
    const p = Buffer.alloc(8 + (rnd() % 600));
    for (let k = 0; k < p.length; k++) p[k] = rnd() % 3 === 0 ? 0 : rnd();
    const outs = [T.encodeConsole(p, (i & 1) === 1 ? 'zephyr' : 'plain'), T.encodeCobsFrame(p), T.base64Encode(p), T.cobsEncode(p), T.base64Decode(T.base64Encode(p))!, T.cobsDecode(T.cobsEncode(p))!];
    for (const o of outs) digest = T.crc16(o, digest);
    for (const q of [...cd.push(outs[0]!), ...bd.push(outs[1]!)]) {
      digest = T.crc16(q, digest);
      packets++;
    }
  }
  return { digest, packets };
}

diff('the addon runs in several worker threads at once (and survives workers being terminated)', async () => {
  const require = createRequire(import.meta.url);
  const root = fileURLToPath(new URL('..', import.meta.url));
  const gypBuild = require.resolve('node-gyp-build');
  const iterations = 400;
  const start = (seed: number, iters: number) => new Worker(WORKER_CODE, { eval: true, workerData: { root, gypBuild, seed, iterations: iters } });
  const seeds = [1, 2, 3, 4];
  const workers = seeds.map((seed) => start(seed, iterations));
  // More that are killed mid-run: their environments are torn down while they are inside the
  // addon, where a C++ exception that cannot become a JS one would abort the whole process.
  const doomed = [start(99, 1e9), start(100, 1e9)];
  const results = await Promise.all(
    workers.map(
      (w) =>
        new Promise<{ digest: number; packets: number }>((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  );
  await Promise.all(doomed.map((w) => w.terminate()));
  for (let i = 0; i < 6; i++) {
    const ws = [start(200 + i, 1e9), start(300 + i, 1e9)];
    await new Promise((r) => setTimeout(r, 30 + 7 * i));
    await Promise.all(ws.map((w) => w.terminate()));
  }
  seeds.forEach((seed, i) => assert.deepEqual(results[i], expectedDigest(seed, iterations), `worker ${seed}`));
  assert.equal(results[0]!.packets, 2 * iterations);
  // The main thread's addon instance still works.
  assert.deepEqual(nativeCodec!.base64Decode(nativeCodec!.base64Encode(Buffer.from('ok'))), Buffer.from('ok'));
});
