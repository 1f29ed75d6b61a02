/**
 * Fuzz target for the JavaScript side of packet parsing: the session's response matching, the
 * CBOR decoder (cbor-x behind `decodeCborMap`) and every group's checks of the answer's fields.
 *
 * A fake transport answers each request of an `MCUmgrClient` the way a hostile device would: it
 * asks a simulated Zephyr core for the real answer, mutates its CBOR payload (bit flips,
 * interesting bytes, insertions, deletions, splices with other answers, huge length claims,
 * nesting bombs, tags), and may first send answers with the right sequence number but the wrong
 * group or command, a length field that disagrees with the payload, a request op, or a stale
 * duplicate. The answer with the right header always comes last.
 *
 * Every call must settle within its deadline, either with a value or with one of the library's
 * typed errors (SmpFrameError, SmpResponseError, SmpDeviceError); any other error, an uncaught
 * exception, a timeout (the device did answer) or a frame size outside 64..65535 after
 * `useAutoFrameSize()` is a finding: the reproducer (seed, command, payload hex) is printed and
 * the process exits 1.
 *
 * Usage: node --import tsx fuzz/cbor-session.ts [--seconds N] [--seed S] [--corpus DIR]
 * Prints a last JSON line {"fuzz":"cbor-session","execs":…,"seconds":…,"findings":0,…}.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MCUmgrClient } from '../src/client.js';
import { Op, decodeHeader, buildPacket } from '../src/codec/header.js';
import { decodeCbor, encodeCbor } from '../src/codec/cbor.js';
import { McuMgrError, SmpDeviceError, SmpFrameError, SmpResponseError } from '../src/errors.js';
import { TransportEmitter } from '../src/transport/emitter.js';
import type { Transport, TransportEvents } from '../src/transport/transport.js';
import { createZephyrDevice } from '../src/sim/device/index.js';

interface Args {
  seconds: number;
  seed: number;
  corpus: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 10, seed: Date.now() >>> 0, corpus: undefined };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--seconds' && v !== undefined) (a.seconds = Number(v)), i++;
    else if (k === '--seed' && v !== undefined) (a.seed = Number(v) >>> 0), i++;
    else if (k === '--corpus' && v !== undefined) (a.corpus = v), i++;
    else throw new RangeError(`unknown argument ${k}; usage: cbor-session.ts [--seconds N] [--seed S] [--corpus DIR]`);
  }
  if (!(a.seconds > 0)) throw new RangeError('--seconds must be a positive number');
  return a;
}

/** A small seeded PRNG (mulberry32). */
class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
}

/** CBOR heads with interesting lengths: indefinite, 0, 23, 24-byte, and huge 4- and 8-byte claims. */
function cborHead(r: Rng): number[] {
  const major = r.int(8) << 5;
  switch (r.int(7)) {
    case 0:
      return [major | 31];
    case 1:
      return [major | r.int(24)];
    case 2:
      return [major | 24, r.int(256)];
    case 3:
      return [major | 25, 0xff, 0xff];
    case 4:
      return [major | 26, 0x7f, 0xff, 0xff, 0xff];
    case 5:
      return [major | 27, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    default:
      return [major | 26, 0, r.int(256), r.int(256), r.int(256)];
  }
}

const INTERESTING = [0x00, 0x01, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1f, 0x20, 0x3f, 0x40, 0x5f, 0x60, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xd8, 0xf4, 0xf5, 0xf6, 0xf7, 0xf9, 0xfa, 0xfb, 0xff];

/** Applies 1..4 random mutations to `seed`, taking splices from `pool`. Output ≤ 65535 bytes. */
function mutate(seed: Buffer, pool: readonly Buffer[], r: Rng): Buffer {
  let b = Buffer.from(seed);
  const ops = 1 + r.int(4);
  for (let k = 0; k < ops; k++) {
    const at = b.length ? r.int(b.length + 1) : 0;
    switch (r.int(11)) {
      case 0: // bit flip
        if (b.length) b[r.int(b.length)]! ^= 1 << r.int(8);
        break;
      case 1: // interesting byte
        if (b.length) b[r.int(b.length)] = r.pick(INTERESTING);
        break;
      case 2: // random bytes inserted
        b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + r.int(8) }, () => r.int(256))), b.subarray(at)]);
        break;
      case 3: {
        // delete a range
        const n = 1 + r.int(Math.max(1, b.length >> 2));
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
        break;
      }
      case 4: {
        // splice a piece of another answer
        const o = r.pick(pool);
        const from = r.int(o.length + 1);
        b = Buffer.concat([b.subarray(0, at), o.subarray(from, from + 1 + r.int(64)), b.subarray(at)]);
        break;
      }
      case 5: // a CBOR head with a hostile length
        b = Buffer.concat([b.subarray(0, at), Buffer.from(cborHead(r)), b.subarray(at)]);
        break;
      case 6: {
        // nesting bomb: deep arrays / maps / indefinite containers / tags around the rest
        const depth = 1 + r.int(r.next() < 0.5 ? 64 : 20000);
        const unit = r.pick([[0x81], [0x9f], [0xa1, 0x61, 0x61], [0xbf, 0x61, 0x61], [0xc6], [0xd8, 0x1c]]);
        const bomb = Buffer.alloc(depth * unit.length);
        for (let i = 0; i < depth; i++) bomb.set(unit, i * unit.length);
        b = Buffer.concat([b.subarray(0, at), bomb, b.subarray(at)]);
        break;
      }
      case 7: // truncate
        b = b.subarray(0, at);
        break;
      case 8: {
        // duplicate a range
        const n = 1 + r.int(Math.max(1, b.length));
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + n), b.subarray(at)]);
        break;
      }
      case 9: // replace the whole answer with a bare value of any type
        b = Buffer.concat([Buffer.from(cborHead(r)), Buffer.from(Array.from({ length: r.int(12) }, () => r.int(256)))]);
        break;
      default: // a key of the real answer given a value of another type
        b = Buffer.concat([b.subarray(0, at), Buffer.from([r.pick([0xf6, 0xf5, 0x20, 0x40, 0x60, 0x80, 0xa0, 0x3b])]), b.subarray(at)]);
        break;
    }
  }
  return b.length > 0xffff ? b.subarray(0, 0xffff) : b;
}

/** A value of a random CBOR type, including the awkward ones (huge, negative, NaN, bytes, nesting). */
function randomValue(r: Rng, depth = 0): unknown {
  switch (r.int(depth > 3 ? 10 : 13)) {
    case 0:
      return r.int(256);
    case 1:
      return -1 - r.int(1 << 20);
    case 2:
      return r.pick([2 ** 32, 2 ** 53 + 2, -(2 ** 63), 1.5, NaN, Infinity, -0]);
    case 3:
      return 2n ** 64n - 1n;
    case 4:
      return 'x'.repeat(r.int(40));
    case 5:
      return Buffer.alloc(r.int(40), 0xa5);
    case 6:
      return null;
    case 7:
      return r.next() < 0.5;
    case 8:
      return undefined;
    case 9:
      return '';
    case 10:
      return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1));
    case 11:
      return Object.fromEntries(Array.from({ length: r.int(4) }, (_, i) => [r.pick(['rc', 'err', 'r', 'off', 'images', 'group', 'k' + i]), randomValue(r, depth + 1)]));
    default:
      return { rc: r.pick([0, 1, 8, -1, 300, 2 ** 40]), group: r.int(70) };
  }
}

/** Re-types one value somewhere inside a decoded answer (a well-formed answer with a wrong field). */
function retype(v: unknown, r: Rng, depth = 0): unknown {
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v) || depth > 6 || r.next() < 0.25) return randomValue(r);
  if (Array.isArray(v)) {
    if (v.length === 0 || r.next() < 0.1) return [...v, randomValue(r)];
    const i = r.int(v.length);
    v[i] = retype(v[i], r, depth + 1);
    return v;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 0 || r.next() < 0.1) {
    o[r.pick(['rc', 'err', 'rsn', 'r', 'off', 'len', 'images', 'k'])] = randomValue(r);
  } else if (r.next() < 0.15) {
    delete o[r.pick(keys)];
  } else {
    const k = r.pick(keys);
    o[k] = retype(o[k], r, depth + 1);
  }
  return o;
}

/** A well-formed answer with one field of the wrong type, value or shape (or the bytes, when not CBOR). */
function mutateStructure(seed: Buffer, r: Rng): Buffer {
  try {
    return encodeCbor(retype(decodeCbor(seed), r));
  } catch {
    return seed;
  }
}

/** What the fake device sends next, and a record of it for the reproducer. */
interface Shot {
  payload: Buffer;
  extras: string[];
}

/** A transport whose peer is a mutating device: real answers from a simulated core, then mutated. */
class HostileTransport implements Transport {
  readonly kind = 'fuzz';
  readonly maxPacket: number | undefined = undefined;
  readonly #events = new TransportEmitter();
  readonly #core = createZephyrDevice();
  readonly #r: Rng;
  readonly #pool: Buffer[];
  #closed = false;
  #previous: Buffer | undefined;
  last: Shot | undefined;

  constructor(r: Rng, pool: Buffer[]) {
    this.#r = r;
    this.#pool = pool;
  }

  get closed(): boolean {
    return this.#closed;
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): () => void {
    return this.#events.on(event, listener);
  }

  send(packet: Buffer): Promise<void> {
    const r = this.#r;
    const h = decodeHeader(packet);
    let real: Buffer | undefined;
    try {
      real = this.#core.handle(packet, 'memory').responses[0];
    } catch {
      real = undefined;
    }
    const realPayload = real && real.length > 8 ? real.subarray(8) : Buffer.from([0xa0]);
    if (this.#pool.length < 4096 && r.next() < 0.05) this.#pool.push(Buffer.from(realPayload));
    const dice = r.next();
    const payload =
      dice < 0.45
        ? mutate(r.next() < 0.8 ? realPayload : r.pick(this.#pool), this.#pool, r)
        : dice < 0.9
          ? mutateStructure(realPayload, r)
          : Buffer.from(realPayload);
    const rsp = { op: h.op + 1, version: h.version, flags: 0, group: h.group, seq: h.seq, id: h.id };
    const out: Buffer[] = [];
    const extras: string[] = [];
    if (r.next() < 0.3) {
      // Decoys first: right seq, wrong group / command / op, a lying length field, a stale answer.
      for (let k = 1 + r.int(3); k > 0; k--) {
        switch (r.int(5)) {
          case 0:
            out.push(buildPacket({ ...rsp, group: (h.group + 1 + r.int(100)) & 0xffff }, payload));
            extras.push('wrong-group');
            break;
          case 1:
            out.push(buildPacket({ ...rsp, id: (h.id + 1 + r.int(10)) & 0xff }, payload));
            extras.push('wrong-command');
            break;
          case 2: {
            const p = buildPacket(rsp, payload);
            p.writeUInt16BE((payload.length + 1 + r.int(1000)) & 0xffff, 2);
            out.push(p);
            extras.push('lying-length');
            break;
          }
          case 3:
            out.push(buildPacket({ ...rsp, op: h.op }, payload));
            extras.push('request-op');
            break;
          default:
            if (this.#previous) {
              out.push(this.#previous);
              extras.push('stale-duplicate');
            }
            break;
        }
      }
    }
    const good = buildPacket(rsp, payload);
    out.push(good);
    this.#previous = good;
    this.last = { payload, extras };
    queueMicrotask(() => {
      for (const p of out) if (!this.#closed) this.#events.emit('packet', p);
    });
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#events.emit('close');
    }
    return Promise.resolve();
  }
}

type Call = [name: string, run: (c: MCUmgrClient) => Promise<unknown>];

const CALLS: Call[] = [
  ['os.echo', (c) => c.os.echo('hello')],
  ['os.taskStats', (c) => c.os.taskStats()],
  ['os.memoryPoolStats', (c) => c.os.memoryPoolStats()],
  ['os.dateTime', (c) => c.os.dateTime()],
  ['os.mcumgrParams', (c) => c.os.mcumgrParams()],
  ['os.appInfo', (c) => c.os.appInfo()],
  ['os.bootloaderInfo', (c) => c.os.bootloaderInfo()],
  ['os.bootloaderInfo(mode)', (c) => c.os.bootloaderInfo('mode')],
  ['image.state', (c) => c.image.state()],
  ['image.slotInfo', (c) => c.image.slotInfo()],
  ['stat.list', (c) => c.stat.list()],
  ['stat.read', (c) => c.stat.read('smp_svr_stats')],
  ['settings.read', (c) => c.settings.read('fuzz/key')],
  ['fs.status', (c) => c.fs.status('/lfs/fuzz')],
  ['fs.hash', (c) => c.fs.hash('/lfs/fuzz')],
  ['fs.supportedHashes', (c) => c.fs.supportedHashes()],
  ['enum.count', (c) => c.enum.count()],
  ['enum.list', (c) => c.enum.list()],
  ['enum.single', (c) => c.enum.single(0)],
  ['enum.details', (c) => c.enum.details()],
  ['shell.exec', (c) => c.shell.exec(['echo', 'hi'])],
  ['raw', (c) => c.raw(Op.READ, 0, 0, { d: 'x' })],
  [
    'useAutoFrameSize',
    async (c) => {
      const r = await c.useAutoFrameSize();
      if (!(c.frameSize >= 64 && c.frameSize <= 65535)) throw new Error(`frame size ${c.frameSize} after useAutoFrameSize`);
      return r;
    },
  ],
];

const TYPED = [SmpFrameError, SmpResponseError, SmpDeviceError];

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const r = new Rng(args.seed);
  const pool: Buffer[] = [Buffer.from([0xa0]), Buffer.from([0xbf, 0xff])];
  if (args.corpus) {
    for (const f of readdirSync(args.corpus)) pool.push(readFileSync(join(args.corpus, f)));
  }
  const transport = new HostileTransport(r, pool);
  const client = new MCUmgrClient(transport, { timeoutMs: 2000, longTimeoutMs: 2000, frameSize: 2048 });
  let uncaught: unknown;
  process.on('uncaughtException', (e) => (uncaught = e));

  const stats: Record<string, number> = { resolved: 0 };
  const t0 = performance.now();
  const until = t0 + args.seconds * 1000;
  let execs = 0;
  let slowest = 0;
  while (performance.now() < until) {
    for (let batch = 0; batch < 64; batch++) {
      const [name, run] = CALLS[r.int(CALLS.length)]!;
      const started = performance.now();
      let outcome: string;
      try {
        await run(client);
        outcome = 'resolved';
      } catch (e) {
        outcome = TYPED.some((C) => e instanceof C) ? (e as McuMgrError).name : 'FINDING';
        if (outcome === 'FINDING') report(args.seed, execs, name, transport.last, e);
      }
      const took = performance.now() - started;
      slowest = Math.max(slowest, took);
      // Every answer is immediate: only a deadline far past the 2 s request timeout means a hang (a loaded machine may stall a while).
      if (took > 8000) report(args.seed, execs, name, transport.last, new Error(`the call took ${took.toFixed(0)} ms`));
      if (uncaught !== undefined) report(args.seed, execs, name, transport.last, uncaught);
      stats[outcome] = (stats[outcome] ?? 0) + 1;
      execs++;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const s = client.session.stats();
  await client.close();
  console.log(
    `cbor-session: ${execs} calls in ${seconds.toFixed(1)} s (${Math.round(execs / seconds)}/s), seed ${args.seed}; ` +
      `outcomes ${JSON.stringify(stats)}; session unmatched ${s.unmatched}, malformed ${s.malformed}; slowest call ${slowest.toFixed(1)} ms`,
  );
  console.log(JSON.stringify({ fuzz: 'cbor-session', execs, seconds: Number(seconds.toFixed(2)), seed: args.seed, findings: 0, outcomes: stats }));
}

function report(seed: number, exec: number, call: string, shot: Shot | undefined, err: unknown): never {
  console.error(`FINDING in ${call} (seed ${seed}, exec ${exec}, decoys ${shot?.extras.join(',') || 'none'}):`);
  console.error(err instanceof Error ? err.stack : String(err));
  console.error(`payload (${shot?.payload.length ?? 0} bytes): ${shot?.payload.toString('hex').slice(0, 4000) ?? '?'}`);
  console.log(JSON.stringify({ fuzz: 'cbor-session', seed, findings: 1, call, error: String(err), payload: shot?.payload.toString('hex').slice(0, 4000) }));
  process.exit(1);
}

await main();
