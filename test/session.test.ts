import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmpSession, type PreparedRequest, type ResponseSink, type SmpResponse } from '../src/session.js';
import { buildPacket, decodeHeader, Op } from '../src/codec/header.js';
import { decodeCborMap, encodeCbor } from '../src/codec/cbor.js';
import { TransportEmitter } from '../src/transport/emitter.js';
import type { Transport, TransportEvents } from '../src/transport/transport.js';
import { AbortError, SmpClosedError, SmpDeviceError, SmpFrameError, SmpFrameSizeError, SmpTimeoutError } from '../src/errors.js';

/** A transport whose peer is a function of the test: it sees each sent packet and may answer. */
class ScriptedTransport implements Transport {
  readonly kind = 'scripted';
  readonly maxPacket = undefined;
  readonly sent: Buffer[] = [];
  closed = false;
  readonly #em = new TransportEmitter();
  constructor(private readonly peer: (pkt: Buffer, t: ScriptedTransport) => void = () => {}) {}
  async send(packet: Buffer): Promise<void> {
    this.sent.push(Buffer.from(packet));
    queueMicrotask(() => this.peer(packet, this));
  }
  deliver(packet: Buffer): void {
    this.#em.emit('packet', packet);
  }
  on<E extends keyof TransportEvents>(event: E, l: TransportEvents[E]): () => void {
    return this.#em.on(event, l);
  }
  async close(): Promise<void> {
    this.closed = true;
    this.#em.emit('close');
  }
}

/** Answers like Zephyr: same seq/group/id, op+1, indefinite... here definite maps are fine. */
function reply(req: Buffer, body: object, patch: Partial<{ seq: number; group: number; id: number; op: number }> = {}): Buffer {
  const h = decodeHeader(req);
  return buildPacket(
    { op: patch.op ?? h.op + 1, version: h.version, flags: 0, group: patch.group ?? h.group, seq: patch.seq ?? h.seq, id: patch.id ?? h.id },
    encodeCbor(body),
  );
}

test('request: header bytes, seq from seqStart, body decoded', async () => {
  const t = new ScriptedTransport((p, tr) => tr.deliver(reply(p, { r: decodeCborMap(p.subarray(8)).d })));
  const s = new SmpSession(t, { seqStart: 1 });
  const rsp = await s.request(Op.READ, 0, 0, { d: 'hi' });
  assert.equal(t.sent[0]!.toString('hex'), '0800000600000100a16164626869'); // PROTOCOL.md §9.2 echo request
  assert.deepEqual(rsp.body, { r: 'hi' });
  assert.equal(rsp.header.seq, 1);
});

test('sequence numbers wrap at 255 and skip numbers still in flight', async () => {
  const held: Buffer[] = [];
  const t = new ScriptedTransport((p) => held.push(p));
  const s = new SmpSession(t, { seqStart: 254, timeoutMs: 60000 });
  const a = s.request(Op.READ, 0, 0, {}); // 254, stays in flight
  for (let i = 0; i < 256; i++) {
    const p = s.request(Op.READ, 0, 0, {});
    await new Promise((r) => setImmediate(r));
    const last = held[held.length - 1]!;
    t.deliver(reply(last, {}));
    await p;
  }
  const seqs = t.sent.map((p) => p[6]);
  assert.equal(seqs[0], 254);
  assert.equal(seqs[1], 255);
  assert.equal(seqs[2], 0);
  assert.ok(!seqs.slice(1).includes(254), 'seq 254 is in flight and must not be reused');
  t.deliver(reply(held[0]!, { ok: true }));
  assert.deepEqual((await a).body, { ok: true });
});

test('several requests in flight are matched by seq, group and command, in any order', async () => {
  const held: Buffer[] = [];
  const t = new ScriptedTransport((p) => held.push(p));
  const s = new SmpSession(t, { seqStart: 10 });
  const p1 = s.request(Op.READ, 0, 0, { d: 'a' });
  const p2 = s.request(Op.READ, 1, 0, {});
  const p3 = s.request(Op.WRITE, 8, 0, { off: 0 });
  await new Promise((r) => setImmediate(r));
  assert.equal(held.length, 3);
  t.deliver(reply(held[2]!, { off: 5 }));
  t.deliver(reply(held[0]!, { r: 'a' }));
  t.deliver(reply(held[1]!, { images: [] }));
  assert.deepEqual((await p1).body, { r: 'a' });
  assert.deepEqual((await p2).body, { images: [] });
  assert.deepEqual((await p3).body, { off: 5 });
  assert.equal(s.stats().received, 3);
});

test('a response with the right seq but wrong group or command is dropped and counted, not taken', async () => {
  const held: Buffer[] = [];
  const t = new ScriptedTransport((p) => held.push(p));
  const s = new SmpSession(t, { seqStart: 3 });
  const p = s.request(Op.READ, 1, 0, {});
  await new Promise((r) => setImmediate(r));
  t.deliver(reply(held[0]!, { bogus: 1 }, { group: 0 }));
  t.deliver(reply(held[0]!, { bogus: 2 }, { id: 5 }));
  t.deliver(reply(held[0]!, { bogus: 3 }, { op: Op.WRITE_RSP }));
  t.deliver(reply(held[0]!, { bogus: 4 }, { seq: 99 })); // unsolicited
  t.deliver(reply(held[0]!, { images: [] }));
  assert.deepEqual((await p).body, { images: [] });
  assert.equal(s.stats().unmatched, 4);
  t.deliver(reply(held[0]!, { late: true })); // duplicate after completion
  assert.equal(s.stats().unmatched, 5);
});

test('malformed packets (short, length disagreeing, request op) are counted and ignored', async () => {
  const t = new ScriptedTransport();
  const s = new SmpSession(t);
  t.deliver(Buffer.from([1, 2, 3]));
  t.deliver(Buffer.from('0900000700000100bf6172', 'hex')); // length 7 but 3 bytes follow
  t.deliver(Buffer.from('0800000100000100a0', 'hex')); // a READ, not a response
  assert.equal(s.stats().malformed, 3);
});

test('v1 rc and v2 err become SmpDeviceError with names', async () => {
  const t = new ScriptedTransport((p, tr) => {
    const h = decodeHeader(p);
    tr.deliver(reply(p, h.group === 1 ? { err: { group: 1, rc: 9 } } : { rc: 8 }));
  });
  const s = new SmpSession(t);
  await assert.rejects(s.request(Op.WRITE, 1, 1, { off: 0 }), (e: unknown) => {
    assert.ok(e instanceof SmpDeviceError);
    assert.equal(e.code, 'SMP_ERR_GROUP');
    assert.equal(e.rcName, 'IMG_MGMT_ERR_NO_FREE_SLOT');
    assert.equal(e.style, 'err');
    return true;
  });
  await assert.rejects(s.request(Op.READ, 0, 1, {}), (e: unknown) => {
    assert.ok(e instanceof SmpDeviceError);
    assert.equal(e.code, 'SMP_ERR_DEVICE');
    assert.equal(e.rcName, 'MGMT_ERR_ENOTSUP');
    assert.equal(e.rc, 8);
    return true;
  });
  // rc 0 (MCUboot, legacy) is success; rawErrors leaves errors to the caller.
  const t2 = new ScriptedTransport((p, tr) => tr.deliver(reply(p, { rc: 0, off: 4 })));
  assert.deepEqual((await new SmpSession(t2).request(Op.WRITE, 1, 1, {})).body, { rc: 0, off: 4 });
  const raw = await s.request(Op.READ, 0, 1, {}, { rawErrors: true });
  assert.equal(raw.body.rc, 8);
});

test('timeout rejects with SmpTimeoutError; a late answer is then unmatched', async () => {
  const held: Buffer[] = [];
  const t = new ScriptedTransport((p) => held.push(p));
  const s = new SmpSession(t);
  await assert.rejects(s.request(Op.READ, 0, 0, {}, { timeoutMs: 30 }), SmpTimeoutError);
  t.deliver(reply(held[0]!, {}));
  assert.equal(s.stats().unmatched, 1);
  assert.equal(s.stats().timeouts, 1);
  assert.equal(s.inFlight, 0);
});

test('retries resend READs after a timeout with a new seq; WRITEs refuse retries', async () => {
  let n = 0;
  const t = new ScriptedTransport((p, tr) => {
    if (++n === 3) tr.deliver(reply(p, { ok: 1 }));
  });
  const s = new SmpSession(t);
  const r = await s.request(Op.READ, 0, 6, {}, { timeoutMs: 20, retries: 3 });
  assert.deepEqual(r.body, { ok: 1 });
  assert.equal(t.sent.length, 3);
  assert.equal(new Set(t.sent.map((p) => p[6])).size, 3);
  assert.equal(s.stats().retries, 2);
  await assert.rejects(() => s.request(Op.WRITE, 1, 1, {}, { retries: 1 }), RangeError);
  assert.equal(t.sent.length, 3, 'nothing sent for a refused write');
});

test('AbortSignal cancels a request in flight and one not yet sent', async () => {
  const t = new ScriptedTransport();
  const s = new SmpSession(t);
  const ac = new AbortController();
  const p = s.request(Op.READ, 0, 0, {}, { signal: ac.signal, timeoutMs: 60000 });
  ac.abort();
  await assert.rejects(p, AbortError);
  assert.equal(s.inFlight, 0);
  await assert.rejects(s.request(Op.READ, 0, 0, {}, { signal: ac.signal }), AbortError);
  assert.equal(t.sent.length, 1);
});

test('bad arguments fail before any byte is sent', async () => {
  const t = new ScriptedTransport();
  const s = new SmpSession(t, { maxPacket: 20 });
  await assert.rejects(() => s.request(5, 0, 0, {}), RangeError);
  await assert.rejects(() => s.request(Op.READ, 70000, 0, {}), RangeError);
  await assert.rejects(() => s.request(Op.READ, 0, 300, {}), RangeError);
  await assert.rejects(() => s.request(Op.READ, 0, 0, {}, { timeoutMs: -1 }), RangeError);
  await assert.rejects(() => s.request(Op.WRITE, 1, 1, { data: Buffer.alloc(100) }), SmpFrameSizeError);
  assert.equal(t.sent.length, 0);
});

test('an answer that is not a CBOR map rejects with SmpFrameError; close rejects in-flight and new calls', async () => {
  const held: Buffer[] = [];
  const t = new ScriptedTransport((p) => held.push(p));
  const s = new SmpSession(t);
  const p = s.request(Op.READ, 0, 0, {});
  await new Promise((r) => setImmediate(r));
  const h = decodeHeader(held[0]!);
  t.deliver(buildPacket({ ...h, op: 1 }, Buffer.from('bf6172', 'hex')));
  await assert.rejects(p, SmpFrameError);
  const q = s.request(Op.READ, 0, 0, {});
  s.close();
  await assert.rejects(q, SmpClosedError);
  await assert.rejects(s.request(Op.READ, 0, 0, {}), SmpClosedError);
});

test('transport close fails everything in flight with SmpClosedError', async () => {
  const t = new ScriptedTransport();
  const s = new SmpSession(t);
  const p = s.request(Op.READ, 0, 0, {}, { timeoutMs: 60000 });
  await t.close();
  await assert.rejects(p, SmpClosedError);
});

test('one deadline timer: a shorter deadline after a longer one still ends on time; answered ones never time out', async () => {
  const held: Buffer[] = [];
  const t = new ScriptedTransport((p) => held.push(p));
  const s = new SmpSession(t);
  const started = performance.now();
  const long = s.request(Op.READ, 0, 0, {}, { timeoutMs: 400 });
  const shortErr = await s.request(Op.READ, 0, 0, {}, { timeoutMs: 40 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  const shortAt = performance.now() - started;
  assert.ok(shortErr instanceof SmpTimeoutError);
  assert.ok(shortAt >= 39 && shortAt < 300, `the 40 ms request ended at ${shortAt.toFixed(0)} ms, not with the 400 ms one`);
  // The 400 ms request is answered before its deadline: it resolves, and no timeout is counted for it.
  t.deliver(reply(held[0]!, { ok: 1 }));
  assert.deepEqual((await long).body, { ok: 1 });
  await new Promise((r) => setTimeout(r, 450));
  assert.equal(s.stats().timeouts, 1);
  assert.equal(s.inFlight, 0);
});

test('an idle session keeps no process alive; a request in flight does until its deadline', async () => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const run = promisify(execFile);
  // A child with a session: one request answered at once, then nothing in flight. It must exit
  // long before the 60 s default deadline that the one timer was armed for.
  const script = `
    import { SmpSession } from ${JSON.stringify(new URL('../src/session.ts', import.meta.url).href)};
    import { TransportEmitter } from ${JSON.stringify(new URL('../src/transport/emitter.ts', import.meta.url).href)};
    import { buildPacket, decodeHeader } from ${JSON.stringify(new URL('../src/codec/header.ts', import.meta.url).href)};
    const em = new TransportEmitter();
    const t = { kind: 'x', maxPacket: undefined, closed: false, on: (e, l) => em.on(e, l), close: async () => {},
      send: async (p) => { const h = decodeHeader(p); queueMicrotask(() => em.emit('packet', buildPacket({ ...h, op: h.op + 1 }, Buffer.from([0xa0])))); } };
    const s = new SmpSession(t, { timeoutMs: 60000 });
    await s.request(0, 0, 0, {});
    console.log('answered');
  `;
  const started = performance.now();
  const r = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 20_000 });
  assert.equal(r.stdout.trim(), 'answered');
  assert.ok(performance.now() - started < 15_000, 'the process exited without waiting for the deadline');
});

test('sendTo: the raw answer or the error goes to the sink, once; bad input throws before sending', async () => {
  const held: Buffer[] = [];
  const t = new ScriptedTransport((p) => held.push(p));
  const s = new SmpSession(t);
  const got: string[] = [];
  const sink = { answer: (r: { body: unknown }) => got.push(`answer ${JSON.stringify(r.body)}`), fail: (e: Error) => got.push(`fail ${e.name}`) };
  s.sendTo(Op.WRITE, 1, 1, { off: 0 }, 1000, undefined, sink);
  await new Promise((r) => setImmediate(r));
  t.deliver(reply(held[0]!, { rc: 3 })); // a device error stays a raw answer here
  s.sendTo(Op.WRITE, 1, 1, { off: 8 }, 30, undefined, sink);
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(got, ['answer {"rc":3}', 'fail SmpTimeoutError']);
  assert.throws(() => s.sendTo(7, 1, 1, {}, 100, undefined, sink), RangeError);
  assert.equal(held.length, 2, 'nothing sent for the bad request');
  s.close();
  s.sendTo(Op.READ, 0, 0, {}, 100, undefined, sink);
  await new Promise((r) => setImmediate(r));
  assert.equal(got.at(-1), 'fail SmpClosedError');
});

test('a sink that throws cannot stop the others: every deadline still ends, the error is rethrown apart; closing from a sink stops the timer', async () => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const script = `
    import { SmpSession } from ${JSON.stringify(new URL('../src/session.ts', import.meta.url).href)};
    import { TransportEmitter } from ${JSON.stringify(new URL('../src/transport/emitter.ts', import.meta.url).href)};
    const em = new TransportEmitter();
    const t = { kind: 'x', maxPacket: undefined, closed: false, on: (e, l) => em.on(e, l), close: async () => {}, send: async () => {} };
    const thrown = [];
    process.on('uncaughtException', (e) => thrown.push(e.message));
    const s = new SmpSession(t);
    const got = [];
    const sink = (name, act) => ({ answer: () => got.push(name + ' answer'), fail: (e) => { got.push(name + ' ' + e.name); act?.(); } });
    s.sendTo(0, 0, 0, {}, 50, undefined, sink('a', () => { throw new Error('sink a broke'); }));
    s.sendTo(0, 0, 0, {}, 50, undefined, sink('b'));
    s.sendTo(0, 0, 0, {}, 150, undefined, sink('c', () => s.close()));
    s.sendTo(0, 0, 0, {}, 30000, undefined, sink('d'));
    const started = Date.now();
    process.on('exit', () => console.log(JSON.stringify({ got, thrown, ms: Date.now() - started })));
  `;
  const r = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 20_000 });
  const out = JSON.parse(r.stdout.trim()) as { got: string[]; thrown: string[]; ms: number };
  assert.deepEqual(out.got, ['a SmpTimeoutError', 'b SmpTimeoutError', 'c SmpTimeoutError', 'd SmpClosedError']);
  assert.deepEqual(out.thrown, ['sink a broke']);
  assert.ok(out.ms < 5000, `the process exited after the close, not at d's 30 s deadline (${out.ms} ms)`);
});

test('an answer keeps its payload as received only from a transport that owns its packets; others are copied', async () => {
  for (const own of [false, true]) {
    let answer: Buffer | undefined;
    const t = new ScriptedTransport((p, tr) => {
      answer = reply(p, { r: 'abc' });
      tr.deliver(answer);
    });
    if (own) Object.defineProperty(t, 'ownPackets', { value: true });
    const s = new SmpSession(t, { seqStart: 3 });
    const rsp = await s.request(Op.READ, 0, 0, { d: 'abc' });
    assert.deepEqual(rsp.payload, answer!.subarray(8));
    // A transport that reuses its receive buffer overwrites it: the answer must not change then.
    answer!.fill(0xee, 8);
    assert.equal(rsp.payload.every((b) => b === 0xee), own, own ? 'shared with the packet' : 'a copy of its own');
    assert.deepEqual(rsp.body, { r: 'abc' });
  }
});

/** A scripted transport that frames ahead: a frame is the joined packet; it records how each packet went. */
class FramingTransport extends ScriptedTransport {
  readonly how: Array<'frame' | 'parts'> = [];
  frameAhead(parts: readonly Buffer[]): readonly Uint8Array[] {
    return [Buffer.concat(parts)];
  }
  sendFrame(frame: readonly Uint8Array[]): void {
    this.how.push('frame');
    void this.send(Buffer.from(frame[0]!));
  }
  sendPartsNow(parts: readonly Buffer[]): void {
    this.how.push('parts');
    void this.send(Buffer.concat(parts));
  }
}

/** A PreparedRequest of the test's own. */
const holder = (): PreparedRequest => ({ parts: undefined, seq: 0, frame: undefined, op: 0, group: 0, id: 0 });

/** A sink that resolves with the answer. */
function sinkPromise(): { sink: ResponseSink; answer: Promise<SmpResponse> } {
  let sink!: ResponseSink;
  const answer = new Promise<SmpResponse>((resolve, reject) => (sink = { answer: resolve, fail: reject }));
  return { sink, answer };
}

test('prepare + sendPrepared: the frame built ahead goes out as built, with the number the session uses next', async () => {
  const t = new FramingTransport((p, tr) => tr.deliver(reply(p, { off: 42 })));
  const s = new SmpSession(t, { seqStart: 7 });
  const req = holder();
  s.prepare(req, Op.WRITE, 1, 1, { off: 0, data: Buffer.alloc(100, 1) });
  assert.equal(req.seq, 7);
  assert.ok(req.frame, 'framed ahead');
  const { sink, answer } = sinkPromise();
  s.sendPrepared(req, undefined, undefined, sink);
  assert.equal((await answer).body.off, 42);
  assert.deepEqual(t.how, ['frame']);
  // The same bytes sendTo would have sent with that number.
  const direct = new FramingTransport((p, tr) => tr.deliver(reply(p, { off: 42 })));
  const d = sinkPromise();
  new SmpSession(direct, { seqStart: 7 }).sendTo(Op.WRITE, 1, 1, { off: 0, data: Buffer.alloc(100, 1) }, undefined, undefined, d.sink);
  await d.answer;
  assert.deepEqual(t.sent[0], direct.sent[0]);
  assert.throws(() => s.sendPrepared(req, undefined, undefined, sink), /not prepared, or was sent already/);
});

test('prepare + sendPrepared: a request sent in between takes the number, and the prepared one is framed again with the next', async () => {
  const t = new FramingTransport((p, tr) => tr.deliver(reply(p, { off: decodeHeader(p).seq })));
  const s = new SmpSession(t, { seqStart: 20 });
  const req = holder();
  s.prepare(req, Op.WRITE, 1, 1, { off: 0, data: Buffer.alloc(80, 2) });
  assert.equal(req.seq, 20);
  const between = s.request(Op.READ, 0, 0, { d: 'x' }); // takes 20
  const { sink, answer } = sinkPromise();
  s.sendPrepared(req, undefined, undefined, sink);
  assert.equal((await between).header.seq, 20);
  const rsp = await answer;
  assert.equal(rsp.header.seq, 21);
  assert.equal(rsp.body.off, 21, 'the device saw the prepared packet with number 21');
  assert.deepEqual(t.how, ['parts', 'parts'], 'the stale frame was not sent');
  assert.equal(decodeHeader(t.sent[1]!).seq, 21);
  assert.deepEqual(decodeCborMap(t.sent[1]!.subarray(8)).data, Buffer.alloc(80, 2));
});

test('prepare refuses bad input before anything is sent; sendPrepared without prepare throws', () => {
  const t = new FramingTransport();
  const s = new SmpSession(t, { maxPacket: 64 });
  assert.throws(() => s.prepare(holder(), Op.WRITE, 1, 1, { data: Buffer.alloc(100) }), SmpFrameSizeError);
  assert.throws(() => s.prepare(holder(), 5, 1, 1, {}), RangeError);
  assert.throws(() => s.sendPrepared(holder(), undefined, undefined, { answer() {}, fail() {} }), TypeError);
  assert.equal(t.sent.length, 0);
});

test('sendPrepared refuses a packet the frame size was lowered below since it was prepared', () => {
  const t = new FramingTransport();
  const s = new SmpSession(t, { maxPacket: 512 });
  const req = holder();
  s.prepare(req, Op.WRITE, 1, 1, { off: 0, data: Buffer.alloc(300) });
  s.maxPacket = 128;
  assert.throws(() => s.sendPrepared(req, undefined, undefined, { answer() {}, fail() {} }), SmpFrameSizeError);
  assert.equal(t.sent.length, 0);
  assert.equal(s.inFlight, 0);
});
