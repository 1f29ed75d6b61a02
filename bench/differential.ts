/**
 * Long differential run: the native stream decoders against their TypeScript twins over mutated
 * frames. Each stream is made from its own 32-bit seed: an encoding (console, COBS or raw), caps,
 * 1..40 frames of random packets (console frames in either split), about half of them mutated (bit
 * flips, inserted bytes and markers, deleted ranges, splices with the previous frame, duplicated
 * ranges, truncations), with garbage and hostile units in between (log lines, binary junk,
 * forged length prefixes, runs with no delimiter, headers announcing huge packets). Both decoders
 * get the same random chunking (sometimes with resets); after every chunk the packets and
 * buffered() must be identical and buffered() within the caps, and at the end the counters must be
 * identical. A divergence prints a reproducer (the stream seed and the stream's hex) and the run
 * exits 1; `--replay SEED` runs one stream again with its details.
 *
 *   npm run bench:differential -- [--frames N] [--threads T] [--seed S] [--replay SEED]
 *
 * Default 100000 frames (a few seconds); `--frames 10000000` is the long run, spread over worker
 * threads (default: one per CPU). Prints a table, then a last JSON line
 * {"bench":"differential","frames":…,"divergences":0,…}.
 * @module
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { nativeCodec, tsCodec, type Codec, type PacketDecoder } from '../src/codec/index.js';

type Enc = 'console' | 'cobs' | 'raw';
const ENCODINGS: readonly Enc[] = ['console', 'cobs', 'raw'];

/** xorshift128 seeded through splitmix32: fast, and a stream is fully determined by its seed. */
class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  constructor(seed: number) {
    let s = seed >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = mix() || 1;
    this.#b = mix();
    this.#c = mix();
    this.#d = mix();
  }
  u32(): number {
    let t = this.#d;
    const s = this.#a;
    this.#d = this.#c;
    this.#c = this.#b;
    this.#b = s;
    t ^= t << 11;
    t ^= t >>> 8;
    this.#a = (t ^ s ^ (s >>> 19)) >>> 0;
    return this.#a;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  chance(p: number): boolean {
    return this.u32() < p * 4294967296;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) b.writeUInt32LE(this.u32(), i);
    for (; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

/** A stream seed from the run seed and the stream's index (a 32-bit hash). */
function streamSeed(runSeed: number, worker: number, index: number): number {
  let h = (runSeed ^ Math.imul(worker + 1, 0x9e3779b1) ^ Math.imul(index, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return (h ^ (h >>> 15)) >>> 0;
}

interface Caps {
  maxLine?: number;
  maxPacket: number;
}

function chooseCaps(enc: Enc, r: Rng): Caps {
  switch (enc) {
    case 'console':
      return {
        maxLine: r.pick([4, 16, 100, 124, 125, 128, 512, 512, 512, 4096, 1 << 20]),
        maxPacket: r.pick([8, 64, 90, 380, 2048, 16384, 16384, 16384, 0xffff - 2]),
      };
    case 'cobs':
      return { maxPacket: r.pick([8, 64, 253, 254, 380, 2048, 16384, 16384, 0xffff]) };
    case 'raw':
      return { maxPacket: r.pick([8, 64, 380, 2048, 16384, 16384, 0xffff + 8]) };
  }
}

/** buffered() may never exceed this (the same bounds as test/codec-differential.test.ts). */
function bound(enc: Enc, c: Caps): number {
  switch (enc) {
    case 'console':
      return c.maxLine! + c.maxPacket + 2;
    case 'cobs':
      return c.maxPacket + 2 + Math.floor((c.maxPacket + 2) / 254) + 1;
    case 'raw':
      return c.maxPacket;
  }
}

function makeDecoder(codec: Codec, enc: Enc, c: Caps): PacketDecoder<object> {
  switch (enc) {
    case 'console':
      return codec.createConsoleDecoder({ maxLine: c.maxLine!, maxPacket: c.maxPacket });
    case 'cobs':
      return codec.createCobsDecoder({ maxPacket: c.maxPacket });
    case 'raw':
      return codec.createRawDecoder({ maxPacket: c.maxPacket });
  }
}

/** A random SMP packet: valid header (op 0..3, length = payload) and random payload. */
function makePacket(r: Rng, max: number): Buffer {
  const roll = r.int(100);
  const payload = roll < 70 ? r.int(120) : roll < 95 ? 120 + r.int(900) : roll < 99 ? 1000 + r.int(4000) : r.int(Math.min(max, 0xffff - 10));
  const p = r.bytes(8 + payload);
  p[0] = (p[0]! & 0x18) | r.int(4);
  p.writeUInt16BE(payload, 2);
  if (r.chance(0.1)) p.fill(r.chance(0.5) ? 0 : 0xff, 8); // long runs: COBS blocks, base64 of one byte
  return p;
}

function frameOf(enc: Enc, p: Buffer, r: Rng): Buffer {
  switch (enc) {
    case 'console':
      return tsCodec.encodeConsole(p, r.chance(0.5) ? 'zephyr' : 'plain');
    case 'cobs':
      return tsCodec.encodeCobsFrame(p);
    case 'raw':
      return p;
  }
}

const SPECIAL: Record<Enc, number[]> = {
  console: [0x06, 0x09, 0x04, 0x14, 0x0a, 0x0d, 0x3d, 0x41, 0x2f, 0x00],
  cobs: [0x00, 0x00, 0x01, 0xff, 0xfe, 0x02],
  raw: [0x00, 0x08, 0x09, 0x0a, 0x0b, 0xff, 0x20],
};

/** One mutation of a frame's wire bytes. */
function mutate(enc: Enc, f: Buffer, prev: Buffer, r: Rng): Buffer {
  const at = r.int(f.length + 1);
  switch (r.int(8)) {
    case 0: {
      const b = Buffer.from(f);
      for (let k = 1 + r.int(3); k > 0 && b.length; k--) b[r.int(b.length)]! ^= 1 << r.int(8);
      return b;
    }
    case 1:
      return Buffer.concat([f.subarray(0, at), r.bytes(1 + r.int(8)), f.subarray(at)]);
    case 2:
      return Buffer.concat([f.subarray(0, at), Buffer.from([r.pick(SPECIAL[enc])]), f.subarray(at)]);
    case 3:
      return Buffer.concat([f.subarray(0, at), f.subarray(at + 1 + r.int(16))]);
    case 4: {
      const from = r.int(prev.length + 1);
      return Buffer.concat([f.subarray(0, at), prev.subarray(from)]);
    }
    case 5: {
      const n = 1 + r.int(Math.max(1, f.length - at));
      return Buffer.concat([f.subarray(0, at + n), f.subarray(at)]);
    }
    case 6:
      return f.subarray(0, at);
    default: {
      const b = Buffer.from(f);
      if (b.length) b[r.int(b.length)] = r.pick(SPECIAL[enc]);
      return b;
    }
  }
}

/** A unit between frames: noise, or something hostile aimed at the caps. */
function garbage(enc: Enc, c: Caps, r: Rng): Buffer {
  switch (r.int(4)) {
    case 0:
      return r.bytes(1 + r.int(64));
    case 1:
      return Buffer.from(`[00:00:${String(r.int(60)).padStart(2, '0')}.000,000] <inf> app: log line ${r.u32()}\r\n`);
    default:
      break;
  }
  switch (enc) {
    case 'console': {
      // A first frame with an arbitrary length prefix, or a line of frame text that runs long.
      if (r.chance(0.5)) {
        const want = r.int(0x10000);
        const body = tsCodec.base64Encode(Buffer.concat([Buffer.from([want >> 8, want & 0xff]), r.bytes(r.int(60))]));
        return Buffer.concat([Buffer.from([0x06, 0x09]), body, Buffer.from('\n')]);
      }
      // (Lines past a cap of 1 MiB are rare: they cost time and test nothing a short cap does not.)
      const maxLine = c.maxLine ?? 512;
      const len = r.int((r.chance(0.05) ? maxLine : Math.min(maxLine, 1024)) + 40);
      return Buffer.concat([Buffer.from([r.chance(0.5) ? 0x06 : 0x04, r.chance(0.5) ? 0x09 : 0x14]), Buffer.alloc(len, 0x41), Buffer.from(r.chance(0.5) ? '\n' : '')]);
    }
    case 'cobs':
      // A run with no delimiter around the buffer's capacity, or stray delimiters.
      return r.chance(c.maxPacket > 4096 ? 0.05 : 0.5) ? Buffer.alloc(Math.max(1, bound(enc, c) - 8 + r.int(16)), 0x55) : Buffer.alloc(1 + r.int(3), 0);
    case 'raw': {
      const h = r.bytes(8);
      h[0] = r.chance(0.7) ? r.int(4) : h[0]!;
      h.writeUInt16BE(r.chance(0.5) ? 0xffff : r.int(0x10000), 2);
      return h;
    }
  }
}

interface StreamResult {
  enc: Enc;
  frames: number;
  mutated: number;
  bytes: number;
  packets: number;
  pushes: number;
  counters: Record<string, number>;
  divergence?: Divergence;
}

interface Divergence {
  seed: number;
  enc: Enc;
  caps: Caps;
  detail: string;
  chunks: number[];
  resets: number[];
  hex: string;
}

function samePackets(a: Buffer[], b: Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!a[i]!.equals(b[i]!)) return false;
  return true;
}

function describeDiff(a: Buffer[], b: Buffer[]): string {
  if (a.length !== b.length) return `TS gave ${a.length} packets, native ${b.length}`;
  const i = a.findIndex((p, k) => !p.equals(b[k]!));
  return `packet ${i} of ${a.length} differs: TS ${a[i]!.length} bytes ${a[i]!.subarray(0, 16).toString('hex')}…, native ${b[i]!.length} bytes ${b[i]!.subarray(0, 16).toString('hex')}…`;
}

/** Builds the stream of `seed` and feeds it to both decoders. */
function runStream(seed: number, nat: Codec, verbose = false): StreamResult {
  const r = new Rng(seed);
  const enc = r.pick(ENCODINGS);
  const caps = chooseCaps(enc, r);
  const parts: Buffer[] = [];
  const nFrames = 1 + r.int(40);
  const mutateP = r.pick([0, 0.2, 0.5, 0.5, 0.9]);
  let mutated = 0;
  let prev: Buffer = Buffer.alloc(0);
  for (let k = 0; k < nFrames; k++) {
    if (r.chance(0.15)) parts.push(garbage(enc, caps, r));
    let f = frameOf(enc, makePacket(r, caps.maxPacket), r);
    const whole = f;
    if (r.chance(mutateP)) {
      for (let m = 1 + (r.chance(0.3) ? r.int(3) : 0); m > 0; m--) f = mutate(enc, f, prev, r);
      mutated++;
    }
    prev = whole;
    parts.push(f);
  }
  const stream = Buffer.concat(parts);

  // Chunking: one of a few shapes, sizes drawn as the stream is cut (tiny chunks for short streams
  // only: a push costs about a microsecond whatever its size).
  let shape = r.int(6);
  if (shape === 1 && stream.length > 4096) shape = 2;
  if (shape === 2 && stream.length > 65536) shape = 3;
  const cut = (): number => {
    switch (shape) {
      case 0:
        return stream.length;
      case 1:
        return 1 + r.int(8);
      case 2:
        return 1 + r.int(64);
      case 3:
        return 1 + r.int(512);
      case 4:
        return r.chance(0.1) ? 1 : 1 + r.int(4096);
      default:
        return r.pick([1, 2, 3, 7, 8, 9, 63, 64, 65, 124, 127, 128, 255, 256, 1024]);
    }
  };
  const resetP = r.pick([0, 0, 0, 0.02, 0.1]);
  const ts = makeDecoder(tsCodec, enc, caps);
  const nd = makeDecoder(nat, enc, caps);
  const limit = bound(enc, caps);
  const chunks: number[] = [];
  const resets: number[] = [];
  let packets = 0;
  let divergence: Divergence | undefined;
  const diverge = (detail: string): void => {
    divergence = { seed, enc, caps, detail, chunks, resets, hex: stream.toString('hex') };
  };
  for (let off = 0; off < stream.length && !divergence; ) {
    const n = Math.min(cut(), stream.length - off);
    const chunk = stream.subarray(off, off + n);
    chunks.push(n);
    const a = ts.push(chunk);
    const b = nd.push(chunk);
    if (!samePackets(a, b)) diverge(`chunk ${chunks.length - 1} (offset ${off}): ${describeDiff(a, b)}`);
    else if (ts.buffered() !== nd.buffered()) diverge(`chunk ${chunks.length - 1}: buffered() TS ${ts.buffered()}, native ${nd.buffered()}`);
    else if (nd.buffered() > limit) diverge(`chunk ${chunks.length - 1}: buffered() ${nd.buffered()} over the bound ${limit}`);
    packets += a.length;
    if (verbose) console.log(`chunk ${chunks.length - 1} @${off} +${n}: ${a.length} packets, buffered ${ts.buffered()}/${nd.buffered()}`);
    off += n;
    if (resetP && r.chance(resetP)) {
      ts.reset();
      nd.reset();
      resets.push(chunks.length - 1);
    }
  }
  const counters = ts.stats() as Record<string, number>;
  if (!divergence) {
    const sa = JSON.stringify(counters);
    const sb = JSON.stringify(nd.stats());
    if (sa !== sb) diverge(`counters: TS ${sa}, native ${sb}`);
    if (verbose) console.log(`counters: TS ${sa}\n          native ${sb}`);
  }
  return { enc, frames: nFrames, mutated, bytes: stream.length, packets, pushes: chunks.length, counters, ...(divergence ? { divergence } : {}) };
}

interface Totals {
  streams: number;
  frames: number;
  mutated: number;
  bytes: number;
  packets: number;
  pushes: number;
}

interface WorkerResult {
  byEnc: Record<Enc, Totals>;
  /** The decoders' counters summed per encoding (every reason to drop bytes should show up). */
  counters: Record<Enc, Record<string, number>>;
  divergences: Divergence[];
}

const zero = (): Totals => ({ streams: 0, frames: 0, mutated: 0, bytes: 0, packets: 0, pushes: 0 });

/** Runs streams until `frames` frames have been made (or the first divergence). */
function work(runSeed: number, worker: number, frames: number, nat: Codec, progress?: (done: number) => void): WorkerResult {
  const byEnc: Record<Enc, Totals> = { console: zero(), cobs: zero(), raw: zero() };
  const counters: Record<Enc, Record<string, number>> = { console: {}, cobs: {}, raw: {} };
  const divergences: Divergence[] = [];
  let done = 0;
  let lastReport = 0;
  for (let i = 0; done < frames; i++) {
    const s = runStream(streamSeed(runSeed, worker, i), nat);
    const t = byEnc[s.enc];
    t.streams++;
    t.frames += s.frames;
    t.mutated += s.mutated;
    t.bytes += s.bytes;
    t.packets += s.packets;
    t.pushes += s.pushes;
    for (const [k, v] of Object.entries(s.counters)) counters[s.enc][k] = (counters[s.enc][k] ?? 0) + v;
    done += s.frames;
    if (s.divergence) {
      divergences.push(s.divergence);
      break;
    }
    if (progress && done - lastReport >= 250_000) {
      progress(done - lastReport);
      lastReport = done;
    }
  }
  if (progress && done > lastReport) progress(done - lastReport);
  return { byEnc, counters, divergences };
}

function parseArgs(argv: string[]): { frames: number; threads: number; seed: number; replay: number | undefined } {
  const o = { frames: 100_000, threads: Math.max(1, availableParallelism()), seed: (Date.now() ^ (process.pid << 8)) >>> 0, replay: undefined as number | undefined };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = Number(argv[i + 1]);
    if (k === '--frames') o.frames = v;
    else if (k === '--threads') o.threads = v;
    else if (k === '--seed') o.seed = v >>> 0;
    else if (k === '--replay') o.replay = v >>> 0;
    else throw new RangeError(`unknown argument ${k}; usage: differential.ts [--frames N] [--threads T] [--seed S] [--replay SEED]`);
    if (!Number.isFinite(v)) throw new RangeError(`${k} needs a number`);
    i++;
  }
  if (!(Number.isInteger(o.frames) && o.frames > 0)) throw new RangeError('--frames must be a positive integer');
  if (!(Number.isInteger(o.threads) && o.threads > 0)) throw new RangeError('--threads must be a positive integer');
  return o;
}

function printDivergence(d: Divergence): void {
  console.error(`DIVERGENCE (${d.enc}, caps ${JSON.stringify(d.caps)}): ${d.detail}`);
  console.error(`  reproduce: npm run bench:differential -- --replay ${d.seed}`);
  console.error(`  chunks: ${JSON.stringify(d.chunks.slice(0, 200))}${d.chunks.length > 200 ? ' …' : ''}; resets after chunks ${JSON.stringify(d.resets)}`);
  console.error(`  stream (${d.hex.length / 2} bytes): ${d.hex.length > 200_000 ? d.hex.slice(0, 200_000) + ' …' : d.hex}`);
}

function workerSpec(): string[] {
  // Workers need tsx's hooks in their own thread on Node 20 (see src/bulk/pool.ts).
  try {
    const api = import.meta.resolve('tsx/esm/api');
    return ['--import', `data:text/javascript,import{register}from${JSON.stringify(api)};register();`];
  } catch {
    return ['--import', 'tsx'];
  }
}

async function main(): Promise<void> {
  const nat = nativeCodec;
  if (!nat) {
    console.error('bench:differential needs the native addon (npm run build:native); MCUMGR_NATIVE=0 disables it');
    process.exit(2);
  }
  const o = parseArgs(process.argv.slice(2));
  if (o.replay !== undefined) {
    const s = runStream(o.replay, nat, true);
    console.log(`stream ${o.replay}: ${s.enc}, ${s.frames} frames (${s.mutated} mutated), ${s.bytes} bytes, ${s.packets} packets, ${s.pushes} pushes`);
    if (s.divergence) printDivergence(s.divergence);
    else console.log('no divergence');
    process.exit(s.divergence ? 1 : 0);
  }
  const threads = Math.min(o.threads, Math.max(1, Math.floor(o.frames / 1000)));
  const t0 = performance.now();
  let done = 0;
  let lastLine = 0;
  const tick = (n: number): void => {
    done += n;
    if (process.stdout.isTTY || performance.now() - lastLine > 10_000) {
      lastLine = performance.now();
      const s = (performance.now() - t0) / 1000;
      const line = `  ${done.toLocaleString('en-US')} / ${o.frames.toLocaleString('en-US')} frames, ${s.toFixed(0)} s`;
      if (process.stdout.isTTY) process.stdout.write(`\r${line}`);
      else console.log(line);
    }
  };
  let results: WorkerResult[];
  if (threads === 1) {
    results = [work(o.seed, 0, o.frames, nat, tick)];
  } else {
    const per = Math.ceil(o.frames / threads);
    results = await Promise.all(
      Array.from(
        { length: threads },
        (_, w) =>
          new Promise<WorkerResult>((resolve, reject) => {
            const wk = new Worker(new URL(import.meta.url), { workerData: { seed: o.seed, worker: w, frames: per }, execArgv: workerSpec() });
            wk.on('message', (m: { progress?: number; result?: WorkerResult }) => {
              if (m.progress) tick(m.progress);
              if (m.result) resolve(m.result);
            });
            wk.on('error', reject);
            wk.on('exit', (code) => code !== 0 && reject(new Error(`worker ${w} exited with ${code}`)));
          }),
      ),
    );
  }
  if (process.stdout.isTTY) process.stdout.write('\n');
  const seconds = (performance.now() - t0) / 1000;

  const byEnc: Record<Enc, Totals> = { console: zero(), cobs: zero(), raw: zero() };
  const counters: Record<Enc, Record<string, number>> = { console: {}, cobs: {}, raw: {} };
  const divergences: Divergence[] = [];
  for (const res of results) {
    for (const e of ENCODINGS) for (const k of Object.keys(byEnc[e]) as (keyof Totals)[]) byEnc[e][k] += res.byEnc[e][k];
    for (const e of ENCODINGS) for (const [k, v] of Object.entries(res.counters[e])) counters[e][k] = (counters[e][k] ?? 0) + v;
    divergences.push(...res.divergences);
  }
  const total = zero();
  for (const e of ENCODINGS) for (const k of Object.keys(total) as (keyof Totals)[]) total[k] += byEnc[e][k];

  const head = ['encoding', 'streams', 'frames', 'mutated', 'MB', 'pushes', 'packets'];
  const rows = [...ENCODINGS.map((e) => [e, byEnc[e]] as const), ['total', total] as const].map(([e, t]) => [
    e,
    t.streams.toLocaleString('en-US'),
    t.frames.toLocaleString('en-US'),
    t.mutated.toLocaleString('en-US'),
    (t.bytes / 1e6).toFixed(1),
    t.pushes.toLocaleString('en-US'),
    t.packets.toLocaleString('en-US'),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: readonly string[]): string => c.map((x, i) => (i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  for (const e of ENCODINGS) {
    console.log(`${e} decoder counters: ${Object.entries(counters[e]).map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`).join(', ')}`);
  }
  console.log(
    `${total.frames.toLocaleString('en-US')} frames in ${seconds.toFixed(1)} s on ${threads} thread(s) (${Math.round(total.frames / seconds).toLocaleString('en-US')} frames/s), seed ${o.seed}: ${divergences.length} divergence(s)`,
  );
  for (const d of divergences) printDivergence(d);
  console.log(
    JSON.stringify({
      bench: 'differential',
      frames: total.frames,
      divergences: divergences.length,
      mutated: total.mutated,
      streams: total.streams,
      bytes: total.bytes,
      packets: total.packets,
      pushes: total.pushes,
      seconds: Number(seconds.toFixed(1)),
      threads,
      seed: o.seed,
    }),
  );
  process.exit(divergences.length ? 1 : 0);
}

if (isMainThread) {
  await main();
} else {
  const { seed, worker, frames } = workerData as { seed: number; worker: number; frames: number };
  const nat = nativeCodec;
  if (!nat) throw new Error('the native addon did not load in a worker');
  const result = work(seed, worker, frames, nat, (n) => parentPort!.postMessage({ progress: n }));
  parentPort!.postMessage({ result });
}
