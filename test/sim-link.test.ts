/**
 * The simulator's link model (src/sim/link/) against a tiny echo core: Zephyr's line buffers,
 * the net_buf pool, UART pacing, input timeouts, resets, silence, slow answers, and seeded faults.
 * Byte-level assertions use PROTOCOL.md §9 frames; timing assertions are lower bounds only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeviceLink, enomemResponse, splitLines, type LinkOptions } from '../src/sim/link/index.js';
import { Rng, createRng } from '../src/sim/rng.js';
import { FaultInjector, makeGarbage, resolveFaults } from '../src/sim/faults.js';
import type { DeviceLimits, DeviceStep, SimDeviceCore } from '../src/sim/types.js';
import { buildPacket, crc16, createConsoleDecoder, encodeConsole, encodeCobsFrame, createCobsDecoder, createRawDecoder } from '../src/codec/index.js';

/** An echo device: answers every request with the same payload, op + 1. */
class EchoCore implements SimDeviceCore {
  readonly personality: 'zephyr' | 'mcuboot';
  readonly limits: DeviceLimits;
  readonly seen: Buffer[] = [];
  reboots = 0;
  busyMs: number;
  resetAfterMs: number | undefined;
  constructor(opts: { limits?: Partial<DeviceLimits>; busyMs?: number; personality?: 'zephyr' | 'mcuboot' } = {}) {
    this.personality = opts.personality ?? 'zephyr';
    this.limits = {
      netbufSize: 384,
      netbufCount: 4,
      lineBufSize: 128,
      lineBufCount: 2,
      encodings: ['console', 'raw', 'cobs'],
      ...opts.limits,
    };
    this.busyMs = opts.busyMs ?? 0;
  }
  handle(packet: Buffer): DeviceStep {
    this.seen.push(Buffer.from(packet));
    const r = Buffer.from(packet);
    r[0] = (r[0]! & ~7) | ((r[0]! & 7) + 1);
    const step: DeviceStep = { responses: [r], busyMs: this.busyMs };
    if (this.resetAfterMs !== undefined) {
      step.resetAfterMs = this.resetAfterMs;
      this.resetAfterMs = undefined;
    }
    return step;
  }
  reboot(): void {
    this.reboots++;
  }
}

/** A v2 READ echo-like request with `n` payload bytes and sequence number `seq`. */
function req(seq: number, n = 6): Buffer {
  const payload = Buffer.alloc(n, 0x61);
  return buildPacket({ op: 0, version: 1, flags: 0, group: 0, seq, id: 0 }, payload);
}

/** A link whose output is collected; `packets()` decodes it in the link's encoding. */
function makeLink(core: SimDeviceCore, opts: Omit<LinkOptions, 'onOutput'>) {
  const chunks: Buffer[] = [];
  const times: number[] = [];
  const link = new DeviceLink(core, {
    ...opts,
    onOutput: (d) => {
      chunks.push(Buffer.from(d));
      times.push(performance.now());
    },
  });
  const packets = (): Buffer[] => {
    const all = Buffer.concat(chunks);
    if (opts.mode === 'packet') return chunks;
    const dec = opts.mode === 'console' ? createConsoleDecoder() : opts.mode === 'cobs' ? createCobsDecoder() : createRawDecoder();
    return dec.push(all);
  };
  return { link, chunks, times, packets, bytes: () => Buffer.concat(chunks) };
}

const ECHO_REQ = Buffer.from('\x06\x09ABAIAAAGAAABAKFhZGJoaVNt\n', 'latin1');

test('console: the §9.2 echo frame goes in, the echo core answers in the Zephyr split', async () => {
  const core = new EchoCore();
  const { link, bytes } = makeLink(core, { mode: 'console' });
  link.receiveBytes(ECHO_REQ);
  await sleep(30);
  assert.deepEqual(core.seen, [Buffer.from('0800000600000100a16164626869', 'hex')]);
  // op 0 → 1 with the same body: 09 00 00 06 … A1 61 64 62 68 69, Zephyr-split console frame.
  assert.deepEqual(bytes(), encodeConsole(Buffer.from('0900000600000100a16164626869', 'hex'), 'zephyr'));
  link.close();
});

test('console: a frame longer than the 128-byte line buffer is dropped; a 128-byte line (CRLF) is not', async () => {
  const core = new EchoCore();
  const { link, packets } = makeLink(core, { mode: 'console', baudRate: 0 });
  // One long line: the whole len|packet|crc of a 100-byte packet in one frame (143 bytes).
  const p = req(1, 92);
  const body = Buffer.alloc(p.length + 4);
  body.writeUInt16BE(p.length + 2, 0);
  p.copy(body, 2);
  body.writeUInt16BE(crc16(p), p.length + 2);
  const long = Buffer.concat([Buffer.from([6, 9]), Buffer.from(body.toString('base64')), Buffer.from('\n')]);
  assert.ok(long.length > 128);
  link.receiveBytes(long);
  // A frame of exactly 128 bytes: marker + 124 base64 chars + CR LF (Zephyr tolerates CR).
  const p2 = req(2, 81); // 89-byte packet → 93 raw bytes → 124 chars
  const line = Buffer.concat([encodeConsole(p2, 'plain').subarray(0, -1), Buffer.from('\r\n')]);
  assert.equal(line.length, 128);
  link.receiveBytes(line);
  await sleep(30);
  assert.equal(core.seen.length, 1);
  assert.equal(core.seen[0]![6], 2);
  assert.equal(link.stats().drops.lineTooLong, 1);
  assert.equal(packets().length, 1);
  link.close();
});

test('console: three back-to-back lines while the work queue decodes slowly lose the third', async () => {
  const core = new EchoCore();
  const { link, packets } = makeLink(core, { mode: 'console', frameDecodeMs: 40 });
  link.receiveBytes(Buffer.concat([encodeConsole(req(1)), encodeConsole(req(2)), encodeConsole(req(3))]));
  await sleep(200);
  assert.deepEqual(
    core.seen.map((p) => p[6]),
    [1, 2],
  );
  assert.equal(packets().length, 2);
  const s = link.stats();
  assert.equal(s.drops.lineNoBuffer, 1);
  assert.equal(s.netbufFree, 4);
  link.close();
});

test('console: a lost initial frame orphans its continuation; the next packet is fine', async () => {
  const core = new EchoCore();
  const { link } = makeLink(core, { mode: 'console', frameDecodeMs: 40 });
  // Two-frame packet after two one-line packets: its first line finds no buffer, its second line
  // arrives after the first decode finished and is an orphan continuation.
  const big = encodeConsole(req(3, 150), 'zephyr');
  const lines = splitLines(big);
  assert.equal(lines.length, 2);
  link.receiveBytes(Buffer.concat([encodeConsole(req(1)), encodeConsole(req(2)), lines[0]!]));
  await sleep(60);
  link.receiveBytes(lines[1]!);
  await sleep(60);
  link.receiveBytes(encodeConsole(req(4)));
  await sleep(100);
  assert.deepEqual(
    core.seen.map((p) => p[6]),
    [1, 2, 4],
  );
  const s = link.stats();
  assert.equal(s.drops.lineNoBuffer, 1);
  assert.equal(s.frames.orphanContinuation, 1);
  link.close();
});

test('console: requests over NETBUF_SIZE − 4 are dropped, NETBUF_SIZE − 4 is accepted', async () => {
  const core = new EchoCore({ limits: { netbufSize: 128 } });
  const { link } = makeLink(core, { mode: 'console', baudRate: 0 });
  link.receiveBytes(encodeConsole(req(1, 125 - 8))); // 125-byte packet: 2 + 125 + 2 > 128
  link.receiveBytes(encodeConsole(req(2, 124 - 8))); // 124 = NETBUF_SIZE − 4
  await sleep(30);
  assert.deepEqual(
    core.seen.map((p) => p.length),
    [124],
  );
  assert.equal(link.stats().drops.oversize, 1);
  link.close();
});

test('console: bad CRC, bad base64 and log lines are skipped silently', async () => {
  const core = new EchoCore();
  const { link } = makeLink(core, { mode: 'console', baudRate: 0 });
  const bad = Buffer.from(ECHO_REQ);
  bad[10] = bad[10] === 0x41 ? 0x42 : 0x41; // corrupt one base64 character → CRC mismatch
  link.receiveBytes(Buffer.from('[00:00:01.000,000] <inf> main: hello\r\n'));
  link.receiveBytes(bad);
  link.receiveBytes(Buffer.from('\x06\x09AB=A\n', 'latin1'));
  link.receiveBytes(ECHO_REQ);
  await sleep(30);
  assert.equal(core.seen.length, 1);
  const f = link.stats().frames;
  assert.equal(f.nonFrame, 1);
  assert.ok(f.badCrc + f.badLength >= 1);
  assert.equal(f.badEncoding, 1);
  link.close();
});

test('net_buf pool: netbufCount 4 → at most 3 requests in the device, the rest dropped (packets)', async () => {
  const core = new EchoCore({ busyMs: 20 });
  const { link, chunks } = makeLink(core, { mode: 'packet' });
  for (let i = 0; i < 10; i++) link.receivePacket(req(i));
  await sleep(150);
  assert.deepEqual(
    chunks.map((p) => p[6]),
    [0, 1, 2],
  );
  const s = link.stats();
  assert.equal(s.drops.netbufExhausted, 7);
  assert.equal(s.maxWaiting, 2, 'one processing + two waiting');
  assert.equal(s.netbufFree, 4);
  // Once the device is idle again, a new request is answered.
  link.receivePacket(req(42));
  await sleep(50);
  assert.equal(chunks.at(-1)![6], 42);
  link.close();
});

test('net_buf pool over console: the reassembly context holds a buffer too; three requests survive', async () => {
  const core = new EchoCore({ busyMs: 50 });
  const { link, packets } = makeLink(core, { mode: 'console' });
  // One write: the UART model spaces the lines 2.3 ms apart, so the two line buffers are never
  // the bottleneck (each line is decoded in 0.05 ms), and all six arrive within one busy period.
  link.receiveBytes(Buffer.concat([1, 2, 3, 4, 5, 6].map((s) => encodeConsole(req(s)))));
  await sleep(300);
  assert.deepEqual(
    core.seen.map((p) => p[6]),
    [1, 2, 3],
  );
  assert.equal(packets().length, 3);
  assert.equal(link.stats().drops.netbufExhausted, 3);
  link.close();
});

test('pacing: 1000 bytes at 115200 baud take at least 86.8 ms to reach the device (and as long back)', async () => {
  const core = new EchoCore({ limits: { netbufSize: 2048 } });
  const { link, times, packets } = makeLink(core, { mode: 'raw', baudRate: 115200 });
  const p = req(1, 992);
  assert.equal(p.length, 1000);
  let handledAt = 0;
  const orig = core.handle.bind(core);
  core.handle = (pkt) => {
    handledAt = performance.now();
    return orig(pkt);
  };
  const t0 = performance.now();
  link.receiveBytes(p);
  while (packets().length === 0) await sleep(10);
  const byteMs = 10_000 / 115200;
  assert.ok(handledAt - t0 >= 1000 * byteMs - 0.5, `request took ${(handledAt - t0).toFixed(1)} ms`);
  assert.ok(times.at(-1)! - t0 >= 2000 * byteMs - 0.5, `round trip took ${(times.at(-1)! - t0).toFixed(1)} ms`);
  assert.ok(times.length > 1, 'the answer arrives in several pieces, as from a UART');
  link.close();
});

test('latency applies each way', async () => {
  const core = new EchoCore();
  const { link, times } = makeLink(core, { mode: 'packet', latencyMs: { toDevice: 20, toHost: 30 } });
  const t0 = performance.now();
  link.receivePacket(req(1));
  while (times.length === 0) await sleep(5);
  assert.ok(times[0]! - t0 >= 49.5, `got ${times[0]! - t0}`);
  link.close();
});

test('processing: busyMs delays the next request; answers come in request order', async () => {
  const core = new EchoCore({ busyMs: 30 });
  const { link, chunks, times } = makeLink(core, { mode: 'packet' });
  const t0 = performance.now();
  link.receivePacket(req(1));
  link.receivePacket(req(2));
  while (chunks.length < 2) await sleep(5);
  assert.deepEqual(
    chunks.map((p) => p[6]),
    [1, 2],
  );
  assert.ok(times[1]! - t0 >= 59.5);
  link.close();
});

test('raw: a stalled partial packet is discarded after the input timeout', async () => {
  const core = new EchoCore();
  const { link, packets } = makeLink(core, { mode: 'raw', baudRate: 0, rawInputTimeoutMs: 60 });
  link.receiveBytes(req(1).subarray(0, 5));
  await sleep(100);
  assert.equal(link.stats().drops.rawTimeout, 1);
  link.receiveBytes(req(2));
  await sleep(20);
  assert.deepEqual(
    packets().map((p) => p[6]),
    [2],
  );
  link.close();
});

test('raw: a new request sent before the timeout is glued onto the stale bytes and misread', async () => {
  const core = new EchoCore();
  const { link } = makeLink(core, { mode: 'raw', baudRate: 0, rawInputTimeoutMs: 1000 });
  link.receiveBytes(req(1).subarray(0, 5));
  await sleep(10);
  link.receiveBytes(req(2));
  await sleep(20);
  assert.ok(core.seen.every((p) => p[6] !== 2), 'request 2 was not understood');
  link.close();
});

test('cobs: frames at 0x00, a stale partial is flushed by a leading 0x00, no timeout', async () => {
  const core = new EchoCore({ personality: 'mcuboot', limits: { netbufCount: 1, lineBufCount: 8, netbufSize: 1024 } });
  const { link, bytes } = makeLink(core, { mode: 'cobs', baudRate: 0 });
  const frame = encodeCobsFrame(Buffer.from('0800000600000100a16164626869', 'hex'));
  assert.deepEqual(frame, Buffer.from('020801020601020109a16164626869536d00', 'hex'));
  link.receiveBytes(frame.subarray(0, 6)); // a partial frame left behind
  await sleep(20);
  link.receiveBytes(Buffer.concat([Buffer.of(0), frame]));
  await sleep(20);
  assert.equal(core.seen.length, 1);
  assert.deepEqual(bytes(), encodeCobsFrame(Buffer.from('0900000600000100a16164626869', 'hex')));
  link.close();
});

test('mcuboot model: lines wait in 8 line buffers while the loop is busy; the rest are lost', async () => {
  const core = new EchoCore({ personality: 'mcuboot', busyMs: 80, limits: { netbufCount: 1, lineBufCount: 8, netbufSize: 1024 } });
  const { link, packets } = makeLink(core, { mode: 'console', baudRate: 0 });
  link.receiveBytes(Buffer.concat(Array.from({ length: 12 }, (_, i) => encodeConsole(req(i + 1)))));
  const deadline = Date.now() + 5000;
  while (packets().length < 9 && Date.now() < deadline) await sleep(20);
  await sleep(100);
  assert.deepEqual(
    core.seen.map((p) => p[6]),
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.equal(packets().length, 9);
  assert.equal(link.stats().drops.lineNoBuffer, 3);
  link.close();
});

test('reset mid-transfer: the device reboots, is silent for bootMs, then answers again', async () => {
  const core = new EchoCore();
  const { link, packets } = makeLink(core, { mode: 'console', bootMs: 400, faults: { resetAfterBytes: 40 } });
  link.receiveBytes(ECHO_REQ); // 27 bytes: answered
  await sleep(30);
  assert.equal(packets().length, 1);
  link.receiveBytes(ECHO_REQ); // crosses 40 bytes: reset mid-frame
  await sleep(20);
  assert.equal(core.reboots, 1);
  link.receiveBytes(ECHO_REQ); // during boot: ignored
  await sleep(20);
  assert.equal(packets().length, 1);
  await sleep(400);
  link.receiveBytes(ECHO_REQ); // booted: answered
  await sleep(30);
  assert.equal(packets().length, 2);
  const s = link.stats();
  assert.equal(s.resets, 1);
  assert.equal(s.faults.resets, 1);
  assert.ok(s.drops.duringBoot > 0);
  assert.deepEqual(
    link.faultLog().map((e) => [e.dir, e.kind]),
    [['device', 'reset']],
  );
  link.close();
});

test('resetAt cuts a response in the middle; the host never sees its end', async () => {
  const core = new EchoCore({ limits: { netbufSize: 2048 } });
  const { link, bytes } = makeLink(core, { mode: 'raw', baudRate: 9600, bootMs: 50, faults: { resetAt: 150 } });
  // 100-byte request ≈ 104 ms at 9600 baud; its 100-byte answer would need another 104 ms.
  link.receiveBytes(req(1, 92));
  await sleep(350);
  assert.equal(core.reboots, 1);
  const got = bytes().length;
  assert.ok(got > 0 && got < 100, `got ${got} bytes of the answer`);
  link.close();
});

test('os reset: resetAfterMs from the core reboots the device after the answer', async () => {
  const core = new EchoCore();
  core.resetAfterMs = 150;
  const { link, chunks } = makeLink(core, { mode: 'packet', bootMs: 400 });
  link.receivePacket(req(1));
  while (chunks.length === 0) await sleep(2);
  assert.equal(core.reboots, 0, 'the answer goes out before the reboot');
  while (core.reboots === 0) await sleep(2);
  link.receivePacket(req(2)); // booting
  await sleep(450);
  link.receivePacket(req(3));
  await sleep(30);
  assert.deepEqual(
    chunks.map((p) => p[6]),
    [1, 3],
  );
  assert.equal(link.stats().faults.resets, 0, 'an os reset is not an injected fault');
  link.close();
});

test('silent: the device works but never answers', async () => {
  const core = new EchoCore();
  const { link, chunks } = makeLink(core, { mode: 'packet', faults: { silent: true } });
  link.receivePacket(req(1));
  await sleep(20);
  assert.equal(core.seen.length, 1);
  assert.equal(chunks.length, 0);
  assert.equal(link.stats().drops.silenced, 1);
  link.close();
});

test('slowBytesPerSec: the answer comes one byte per write, at that pace', async () => {
  const core = new EchoCore();
  const { link, chunks, bytes } = makeLink(core, { mode: 'console', faults: { slowBytesPerSec: 500 } });
  const t0 = performance.now();
  link.receiveBytes(ECHO_REQ);
  const want = encodeConsole(Buffer.from('0900000600000100a16164626869', 'hex'), 'zephyr');
  while (bytes().length < want.length) await sleep(10);
  assert.ok(chunks.every((c) => c.length === 1));
  assert.deepEqual(bytes(), want);
  assert.ok(performance.now() - t0 >= (want.length * 1000) / 500 - 1);
  link.close();
});

test('ENOMEM answer: header turned into a response with {"rc": 2}', () => {
  const r = enomemResponse(Buffer.from('0a00000200010701bfff', 'hex'))!;
  assert.equal(r.toString('hex'), '0b00000600010701bf62726302ff');
  assert.equal(enomemResponse(Buffer.from('0900000200010701bfff', 'hex')), undefined);
});

// ------------------------------------------------------------------ faults and the RNG

test('rng: same seed, same sequence; forks are independent and stable', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 20 }, () => a.u32());
  assert.deepEqual(
    xs,
    Array.from({ length: 20 }, () => b.u32()),
  );
  assert.notDeepEqual(new Rng(43).u32(), new Rng(42).u32());
  assert.equal(new Rng('hello').fork('x').u32(), new Rng('hello').fork('x').u32());
  const r = createRng(7);
  for (let i = 0; i < 1000; i++) {
    const v = r.int(10);
    assert.ok(v >= 0 && v < 10);
    const f = r.next();
    assert.ok(f >= 0 && f < 1);
  }
  assert.throws(() => r.int(0), RangeError);
});

test('faults: options are validated with messages that name the field', () => {
  assert.throws(() => resolveFaults({ toDevice: { drop: 2 } }), /faults\.toDevice\.drop/);
  assert.throws(() => resolveFaults({ toHost: { flip: 0.1 } as never }), /faults\.toHost\.flip is not a fault/);
  assert.throws(() => resolveFaults({ resetAfterBytes: -1 }), /resetAfterBytes/);
  assert.throws(() => resolveFaults({ slowBytesPerSec: 0 }), /slowBytesPerSec/);
  assert.deepEqual(resolveFaults({ resetAt: [300, 100] }).resetAt, [100, 300]);
});

test('faults: garbage fits the unit style', () => {
  const rng = new Rng(1);
  for (let i = 0; i < 200; i++) {
    const line = makeGarbage(rng, 'line');
    assert.equal(line.indexOf(0x0a), line.length - 1);
    const cobs = makeGarbage(rng, 'cobs');
    assert.equal(cobs.indexOf(0), cobs.length - 1);
  }
});

test('faults: every kind is applied, counted and logged', () => {
  const f = new FaultInjector({ toDevice: { drop: 0.2, bitFlip: 0.2, duplicate: 0.2, truncate: 0.2, garbage: 0.2 } }, 5);
  const unit = Buffer.from('0123456789abcdef');
  for (let i = 0; i < 500; i++) f.apply('toDevice', unit, 'line');
  const s = f.stats();
  for (const k of ['drop', 'bitFlip', 'duplicate', 'truncate', 'garbage'] as const) assert.ok(s.toDevice[k] > 50, `${k}: ${s.toDevice[k]}`);
  assert.equal(f.log().length, Object.values(s.toDevice).reduce((a, b) => a + b, 0));
  assert.equal(unit.toString(), '0123456789abcdef', 'the caller buffer is never modified');
  assert.deepEqual(f.apply('toHost', unit, 'line'), [unit], 'no faults configured in that direction');
});

test('faults: a damaged UDP datagram is dropped (checksum), an in-memory packet arrives damaged', async () => {
  const faults = { toDevice: { bitFlip: 1 }, toHost: { truncate: 1 } };
  const udpCore = new EchoCore();
  const udp = makeLink(udpCore, { mode: 'packet', via: 'udp', faults, seed: 3 });
  const memCore = new EchoCore();
  const mem = makeLink(memCore, { mode: 'packet', faults, seed: 3 });
  for (let i = 0; i < 5; i++) {
    udp.link.receivePacket(req(i));
    mem.link.receivePacket(req(i));
  }
  await sleep(50);
  // The in-memory link, scheduled exactly as the UDP one, is the witness that delivery is over.
  assert.equal(memCore.seen.length, 5, 'in memory every packet arrives');
  assert.equal(udpCore.seen.length, 0, 'no flipped datagram reaches the device');
  assert.equal(udp.link.stats().faults.toDevice.bitFlip, 5, 'the flips were drawn and counted');
  assert.match(udp.link.faultLog()[0]!.detail!, /dropped by the UDP checksum/);
  assert.ok(
    memCore.seen.every((p, i) => !p.equals(req(i))),
    'each with one bit flipped',
  );
  // Answers: cut datagrams never reach the host over UDP; in memory they arrive short.
  assert.equal(mem.chunks.length, 5);
  assert.ok(mem.chunks.every((c) => c.length < req(0).length));
  udp.link.close();
  mem.link.close();
  const clean = new EchoCore();
  const back = makeLink(clean, { mode: 'packet', via: 'udp', faults: { toHost: { truncate: 1 } }, seed: 4 });
  back.link.receivePacket(req(7));
  await sleep(30);
  assert.equal(clean.seen.length, 1);
  // The answer was handled (counted) but never queued for the wire: it cannot arrive late.
  assert.equal(back.link.stats().responses, 1);
  assert.equal(back.link.stats().bytesToHost, 0, 'the cut answer is dropped by the length check of the host');
  assert.equal(back.chunks.length, 0);
  back.link.close();
});

async function faultyRun(seed: number) {
  const core = new EchoCore();
  const { link, bytes } = makeLink(core, {
    mode: 'console',
    baudRate: 0,
    seed,
    faults: {
      toDevice: { drop: 0.15, bitFlip: 0.15, duplicate: 0.15, truncate: 0.15, garbage: 0.15 },
      toHost: { drop: 0.15, bitFlip: 0.15, duplicate: 0.15, truncate: 0.15, garbage: 0.15 },
    },
  });
  // One write: with an unpaced wire every line is decoded at once, so the outcome depends on the
  // faults only, never on timing.
  link.receiveBytes(Buffer.concat(Array.from({ length: 30 }, (_, i) => encodeConsole(req(i, 100)))));
  await sleep(100);
  const out = { log: link.faultLog().map(({ atMs: _t, ...e }) => e), stats: link.stats(), seen: core.seen.length, bytes: bytes() };
  link.close();
  return out;
}

test('faults: the same seed reproduces the same fault log and the same device behaviour', async () => {
  const a = await faultyRun(1234);
  const b = await faultyRun(1234);
  const c = await faultyRun(999);
  assert.ok(a.log.length > 20, `only ${a.log.length} faults`);
  assert.deepEqual(a.log, b.log);
  assert.deepEqual(a.stats.faults, b.stats.faults);
  assert.equal(a.seen, b.seen);
  assert.deepEqual(a.bytes, b.bytes);
  assert.notDeepEqual(a.log, c.log);
  assert.ok(a.seen < 30 + a.stats.faults.toDevice.duplicate, 'some requests were lost');
  assert.equal(a.stats.seed, 1234);
  const counts = a.stats.faults;
  const total = Object.values(counts.toDevice).reduce((x, y) => x + y, 0) + Object.values(counts.toHost).reduce((x, y) => x + y, 0);
  assert.equal(total, a.log.length);
});

test('link options are checked', () => {
  const core = new EchoCore();
  const onOutput = (): void => {};
  assert.throws(() => new DeviceLink(core, { mode: 'bogus' as never, onOutput }), /mode/);
  assert.throws(() => new DeviceLink(core, { mode: 'console', baudRate: -1, onOutput }), /baudRate/);
  assert.throws(() => new DeviceLink(core, { mode: 'console', latencyMs: -3, onOutput }), /latencyMs/);
  assert.throws(() => new DeviceLink(core, { mode: 'console', limits: { netbufSize: 3 }, onOutput }), /netbufSize/);
  const mcuboot = new EchoCore({ personality: 'mcuboot', limits: { encodings: ['console'] } });
  assert.throws(() => new DeviceLink(mcuboot, { mode: 'cobs', onOutput }), /does not speak the cobs encoding/);
});

test('a core that throws loses that request only; the error is reported and counted', async () => {
  const core = new EchoCore();
  const orig = core.handle.bind(core);
  let n = 0;
  core.handle = (p) => {
    if (n++ === 0) throw new Error('handler bug');
    return orig(p);
  };
  const errors: unknown[] = [];
  const { link, chunks } = makeLink(core, { mode: 'packet', onCoreError: (e) => errors.push(e) });
  link.receivePacket(req(1));
  link.receivePacket(req(2));
  await sleep(20);
  assert.deepEqual(
    chunks.map((p) => p[6]),
    [2],
  );
  assert.equal(errors.length, 1);
  assert.equal(link.stats().coreErrors, 1);
  assert.equal(link.stats().netbufFree, 4, 'the buffers of the failed request are freed');
  link.close();
});
