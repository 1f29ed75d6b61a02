/**
 * MCUmgrClient as a whole: closing, `await using`, frame size and useAutoFrameSize, request
 * size limits, timeout classes, retries of reads, option validation.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MCUmgrClient } from '../src/client.js';
import { DEFAULT_FRAME_SIZE } from '../src/client/options.js';
import { decodeHeader, buildPacket, Op, SMP_HEADER_SIZE } from '../src/codec/header.js';
import { decodeCborMap, encodeCbor, type CborMap } from '../src/codec/cbor.js';
import { TransportEmitter } from '../src/transport/emitter.js';
import type { Transport, TransportEvents } from '../src/transport/transport.js';
import type { SerialEncoding } from '../src/transport/framing.js';
import { SmpClosedError, SmpDeviceError, SmpFrameSizeError, SmpTimeoutError } from '../src/errors.js';

interface Req {
  op: number;
  group: number;
  id: number;
  body: CborMap;
  size: number;
}

class FakeDevice implements Transport {
  kind = 'memory';
  maxPacket: number | undefined = undefined;
  closed = false;
  encoding: SerialEncoding | undefined;
  readonly sent: Req[] = [];
  readonly #em = new TransportEmitter();
  constructor(public answer: (r: Req, n: number) => CborMap | undefined) {}
  on<E extends keyof TransportEvents>(e: E, l: TransportEvents[E]): () => void {
    return this.#em.on(e, l);
  }
  async send(p: Buffer): Promise<void> {
    if (this.closed) throw new SmpClosedError();
    const h = decodeHeader(p);
    const r: Req = { op: h.op, group: h.group, id: h.id, body: decodeCborMap(p.subarray(SMP_HEADER_SIZE)), size: p.length };
    this.sent.push(r);
    const a = this.answer(r, this.sent.length);
    if (a === undefined) return;
    setImmediate(() => this.#em.emit('packet', buildPacket({ op: h.op + 1, version: h.version, flags: 0, group: h.group, seq: h.seq, id: h.id }, encodeCbor(a))));
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.#em.emit('close');
  }
}

const echo = (r: Req): CborMap | undefined => (r.group === 0 && r.id === 0 ? { r: r.body.d } : { rc: 8 });

describe('closing', () => {
  test('close() closes the transport; new calls reject with SmpClosedError and send nothing', async () => {
    const dev = new FakeDevice(echo);
    const client = MCUmgrClient.fromTransport(dev);
    assert.equal(await client.os.echo('a'), 'a');
    assert.equal(client.closed, false);
    await client.close();
    await client.close(); // idempotent
    assert.equal(client.closed, true);
    assert.equal(dev.closed, true);
    await assert.rejects(client.os.echo('b'), SmpClosedError);
    await assert.rejects(client.image.state(), SmpClosedError);
    await assert.rejects(client.raw(Op.READ, 0, 0, {}), SmpClosedError);
    await assert.rejects(client.fs.download('/a'), SmpClosedError);
    await assert.rejects(client.image.upload(Buffer.alloc(64)), SmpClosedError);
    assert.throws(() => client.transferContext(), SmpClosedError);
    assert.equal(dev.sent.length, 1);
  });

  test('a request in flight rejects with SmpClosedError when the client closes', async () => {
    const dev = new FakeDevice(() => undefined);
    const client = MCUmgrClient.fromTransport(dev);
    const p = client.os.echo('never');
    await client.close();
    await assert.rejects(p, SmpClosedError);
  });

  test('the transport closing on its own closes the client', async () => {
    const dev = new FakeDevice(echo);
    const client = MCUmgrClient.fromTransport(dev);
    await dev.close();
    assert.equal(client.closed, true);
    await assert.rejects(client.os.echo('x'), SmpClosedError);
  });

  test('closeTransport: false leaves the transport open', async () => {
    const dev = new FakeDevice(echo);
    const client = MCUmgrClient.fromTransport(dev, { closeTransport: false });
    await client.close();
    assert.equal(dev.closed, false);
    const again = MCUmgrClient.fromTransport(dev);
    assert.equal(await again.os.echo('still'), 'still');
    await again.close();
  });

  test('await using closes the client at the end of the block', async () => {
    const dev = new FakeDevice(echo);
    let ref: MCUmgrClient | undefined;
    {
      await using client = MCUmgrClient.fromTransport(dev);
      ref = client;
      assert.equal(await client.os.echo('in'), 'in');
    }
    assert.equal(ref.closed, true);
    assert.equal(dev.closed, true);
  });
});

describe('frame size', () => {
  test('default 384; useAutoFrameSize takes buf_size and buf_count', async () => {
    const dev = new FakeDevice((r) => (r.group === 0 && r.id === 6 ? { buf_size: 1024, buf_count: 4 } : { rc: 8 }));
    const client = MCUmgrClient.fromTransport(dev);
    assert.equal(client.frameSize, DEFAULT_FRAME_SIZE);
    assert.equal(client.maxRequest, 384);
    const r = await client.useAutoFrameSize();
    assert.deepEqual(r, { frameSize: 1024, maxRequest: 1024, bufCount: 4, source: 'device' });
    assert.equal(client.transferContext().maxRequest, 1024);
    assert.equal(client.transferContext().bufCount, 4);
    assert.deepEqual(dev.sent[0], { op: Op.READ, group: 0, id: 6, body: {}, size: 9 });
  });

  test('useAutoFrameSize falls back to the initial frame size on ENOTSUP', async () => {
    const dev = new FakeDevice(() => ({ rc: 8 }));
    const client = MCUmgrClient.fromTransport(dev);
    client.setFrameSize(2048);
    const r = await client.useAutoFrameSize();
    assert.deepEqual(r, { frameSize: 384, maxRequest: 384, bufCount: undefined, source: 'fallback' });
    const c2 = MCUmgrClient.fromTransport(new FakeDevice(() => ({ rc: 8 })), { frameSize: 512 });
    assert.equal((await c2.useAutoFrameSize()).frameSize, 512);
  });

  test('useAutoFrameSize passes other errors on', async () => {
    const client = MCUmgrClient.fromTransport(new FakeDevice(() => ({ rc: 2 })));
    await assert.rejects(client.useAutoFrameSize(), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'MGMT_ERR_ENOMEM');
    const c2 = MCUmgrClient.fromTransport(new FakeDevice(() => undefined), { timeoutMs: 30 });
    await assert.rejects(c2.useAutoFrameSize(), SmpTimeoutError);
  });

  test('console serial: requests are limited to buf_size − 4', async () => {
    const dev = new FakeDevice((r) => (r.id === 6 ? { buf_size: 512, buf_count: 2 } : echo(r)));
    dev.kind = 'serial';
    dev.encoding = 'console';
    const client = MCUmgrClient.fromTransport(dev);
    assert.equal(client.maxRequest, 380);
    await client.useAutoFrameSize();
    assert.equal(client.maxRequest, 508);
    const raw = new FakeDevice(echo);
    raw.kind = 'serial';
    raw.encoding = 'raw';
    assert.equal(MCUmgrClient.fromTransport(raw).maxRequest, 384);
    assert.equal(MCUmgrClient.fromTransport(new FakeDevice(echo), { consoleFraming: true }).maxRequest, 380);
  });

  test('the transport limit caps the request size', () => {
    const dev = new FakeDevice(echo);
    dev.maxPacket = 200;
    const client = MCUmgrClient.fromTransport(dev, { frameSize: 2048 });
    assert.equal(client.maxRequest, 200);
  });

  test('a request larger than the frame size fails before sending', async () => {
    const dev = new FakeDevice(echo);
    const client = MCUmgrClient.fromTransport(dev);
    await assert.rejects(client.os.echo('x'.repeat(400)), SmpFrameSizeError);
    assert.equal(dev.sent.length, 0);
    client.setFrameSize(1024);
    assert.equal((await client.os.echo('x'.repeat(400))).length, 400);
  });

  test('setFrameSize validates', () => {
    const client = MCUmgrClient.fromTransport(new FakeDevice(echo));
    assert.throws(() => client.setFrameSize(10), (e: unknown) => e instanceof RangeError && /frameSize/.test(e.message));
    assert.throws(() => client.setFrameSize(1.5), RangeError);
    assert.throws(() => client.setFrameSize(70000), RangeError);
  });
});

describe('timeouts and retries', () => {
  test('reset uses the reset class; per-call timeoutMs wins', async () => {
    const client = MCUmgrClient.fromTransport(new FakeDevice(() => undefined), { timeoutMs: 200, resetTimeoutMs: 25 });
    const e = await client.os.reset().catch((x: unknown) => x);
    assert.ok(e instanceof SmpTimeoutError);
    assert.equal(e.timeoutMs, 25);
    const e2 = await client.os.echo('x', { timeoutMs: 15 }).catch((x: unknown) => x);
    assert.equal((e2 as SmpTimeoutError).timeoutMs, 15);
    client.setTimeouts({ default: 10 });
    assert.deepEqual(client.timeouts, { default: 10, long: 30000, reset: 25 });
    assert.equal(((await client.os.echo('x').catch((x: unknown) => x)) as SmpTimeoutError).timeoutMs, 10);
    assert.throws(() => client.setTimeouts({ short: 1 } as never), RangeError);
    assert.throws(() => client.setTimeouts({ long: -1 }), RangeError);
  });

  test('reads are retried after a timeout; writes never are', async () => {
    const dev = new FakeDevice((r, n) => (n === 1 || r.op === Op.WRITE ? undefined : echo(r)));
    const client = MCUmgrClient.fromTransport(dev, { timeoutMs: 30, retries: 2 });
    assert.equal(await client.os.echo('again'), 'again');
    assert.equal(dev.sent.length, 2);
    await assert.rejects(client.os.reset(), SmpTimeoutError);
    assert.equal(dev.sent.length, 3);
    assert.equal(client.retries, 2);
    client.retries = 0;
    assert.throws(() => (client.retries = -1), RangeError);
  });

  test('an AbortSignal cancels a command', async () => {
    const client = MCUmgrClient.fromTransport(new FakeDevice(() => undefined));
    const ac = new AbortController();
    const p = client.os.echo('x', { signal: ac.signal });
    ac.abort();
    await assert.rejects(p, (e: unknown) => (e as Error).name === 'AbortError');
  });
});

describe('options', () => {
  test('bad client options are rejected with the option named', () => {
    const dev = new FakeDevice(echo);
    assert.throws(() => MCUmgrClient.fromTransport(dev, { version: 2 as 1 }), /options\.version/);
    assert.throws(() => MCUmgrClient.fromTransport(dev, { timeoutMs: -5 }), /options\.timeoutMs/);
    assert.throws(() => MCUmgrClient.fromTransport(dev, { frameSize: 8 }), /options\.frameSize/);
    assert.throws(() => MCUmgrClient.fromTransport(dev, { retries: 1.5 }), /retries/);
    assert.throws(() => MCUmgrClient.fromTransport(dev, { consoleFraming: 'yes' as unknown as boolean }), /consoleFraming/);
    assert.throws(() => MCUmgrClient.fromTransport({} as Transport), TypeError);
    assert.equal(dev.sent.length, 0);
  });

  test('SMP v1 sends header version 0', async () => {
    const dev = new FakeDevice(echo);
    const seen: number[] = [];
    const orig = dev.send.bind(dev);
    dev.send = async (p: Buffer) => {
      seen.push(decodeHeader(p).version);
      return orig(p);
    };
    const client = MCUmgrClient.fromTransport(dev, { version: 0 });
    await client.os.echo('v1');
    assert.deepEqual(seen, [0]);
  });

  test('static constructors validate before opening anything', async () => {
    await assert.rejects(MCUmgrClient.serial('' as string), TypeError);
    await assert.rejects(MCUmgrClient.serial('/dev/null-not-a-port', { frameSize: 1 }), /options\.frameSize/);
    await assert.rejects(MCUmgrClient.usbSerial('2fe3'), /VID:PID/);
    await assert.rejects(MCUmgrClient.udp('127.0.0.1', 0), /port/);
    await assert.rejects(MCUmgrClient.udp('127.0.0.1', 1337, { timeoutMs: 0 }), /options\.timeoutMs/);
    await assert.rejects(MCUmgrClient.connect('tcp:1.2.3.4'), /unknown scheme "tcp"/);
  });
});
