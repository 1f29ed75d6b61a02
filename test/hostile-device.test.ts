/**
 * Hostile devices: the client (`MCUmgrClient`) must never crash, never wait past a deadline and
 * never hold more memory because a device says so.
 *
 * Over a real PTY, the test itself is the device: it holds the master side, decodes the client's
 * requests and answers with raw bytes: a length prefix far beyond the frame cap (console, raw,
 * COBS), a line that never ends (megabytes without LF), a flood of unsolicited and duplicated
 * answers, an answer with the right sequence number but the wrong group or command, CBOR nesting
 * bombs inside valid frames. Over the simulator (in memory and on a PTY), fault hooks make the
 * device silent, duplicate and garble its answers, or answer one byte per second.
 *
 * Every scenario asserts typed errors (SmpTimeoutError, SmpFrameError), deadlines (a request with
 * timeoutMs T settles within T + MARGIN), that the receive decoder's buffered() stays within
 * 2 × the largest frame the client accepts (sampled on every turn of the event loop while the
 * device misbehaves), and that the client still works once the device behaves again.
 */
import { test, describe, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../src/addon.js';
import { buildPacket, decodeHeader, Op, SMP_HEADER_SIZE, type SmpHeader } from '../src/codec/header.js';
import { decodeCborMap, encodeCbor } from '../src/codec/cbor.js';
import { SmpFrameError, SmpTimeoutError } from '../src/errors.js';
import { MCUmgrClient } from '../src/client.js';
import { SerialFraming, type SerialEncoding } from '../src/transport/framing.js';
import { createPty, ptyAvailable, type Pty } from '../src/sim/pty.js';
import { NativeSerialTransport } from '../src/transport/serial-native.js';
import { startSimulator, createZephyrDevice, type SimDeviceCore, type FaultOptions } from '../src/sim/index.js';

const skipPty = !ptyAvailable(native) ? 'the native addon with serial I/O is not built' : false;

/** The largest packet the client's serial decoder accepts (the transport's default receive cap). */
const MAX_FRAME = 16384;
/**
 * Extra time a deadline may take on a loaded 2-core CI machine (the suite runs two files at once,
 * and a flood of megabytes goes through the same event loop): generous, since what is checked is
 * that a deadline is kept at all, not the timer's precision.
 */
const MARGIN = 2500;
/** How early a timer may fire by the real clock (see rejectsWithin). */
const EARLY_SLACK_MS = 100;
/** A short deadline for requests the device will not answer properly. */
const T = 400;

type Reply = (h: SmpHeader, body: Record<string, unknown>, dev: HostileDevice) => void;

/** The test's device on a PTY master: decodes requests, answers as `reply` says. */
class HostileDevice {
  readonly pty: Pty;
  readonly framing: SerialFraming;
  reply: Reply = (h, body, dev) => dev.answer(h, { r: body.d });

  constructor(readonly encoding: SerialEncoding) {
    this.pty = createPty();
    this.framing = new SerialFraming({ encoding, split: 'zephyr', maxPacket: 65000 });
    this.pty.onData((chunk) => {
      for (const p of this.framing.decode(chunk)) {
        const h = decodeHeader(p);
        this.reply(h, decodeCborMap(p.subarray(SMP_HEADER_SIZE)), this);
      }
    });
  }

  /** The wire bytes of a response to `h` (the right header unless overridden). */
  response(h: SmpHeader, payload: Buffer | Record<string, unknown>, over: Partial<SmpHeader> = {}): Buffer {
    const body = Buffer.isBuffer(payload) ? payload : encodeCbor(payload);
    const p = buildPacket({ op: h.op + 1, version: h.version, flags: 0, group: h.group, seq: h.seq, id: h.id, ...over }, body);
    return this.framing.encode(p);
  }

  answer(h: SmpHeader, payload: Buffer | Record<string, unknown>, over: Partial<SmpHeader> = {}): void {
    this.pty.write(this.response(h, payload, over));
  }

  write(bytes: Uint8Array): void {
    this.pty.write(bytes);
  }

  close(): void {
    this.pty.close();
  }
}

interface Rig {
  dev: HostileDevice;
  client: MCUmgrClient;
  transport: NativeSerialTransport;
}

async function rig(encoding: SerialEncoding, extra: Record<string, unknown> = {}): Promise<Rig> {
  const dev = new HostileDevice(encoding);
  const client = await MCUmgrClient.serial(dev.pty.path, { encoding, backend: 'native', timeoutMs: 2000, ...extra });
  assert.ok(client.transport instanceof NativeSerialTransport);
  return { dev, client, transport: client.transport };
}

async function close(r: Rig): Promise<void> {
  await r.client.close();
  r.dev.close();
}

/**
 * Samples `buffered()` on every turn of the event loop (each read callback is followed by an
 * immediate) until stopped; `max` is the largest value seen.
 */
function watchBuffered(t: NativeSerialTransport): { max: number; samples: number; stop: () => void } {
  const w = { max: 0, samples: 0, stop: () => {} };
  let on = true;
  const tick = (): void => {
    if (!on || t.closed) return;
    w.max = Math.max(w.max, t.buffered());
    w.samples++;
    setImmediate(tick);
  };
  w.stop = () => {
    on = false;
  };
  tick();
  return w;
}

/** Runs `p`, expecting it to reject with `Err` within [minMs, maxMs]; returns the error and the time. */
async function rejectsWithin<E extends Error>(p: Promise<unknown>, Err: new (...a: never[]) => E, minMs: number, maxMs: number): Promise<{ err: E; ms: number }> {
  const t0 = performance.now();
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  const ms = performance.now() - t0;
  // Node starts a timer from the event loop's cached clock, which lags the real one by however
  // long the current turn has run: on a loaded machine a deadline may fire that much early.
  minMs -= EARLY_SLACK_MS;
  assert.ok(err instanceof Err, `expected ${Err.name}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  assert.ok(ms >= minMs && ms <= maxMs, `settled after ${ms.toFixed(0)} ms, expected ${minMs}..${maxMs} ms`);
  return { err: err as E, ms };
}

/** The device behaves again: an echo goes through. */
async function stillWorks(r: Rig, text = 'still alive'): Promise<void> {
  r.dev.reply = (h, body, dev) => dev.answer(h, { r: body.d });
  assert.equal(await r.client.os.echo(text, { timeoutMs: 2000 }), text);
}

describe('hostile device on a PTY', { skip: skipPty }, () => {
  test('console: a length prefix far beyond the frame cap is refused; deadline kept; nothing buffered for it', async (t: TestContext) => {
    const r = await rig('console');
    try {
      const w = watchBuffered(r.transport);
      r.dev.reply = (h, _b, dev) => {
        // An initial frame announcing 65535 bytes, then a stream of continuation frames.
        const first = Buffer.concat([Buffer.from([0x06, 0x09]), Buffer.from(Buffer.from([0xff, 0xff, 0x09, 0, 0, 0]).toString('base64')), Buffer.from('\n')]);
        const cont = Buffer.concat([Buffer.from([0x04, 0x14]), Buffer.from(Buffer.alloc(90, 0x41).toString('base64')), Buffer.from('\n')]);
        dev.write(Buffer.concat([first, ...Array.from({ length: 2000 }, () => cont)]));
        void h;
      };
      await rejectsWithin(r.client.os.echo('x', { timeoutMs: T }), SmpTimeoutError, T - 5, T + MARGIN);
      // A prefix just under the cap that is never completed: held, but never more than the cap.
      r.dev.reply = (_h, _b, dev) => {
        const want = MAX_FRAME + 2;
        const first = Buffer.concat([Buffer.from([0x06, 0x09]), Buffer.from(Buffer.from([want >> 8, want & 0xff, 0x09]).toString('base64')), Buffer.from('\n')]);
        const cont = Buffer.concat([Buffer.from([0x04, 0x14]), Buffer.from(Buffer.alloc(90, 0x42).toString('base64')), Buffer.from('\n')]);
        dev.write(Buffer.concat([first, ...Array.from({ length: 400 }, () => cont)]));
      };
      await rejectsWithin(r.client.os.echo('y', { timeoutMs: T }), SmpTimeoutError, T - 5, T + MARGIN);
      w.stop();
      t.diagnostic(`buffered() max ${w.max} over ${w.samples} samples`);
      assert.ok(w.samples > 0);
      assert.ok(w.max <= 2 * MAX_FRAME, `buffered() reached ${w.max}`);
      await stillWorks(r);
    } finally {
      await close(r);
    }
  });

  test('raw: a header announcing 65535 bytes is refused; a partial packet is dropped by the stall timer', async (t: TestContext) => {
    const r = await rig('raw', { rawStallMs: 150 });
    try {
      const w = watchBuffered(r.transport);
      r.dev.reply = (h, _b, dev) => {
        // Length 0xffff: 65543 bytes, over the 16384 cap (refused at the header), then junk.
        const big = buildPacket({ op: Op.READ_RSP, version: 1, flags: 0, group: h.group, seq: h.seq, id: h.id }, Buffer.alloc(0));
        big.writeUInt16BE(0xffff, 2);
        dev.write(Buffer.concat([big, Buffer.alloc(100_000, 0x41)]));
      };
      await rejectsWithin(r.client.os.echo('x', { timeoutMs: T }), SmpTimeoutError, T - 5, T + MARGIN);
      // Then a header within the cap whose body never comes: held until the stall timer.
      r.dev.reply = (h, _b, dev) => {
        const p = buildPacket({ op: Op.READ_RSP, version: 1, flags: 0, group: h.group, seq: h.seq, id: h.id }, Buffer.alloc(0));
        p.writeUInt16BE(MAX_FRAME - 8, 2);
        dev.write(Buffer.concat([p, Buffer.alloc(1000, 0xa0)]));
      };
      await rejectsWithin(r.client.os.echo('y', { timeoutMs: T }), SmpTimeoutError, T - 5, T + MARGIN);
      w.stop();
      t.diagnostic(`buffered() max ${w.max} over ${w.samples} samples`);
      assert.ok(w.max > 0 && w.max <= MAX_FRAME, `buffered() reached ${w.max}`);
      assert.equal(r.transport.buffered(), 0, 'the stall timer dropped the partial packet');
      await stillWorks(r);
    } finally {
      await close(r);
    }
  });

  test('COBS: a megabyte with no delimiter is dropped at the cap; the next frame decodes', async (t: TestContext) => {
    const r = await rig('cobs');
    try {
      const w = watchBuffered(r.transport);
      r.dev.reply = (_h, _b, dev) => dev.write(Buffer.alloc(1 << 20, 0x55));
      await rejectsWithin(r.client.os.echo('x', { timeoutMs: T }), SmpTimeoutError, T - 5, T + MARGIN);
      w.stop();
      t.diagnostic(`buffered() max ${w.max} over ${w.samples} samples`);
      assert.ok(w.max <= 2 * MAX_FRAME, `buffered() reached ${w.max}`);
      r.dev.reply = (h, body, dev) => dev.write(Buffer.concat([Buffer.from([0]), dev.response(h, { r: body.d })]));
      assert.equal(await r.client.os.echo('after', { timeoutMs: 2000 }), 'after');
    } finally {
      await close(r);
    }
  });

  test('console: a line that never ends (4 MB without LF, in a frame and as log text) stays within maxLine', async (t: TestContext) => {
    const r = await rig('console');
    try {
      const w = watchBuffered(r.transport);
      const rss0 = process.memoryUsage().rss;
      const flood = Buffer.alloc(4 << 20, 0x41);
      r.dev.reply = (_h, _b, dev) => dev.write(Buffer.concat([Buffer.from([0x06, 0x09]), flood]));
      await rejectsWithin(r.client.os.echo('x', { timeoutMs: 1500 }), SmpTimeoutError, 1495, 1500 + MARGIN);
      r.dev.reply = (_h, _b, dev) => dev.write(Buffer.concat([Buffer.from('boot: '), flood]));
      await rejectsWithin(r.client.os.echo('y', { timeoutMs: 1500 }), SmpTimeoutError, 1495, 1500 + MARGIN);
      w.stop();
      t.diagnostic(`buffered() max ${w.max} over ${w.samples} samples`);
      assert.ok(w.samples > 10, `only ${w.samples} samples`);
      assert.ok(w.max <= 512, `buffered() reached ${w.max} (maxLine 512)`);
      // Loose: the 8 MB went through without being kept (the test's own 4 MB buffer is counted).
      const grown = (process.memoryUsage().rss - rss0) / 2 ** 20;
      assert.ok(grown < 96, `rss grew by ${grown.toFixed(0)} MB`);
      r.dev.write(Buffer.from('\n'));
      await stillWorks(r);
    } finally {
      await close(r);
    }
  });

  test('a flood of unsolicited and duplicated answers: every request gets its own answer', async (t: TestContext) => {
    const r = await rig('console');
    try {
      const w = watchBuffered(r.transport);
      let floods = 0;
      r.dev.reply = (h, body, dev) => {
        const junk: Buffer[] = [];
        for (let i = 0; i < 2000; i++) {
          // Older sequence numbers: never the one in flight, nor one of the next requests'.
          const seq = (h.seq - 1 - (i % 100)) & 0xff;
          junk.push(dev.response(h, { r: `unsolicited ${i}` }, { seq, group: i % 3 === 0 ? h.group : (i * 7) & 0xffff }));
        }
        const right = dev.response(h, { r: body.d });
        dev.write(Buffer.concat([...junk, right, right, right, ...junk.slice(0, 200), right]));
        floods++;
      };
      for (let i = 0; i < 10; i++) assert.equal(await r.client.os.echo(`echo ${i}`, { timeoutMs: 3000 }), `echo ${i}`);
      w.stop();
      t.diagnostic(`buffered() max ${w.max} over ${w.samples} samples`);
      assert.equal(floods, 10);
      const s = r.client.session.stats();
      // Late duplicates of one answer may still be on the wire when the next request goes out; all
      // are dropped as unmatched (they carry an older seq).
      assert.ok(s.unmatched >= 10 * 2000, `only ${s.unmatched} answers counted as unmatched`);
      assert.equal(s.received, 10);
      assert.ok(w.max <= 2 * MAX_FRAME, `buffered() reached ${w.max}`);
    } finally {
      await close(r);
    }
  });

  test('the right seq with the wrong group or command is not an answer: SmpTimeoutError at the deadline', async () => {
    const r = await rig('console');
    try {
      r.dev.reply = (h, body, dev) => {
        dev.answer(h, { r: body.d }, { group: h.group + 1 });
        dev.answer(h, { r: body.d }, { id: h.id + 1 });
        dev.answer(h, { r: body.d }, { op: h.op }); // a request op, not a response
      };
      const before = r.client.session.stats();
      await rejectsWithin(r.client.os.echo('x', { timeoutMs: T }), SmpTimeoutError, T - 5, T + MARGIN);
      const s = r.client.session.stats();
      assert.equal(s.unmatched - before.unmatched, 2, 'wrong group and wrong command dropped as unmatched');
      assert.equal(s.malformed - before.malformed, 1, 'the request op dropped as malformed');
      await stillWorks(r);
    } finally {
      await close(r);
    }
  });

  test('CBOR nesting bombs inside valid frames: SmpFrameError at once, the client goes on', async () => {
    const r = await rig('console');
    try {
      const bombs: Buffer[] = [
        Buffer.concat([Buffer.from([0xa1, 0x61, 0x72]), Buffer.alloc(12000, 0x81), Buffer.from([0x00])]), // arrays, 12000 deep
        Buffer.concat([Buffer.alloc(5000, 0xbf)]), // indefinite maps, never closed
        Buffer.concat([Buffer.from([0xa1, 0x61, 0x72]), Buffer.alloc(5000 * 3).fill(Buffer.from([0xa1, 0x61, 0x6b])), Buffer.from([0xf6])]), // maps
        Buffer.concat([Buffer.from([0xa1, 0x61, 0x72]), Buffer.alloc(40, 0x81), Buffer.from([0x00])]), // shallow but over MAX_CBOR_DEPTH
        Buffer.from([0xa1, 0x61, 0x72, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // an array claiming 2^64 items
      ];
      for (const bomb of bombs) {
        assert.ok(bomb.length + SMP_HEADER_SIZE <= MAX_FRAME);
        r.dev.reply = (h, _b, dev) => dev.answer(h, bomb);
        const { err } = await rejectsWithin(r.client.os.echo('x', { timeoutMs: 2000 }), SmpFrameError, 0, 1000);
        assert.match(err.message, /CBOR/);
      }
      await stillWorks(r);
    } finally {
      await close(r);
    }
  });
});

describe('hostile simulated device (fault hooks)', () => {
  const sims: Array<{ close: () => Promise<void> }> = [];
  after(async () => {
    for (const s of sims) await s.close();
  });

  async function memoryClient(faults: FaultOptions, core?: SimDeviceCore): Promise<MCUmgrClient> {
    const sim = await startSimulator({ transport: 'memory', faults, seed: 7, ...(core ? { core } : {}) });
    sims.push(sim);
    return MCUmgrClient.fromTransport(sim.transport!, { timeoutMs: 2000 });
  }

  test('in memory: a silent device: SmpTimeoutError at the deadline, retries included', async () => {
    const client = await memoryClient({ silent: true });
    await rejectsWithin(client.os.echo('x', { timeoutMs: T }), SmpTimeoutError, T - 5, T + MARGIN);
    // A read with 2 retries: three deadlines in a row, no more.
    await rejectsWithin(client.session.request(Op.READ, 0, 0, { d: 'x' }, { timeoutMs: 150, retries: 2 }), SmpTimeoutError, 3 * 150 - 5, 3 * 150 + MARGIN);
    await client.close();
  });

  test('in memory: every answer duplicated and garbage in between: each request gets its own answer', async () => {
    const client = await memoryClient({ toHost: { duplicate: 1, garbage: 0.5 } });
    for (let i = 0; i < 20; i++) assert.equal(await client.os.echo(`e${i}`), `e${i}`);
    assert.ok(client.session.stats().unmatched >= 19, 'the duplicates were dropped');
    await client.close();
  });

  test('in memory: answers one byte per second (slowBytesPerSec): the deadline is kept', async () => {
    const client = await memoryClient({ slowBytesPerSec: 1 });
    await rejectsWithin(client.os.echo('x', { timeoutMs: T }), SmpTimeoutError, T - 5, T + MARGIN);
    await client.close();
  });

  test('in memory: a core whose echo answer is a nesting bomb: SmpFrameError', async () => {
    const inner = createZephyrDevice();
    const core: SimDeviceCore = {
      personality: inner.personality,
      limits: inner.limits,
      reboot: () => inner.reboot(),
      handle(packet, via) {
        const step = inner.handle(packet, via);
        const h = decodeHeader(packet);
        if (h.group !== 0 || h.id !== 0) return step;
        const bomb = Buffer.concat([Buffer.from([0xbf, 0x61, 0x72]), Buffer.alloc(8000, 0x9f)]);
        const rh = decodeHeader(step.responses[0]!);
        return { ...step, responses: [buildPacket({ op: rh.op, version: rh.version, flags: rh.flags, group: rh.group, seq: rh.seq, id: rh.id }, bomb)] };
      },
    };
    const client = await memoryClient({}, core);
    await rejectsWithin(client.os.echo('x'), SmpFrameError, 0, 1000);
    assert.ok((await client.os.mcumgrParams()).bufSize > 0, 'other commands still work');
    await client.close();
  });

  test('on a PTY: a device answering one byte per second: SmpTimeoutError at the deadline', { skip: skipPty }, async (t: TestContext) => {
    const sim = await startSimulator({ transport: 'pty', encoding: 'console', faults: { slowBytesPerSec: 1 }, seed: 3 });
    sims.push(sim);
    const client = await MCUmgrClient.connect(sim.connection, { timeoutMs: 2000 });
    try {
      assert.ok(client.transport instanceof NativeSerialTransport);
      const w = watchBuffered(client.transport);
      await rejectsWithin(client.os.echo('x', { timeoutMs: 1000 }), SmpTimeoutError, 995, 1000 + MARGIN);
      await rejectsWithin(client.os.echo('y', { timeoutMs: T }), SmpTimeoutError, T - 5, T + MARGIN);
      w.stop();
      t.diagnostic(`buffered() max ${w.max} over ${w.samples} samples`);
      assert.ok(w.max <= 512, `buffered() reached ${w.max}`);
    } finally {
      await client.close();
    }
  });
});
