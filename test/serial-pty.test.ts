/**
 * The native serial transport against a real PTY: a small echo device holds the master side (with
 * the device's framing), the transport opens the slave path, and real SMP packets go both ways in
 * every encoding.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../src/addon.js';
import { buildPacket, decodeHeader, Op, SMP_HEADER_SIZE } from '../src/codec/header.js';
import { decodeCborMap, encodeCbor } from '../src/codec/cbor.js';
import { SmpClosedError, TransportError } from '../src/errors.js';
import { SerialFraming, type SerialEncoding } from '../src/transport/framing.js';
import { createPty, ptyAvailable, type Pty } from '../src/sim/pty.js';
import { NativeSerialTransport } from '../src/transport/serial-native.js';
import { openSerialTransport, SerialTransport, NativeByteLink, type ByteLink } from '../src/transport/serial.js';
import { buildPacketParts } from '../src/codec/packet.js';
import { SerialPortFallbackTransport } from '../src/transport/serial-port-fallback.js';

const skip = !ptyAvailable(native) ? 'the native addon with serial I/O is not built' : false;
const ENCODINGS: SerialEncoding[] = ['console', 'raw', 'cobs'];

function request(seq: number, body: Record<string, unknown>): Buffer {
  return buildPacket({ op: Op.WRITE, version: 1, flags: 0, group: 0, seq: seq & 0xff, id: 0 }, encodeCbor(body));
}

/** How the echo device writes each reply. */
type WriteMode = 'whole' | 'bytewise' | 'random';

/** A tiny SMP device on the PTY master: answers every request with its `d` echoed as `r`. */
class EchoDevice {
  readonly framing: SerialFraming;
  readonly rawIn: Buffer[] = [];
  readonly requests: Buffer[] = [];
  mode: WriteMode = 'whole';
  #queue: Buffer[] = [];
  #writing = false;

  constructor(
    readonly pty: Pty,
    encoding: SerialEncoding,
  ) {
    this.framing = new SerialFraming({ encoding, split: 'zephyr', maxPacket: 65000 });
    pty.onData((chunk) => {
      this.rawIn.push(chunk);
      for (const p of this.framing.decode(chunk)) this.#onRequest(p);
    });
  }

  #onRequest(p: Buffer): void {
    this.requests.push(p);
    const h = decodeHeader(p);
    const body = decodeCborMap(p.subarray(SMP_HEADER_SIZE));
    if (body.burst !== undefined) {
      // Answer with many packets in a single write while the client reads.
      const n = body.burst as number;
      const frames: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        const payload = encodeCbor({ i, fill: Buffer.alloc(body.size as number, i & 0xff) });
        frames.push(this.framing.encode(buildPacket({ ...h, op: Op.WRITE_RSP, seq: (h.seq + i) & 0xff }, payload)));
      }
      this.pty.write(Buffer.concat(frames));
      return;
    }
    const reply = buildPacket({ ...h, op: h.op + 1 }, encodeCbor({ r: body.d }));
    this.#send(this.framing.encode(reply));
  }

  #send(frame: Buffer): void {
    if (this.mode === 'whole') {
      this.pty.write(frame);
      return;
    }
    // Split the frame over several writes with a turn of the event loop between them.
    let off = 0;
    while (off < frame.length) {
      const n = this.mode === 'bytewise' ? 1 : 1 + Math.floor(Math.random() * 7);
      this.#queue.push(frame.subarray(off, off + n));
      off += n;
    }
    this.#pump();
  }

  #pump(): void {
    if (this.#writing) return;
    this.#writing = true;
    const step = (): void => {
      const piece = this.#queue.shift();
      if (!piece || this.pty.closed) {
        this.#writing = false;
        return;
      }
      this.pty.write(piece);
      setImmediate(step);
    };
    step();
  }
}

function collect(t: SerialTransport, n: number, timeoutMs = 10000): Promise<Buffer[]> {
  const got: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out with ${got.length}/${n} packets`)), timeoutMs);
    const off = t.on('packet', (p) => {
      got.push(p);
      if (got.length === n) {
        clearTimeout(timer);
        off();
        resolve(got);
      }
    });
    t.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

async function pair(encoding: SerialEncoding, extra: { rawStallMs?: number; maxPacket?: number } = {}) {
  const pty = createPty();
  const dev = new EchoDevice(pty, encoding);
  const client = new NativeSerialTransport({ path: pty.path, encoding, baudRate: 115200, ...extra });
  return { pty, dev, client };
}

function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => {
      if (cond()) return resolve();
      if (Date.now() - t0 > timeoutMs) return reject(new Error('condition not met in time'));
      setTimeout(tick, 5);
    };
    tick();
  });
}

describe('native serial transport over a PTY', { skip }, () => {
  for (const encoding of ENCODINGS) {
    describe(encoding, () => {
      test('exchanges SMP packets both ways', async () => {
        const { pty, dev, client } = await pair(encoding);
        try {
          const n = 40;
          const done = collect(client, n);
          for (let i = 0; i < n; i++) await client.send(request(i, { d: `hello ${i} ${'x'.repeat(i * 7)}` }));
          const replies = await done;
          assert.equal(dev.requests.length, n);
          replies.forEach((p, i) => {
            const h = decodeHeader(p);
            assert.equal(h.op, Op.WRITE_RSP);
            assert.equal(h.seq, i);
            assert.equal(h.length, p.length - SMP_HEADER_SIZE);
            assert.deepEqual(decodeCborMap(p.subarray(SMP_HEADER_SIZE)), { r: `hello ${i} ${'x'.repeat(i * 7)}` });
          });
          if (encoding === 'cobs') assert.equal(dev.rawIn[0]![0], 0, 'a 0x00 precedes the first COBS frame after open');
        } finally {
          await client.close();
          pty.close();
        }
      });

      test('reassembles replies split across many writes', async () => {
        const { pty, dev, client } = await pair(encoding);
        try {
          for (const mode of ['bytewise', 'random'] as const) {
            dev.mode = mode;
            const done = collect(client, 5);
            for (let i = 0; i < 5; i++) await client.send(request(i, { d: Buffer.alloc(150 + i, i) }));
            const replies = await done;
            replies.forEach((p, i) =>
              assert.deepEqual(decodeCborMap(p.subarray(SMP_HEADER_SIZE)).r, Buffer.alloc(150 + i, i), `${mode} reply ${i}`),
            );
          }
        } finally {
          await client.close();
          pty.close();
        }
      });

      test('moves a 200 KB burst each way', async () => {
        const { pty, dev, client } = await pair(encoding);
        try {
          // Client → device: 100 packets of ~2 KB queued at once (more than the PTY buffers).
          const n = 100;
          const done = collect(client, n, 20000);
          for (let i = 0; i < n; i++) await client.send(request(i, { d: Buffer.alloc(2048, i) }));
          assert.ok(client.pending() > 0, 'the kernel did not take 200 KB at once, so some was queued');
          await client.drain();
          assert.equal(client.pending(), 0);
          const replies = await done;
          replies.forEach((p, i) => assert.deepEqual(decodeCborMap(p.subarray(SMP_HEADER_SIZE)).r, Buffer.alloc(2048, i)));

          // Device → client: one 200 KB write of 100 frames.
          const burst = collect(client, 100, 20000);
          await client.send(request(0, { burst: 100, size: 2000 }));
          const got = await burst;
          got.forEach((p, i) => {
            const body = decodeCborMap(p.subarray(SMP_HEADER_SIZE));
            assert.equal(body.i, i);
            assert.deepEqual(body.fill, Buffer.alloc(2000, i & 0xff));
          });
          await dev.pty.drain();
          assert.equal(dev.pty.pending(), 0, 'everything written was taken by the kernel');
        } finally {
          await client.close();
          pty.close();
        }
      });

      test('closing the client, then the device side', async () => {
        const { pty, client } = await pair(encoding);
        let closes = 0;
        client.on('close', () => closes++);
        await client.close();
        await client.close();
        assert.equal(client.closed, true);
        assert.equal(closes, 1);
        await assert.rejects(client.send(request(0, { d: 'late' })), SmpClosedError);
        // The master keeps working for the next client (no EIO while nobody has the slave open).
        const again = new NativeSerialTransport({ path: pty.path, encoding });
        const done = collect(again, 1);
        await again.send(request(7, { d: 'again' }));
        assert.equal(decodeHeader((await done)[0]!).seq, 7);
        await again.close();
        pty.close();
        pty.close();
        assert.equal(pty.closed, true);
        assert.throws(() => pty.write(Buffer.from([1])), SmpClosedError);
      });
    });
  }

  test('the device side vanishing is a TransportError naming the path, then close', async () => {
    const { pty, client } = await pair('console');
    const events: string[] = [];
    const err = new Promise<Error>((resolve) => client.on('error', resolve));
    client.on('error', () => events.push('error'));
    client.on('close', () => events.push('close'));
    pty.close();
    const e = await err;
    assert.ok(e instanceof TransportError);
    assert.equal((e as TransportError).code, 'SMP_ERR_TRANSPORT');
    assert.match(e.message, new RegExp(pty.path));
    assert.match(e.message, /EIO/);
    await waitFor(() => events.length === 2);
    assert.deepEqual(events, ['error', 'close']);
    assert.equal(client.closed, true);
    await assert.rejects(client.drain(), SmpClosedError);
  });

  test('raw: a stalled partial packet is dropped after rawStallMs', async () => {
    const { pty, client } = await pair('raw', { rawStallMs: 80 });
    try {
      const good = buildPacket({ op: Op.READ_RSP, version: 1, flags: 0, group: 0, seq: 9, id: 0 }, encodeCbor({ r: 'ok' }));
      pty.write(good.subarray(0, 5)); // a device that gave up mid-packet
      await new Promise((r) => setTimeout(r, 250));
      const done = collect(client, 1);
      pty.write(good);
      const [p] = await done;
      assert.deepEqual(p, good, 'the stale 5 bytes were dropped, not glued onto the next packet');
    } finally {
      await client.close();
      pty.close();
    }
  });

  test('cobs: every frame starts with a 0x00 that flushes a stale partial frame on the device', async () => {
    const { pty, dev, client } = await pair('cobs');
    try {
      for (let i = 1; i <= 3; i++) {
        const mark = Buffer.concat(dev.rawIn).length;
        const done = collect(client, 1);
        await client.send(request(i, { d: 'x'.repeat(i) }));
        await done;
        const sent = Buffer.concat(dev.rawIn).subarray(mark);
        assert.equal(sent[0], 0, `frame ${i} starts with the delimiter`);
        assert.notEqual(sent[1], 0, 'one delimiter, not an empty frame pair');
      }
    } finally {
      await client.close();
      pty.close();
    }
  });

  test('console: the first frame after open and after flush() starts with an LF, the others do not', async () => {
    const { pty, dev, client } = await pair('console');
    try {
      const sendOne = async (seq: number): Promise<Buffer> => {
        const mark = Buffer.concat(dev.rawIn).length;
        const done = collect(client, 1);
        await client.send(request(seq, { d: 'y' }));
        await done;
        return Buffer.concat(dev.rawIn).subarray(mark);
      };
      const first = await sendOne(1);
      assert.deepEqual([...first.subarray(0, 3)], [0x0a, 0x06, 0x09]);
      const second = await sendOne(2);
      assert.deepEqual([...second.subarray(0, 2)], [0x06, 0x09]);
      client.flush();
      const third = await sendOne(3);
      assert.deepEqual([...third.subarray(0, 3)], [0x0a, 0x06, 0x09]);
    } finally {
      await client.close();
      pty.close();
    }
  });

  test('bad path, bad baud rate and bad options are refused before any byte is sent', async () => {
    await assert.rejects(openSerialTransport({ path: '/dev/does-not-exist-42' }), (e: Error) => {
      assert.ok(e instanceof TransportError);
      assert.match(e.message, /\/dev\/does-not-exist-42/);
      assert.match(e.message, /ENOENT/);
      return true;
    });
    await assert.rejects(openSerialTransport({ path: '/dev/null' }), (e: Error) => {
      assert.ok(e instanceof TransportError);
      assert.match(e.message, /\/dev\/null/);
      assert.match(e.message, /ENOTTY|not a serial port/);
      return true;
    });
    const pty = createPty();
    try {
      assert.throws(() => new NativeSerialTransport({ path: pty.path, baudRate: 12345 }), (e: Error) => {
        assert.ok(e instanceof RangeError);
        assert.match(e.message, /12345/);
        return true;
      });
      assert.throws(() => new NativeSerialTransport({ path: pty.path, baudRate: -1 }), RangeError);
      assert.throws(() => new NativeSerialTransport({ path: '' }), TypeError);
      assert.throws(() => new NativeSerialTransport({ path: pty.path, encoding: 'slip' as SerialEncoding }), RangeError);
      assert.throws(() => new NativeSerialTransport({ path: pty.path, rawStallMs: -5 }), RangeError);
      // Standard rates other than the default open fine.
      for (const baudRate of [9600, 921600, 1000000]) {
        const t = new NativeSerialTransport({ path: pty.path, baudRate });
        await t.close();
      }
      const t = new NativeSerialTransport({ path: pty.path, encoding: 'console' });
      await assert.rejects(t.send(Buffer.alloc(3)), RangeError);
      await assert.rejects(t.send(Buffer.alloc(70000)), RangeError);
      await t.close();
    } finally {
      pty.close();
    }
  });

  test('the factory picks the native transport', async () => {
    const pty = createPty();
    try {
      const t = await openSerialTransport({ path: pty.path, encoding: 'raw' });
      assert.ok(t instanceof NativeSerialTransport);
      assert.equal(t.kind, 'serial');
      assert.equal(t.encoding, 'raw');
      t.unref?.();
      t.ref?.();
      await t.close();
    } finally {
      pty.close();
    }
  });
});

describe('serialport fallback transport over a PTY (main thread)', { skip }, () => {
  for (const encoding of ENCODINGS) {
    test(`${encoding}: exchanges SMP packets both ways`, async () => {
      const pty = createPty();
      const dev = new EchoDevice(pty, encoding);
      const client = await openSerialTransport({ path: pty.path, encoding, backend: 'serialport' });
      try {
        assert.ok(client instanceof SerialPortFallbackTransport);
        const n = 30;
        const done = collect(client, n);
        for (let i = 0; i < n; i++) await client.send(request(i, { d: Buffer.alloc(i * 40, i) }));
        await client.drain();
        const replies = await done;
        replies.forEach((p, i) => assert.deepEqual(decodeCborMap(p.subarray(SMP_HEADER_SIZE)).r, Buffer.alloc(i * 40, i)));
        if (encoding === 'cobs') assert.equal(dev.rawIn[0]![0], 0);
      } finally {
        await client.close();
        pty.close();
      }
      assert.equal(client.closed, true);
      await assert.rejects(client.send(request(0, { d: 'late' })), SmpClosedError);
    });
  }

  // Not tested here: a PTY master vanishing under `serialport`. Its reader treats the hung-up
  // slave's 0-byte reads as "no data" and retries forever, so it never reports the hangup; the
  // native transport does (EIO, tested above).

  test('a bad path is a TransportError naming it', async () => {
    await assert.rejects(SerialPortFallbackTransport.open({ path: '/dev/does-not-exist-43' }), (e: Error) => {
      assert.ok(e instanceof TransportError);
      assert.match(e.message, /\/dev\/does-not-exist-43/);
      return true;
    });
  });
});

/** `n` bytes that differ along the buffer (a reordered or lost piece shows). */
function pattern(n: number, k: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * k) & 0xff;
  return b;
}

describe('packets as pieces over a byte link', { skip }, () => {
  /** A chunk-like packet as the session builds it: header + small CBOR, then the data by reference. */
  const pieces = (seq: number, data: Buffer): Buffer[] => {
    const { parts } = buildPacketParts({ op: Op.WRITE, version: 1, flags: 0, group: 1, seq, id: 1 }, { off: seq, data });
    return parts;
  };

  for (const backend of ['native', 'serialport'] as const) {
    for (const encoding of ENCODINGS) {
      test(`${backend}, ${encoding}: the wire carries exactly the frame of the joined packet`, async () => {
        const pty = createPty();
        const dev = new EchoDevice(pty, encoding);
        const client = await openSerialTransport({ path: pty.path, encoding, backend });
        try {
          const data = pattern(1500, 31);
          const parts = pieces(3, data);
          assert.equal(parts[1], data, 'the data travels by reference');
          const done = collect(client, 1);
          await client.sendParts(parts);
          await done;
          const framing = new SerialFraming({ encoding });
          const lead = encoding === 'cobs' ? [0] : encoding === 'console' ? [0x0a] : [];
          const want = Buffer.concat([Buffer.from(lead), framing.encode(Buffer.concat(parts))]);
          assert.deepEqual(Buffer.concat(dev.rawIn), want);
        } finally {
          await client.close();
          pty.close();
        }
      });
    }
  }

  test('native writev: pieces larger than the kernel takes at once arrive whole and in order', async () => {
    const pty = createPty();
    const got: Buffer[] = [];
    pty.onData((c) => got.push(c));
    const client = new NativeSerialTransport({ path: pty.path, encoding: 'raw', maxPacket: 0xffff });
    try {
      const big = pattern(60_000, 7);
      const parts = pieces(9, big);
      await client.sendParts(parts);
      await client.drain();
      await waitFor(() => Buffer.concat(got).length >= big.length + parts[0]!.length);
      assert.deepEqual(Buffer.concat(got), Buffer.concat(parts));
    } finally {
      await client.close();
      pty.close();
    }
  });

  test('SerialTransport frames over a ByteLink of the caller (here a logging wrapper of the native link)', async () => {
    const pty = createPty();
    const dev = new EchoDevice(pty, 'console');
    const writes: number[] = [];
    const client = await SerialTransport.open({ path: pty.path, encoding: 'console' }, (target) => {
      const inner = new NativeByteLink(target);
      const link: ByteLink = {
        path: inner.path,
        attach: (sink) => inner.attach(sink),
        write: (p) => {
          writes.push(p.length);
          inner.write(p);
        },
        pending: () => inner.pending(),
        drain: () => inner.drain(),
        close: () => inner.close(),
        unref: () => inner.unref(),
        ref: () => inner.ref(),
      };
      return link;
    });
    try {
      const done = collect(client, 2);
      await client.send(request(1, { d: 'one' }));
      await client.send(request(2, { d: 'two' }));
      const replies = await done;
      assert.deepEqual(replies.map((p) => decodeCborMap(p.subarray(SMP_HEADER_SIZE)).r), ['one', 'two']);
      assert.deepEqual(writes, [2, 1], 'the LF delimiter is its own piece before the first frame, then one piece per frame');
      assert.equal(dev.requests.length, 2);
    } finally {
      await client.close();
      pty.close();
    }
  });
});
