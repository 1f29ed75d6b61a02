/**
 * The simulator's servers: in-memory transport, UDP (answers only to the sender, MTU cut), a real
 * PTY opened with plain `fs`, and `startSimulator` / the simulator process. A tiny echo core stands
 * in for the protocol core where the test is about the server, not the protocol.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { serveMemory } from '../src/sim/serve-memory.js';
import { serveUdp } from '../src/sim/serve-udp.js';
import { servePty } from '../src/sim/serve-pty.js';
import { startSimulator } from '../src/sim/simulator.js';
import { expandSpec, spawnSimulatorProcess } from '../src/sim/child.js';
import { ptyAvailable } from '../src/sim/pty.js';
import type { DeviceLimits, DeviceStep, SimDeviceCore } from '../src/sim/types.js';
import { buildPacket, createConsoleDecoder, encodeConsole, encodeCobsFrame } from '../src/codec/index.js';

class EchoCore implements SimDeviceCore {
  readonly personality = 'zephyr' as const;
  readonly limits: DeviceLimits;
  readonly seen: Array<{ packet: Buffer; via: string }> = [];
  reboots = 0;
  constructor(limits: Partial<DeviceLimits> = {}, readonly busyMs = 0) {
    this.limits = { netbufSize: 384, netbufCount: 4, lineBufSize: 128, lineBufCount: 2, encodings: ['console', 'raw', 'cobs'], ...limits };
  }
  handle(packet: Buffer, via: string): DeviceStep {
    this.seen.push({ packet: Buffer.from(packet), via });
    const r = Buffer.from(packet);
    r[0] = (r[0]! & ~7) | ((r[0]! & 7) + 1);
    return { responses: [r], busyMs: this.busyMs };
  }
  reboot(): void {
    this.reboots++;
  }
}

const req = (seq: number, n = 6): Buffer => buildPacket({ op: 0, version: 1, flags: 0, group: 0, seq, id: 0 }, Buffer.alloc(n, 0x61));
const rsp = (p: Buffer): Buffer => {
  const r = Buffer.from(p);
  r[0] = (r[0]! & ~7) | ((r[0]! & 7) + 1);
  return r;
};

test('serveMemory: a Transport whose packets go through the link model', async () => {
  const core = new EchoCore({}, 60);
  const t = serveMemory(core, { latencyMs: 2 });
  assert.equal(t.kind, 'memory');
  const got: Buffer[] = [];
  t.on('packet', (p) => got.push(p));
  let closed = 0;
  t.on('close', () => closed++);
  for (let i = 0; i < 6; i++) await t.send(req(i));
  await sleep(400);
  assert.deepEqual(
    got.map((p) => p[6]),
    [0, 1, 2],
    'netbufCount 4: three requests fit, the rest are dropped',
  );
  assert.equal(core.seen[0]!.via, 'memory');
  assert.equal(t.stats().drops.netbufExhausted, 3);
  await t.close();
  await t.close();
  assert.equal(closed, 1);
  assert.equal(t.closed, true);
  await assert.rejects(t.send(req(9)), { code: 'SMP_ERR_CLOSED' });
});

test('serveMemory: no answer is delivered inside send()', async () => {
  const t = serveMemory(new EchoCore());
  let got = 0;
  t.on('packet', () => got++);
  await t.send(req(1));
  assert.equal(got, 0);
  await sleep(10);
  assert.equal(got, 1);
  await t.close();
});

async function udpClient(): Promise<{ sock: dgram.Socket; got: Buffer[] }> {
  const sock = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { sock, got };
}

test('serveUdp: one datagram = one packet; answers go only to the sender', async () => {
  const core = new EchoCore({ netbufSize: 2048, netbufCount: 2 });
  const srv = await serveUdp(core, { host: '127.0.0.1', port: 0 });
  assert.equal(srv.address, '127.0.0.1');
  assert.ok(srv.port > 0);
  assert.equal(srv.connection, `udp:127.0.0.1:${srv.port}`);
  const a = await udpClient();
  const b = await udpClient();
  try {
    a.sock.send(req(1), srv.port, '127.0.0.1');
    await sleep(30);
    b.sock.send(req(2), srv.port, '127.0.0.1');
    await sleep(50);
    assert.deepEqual(a.got, [rsp(req(1))]);
    assert.deepEqual(b.got, [rsp(req(2))]);
    assert.equal(core.seen[0]!.via, 'udp');
  } finally {
    a.sock.close();
    b.sock.close();
    await srv.close();
  }
});

test('serveUdp: datagrams over the 1500-byte MTU are cut; over NETBUF_SIZE dropped', async () => {
  const core = new EchoCore({ netbufSize: 2048, netbufCount: 2 });
  const srv = await serveUdp(core, { port: 0 });
  const c = await udpClient();
  try {
    c.sock.send(req(1, 1600), srv.port, '127.0.0.1');
    await sleep(50);
    assert.equal(core.seen.length, 1);
    assert.equal(core.seen[0]!.packet.length, 1500);
    assert.equal(srv.stats().drops.udpTruncated, 1);
  } finally {
    c.sock.close();
    await srv.close();
  }
  const small = new EchoCore({ netbufSize: 384 });
  const srv2 = await serveUdp(small, { port: 0, udpMtu: 1500 });
  const d = await udpClient();
  try {
    d.sock.send(req(1, 400), srv2.port, '127.0.0.1');
    await sleep(50);
    assert.equal(small.seen.length, 0);
    assert.equal(srv2.stats().drops.oversize, 1);
  } finally {
    d.sock.close();
    await srv2.close();
  }
});

test('serveUdp: a port in use is reported', async () => {
  const srv = await serveUdp(new EchoCore(), { port: 0 });
  try {
    await assert.rejects(serveUdp(new EchoCore(), { port: srv.port }), /EADDRINUSE/);
  } finally {
    await srv.close();
  }
  await assert.rejects(serveUdp(new EchoCore(), { port: 70000 }), RangeError);
});

/** Reads from the PTY slave (on the thread pool) until `want` bytes or the deadline. */
async function readFd(fd: number, want: number, ms = 2000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  const deadline = Date.now() + ms;
  while (n < want && Date.now() < deadline) {
    const b = Buffer.alloc(4096);
    const r = await new Promise<number>((res, rej) => fs.read(fd, b, 0, b.length, null, (e, k) => (e ? rej(e) : res(k))));
    if (r === 0) {
      // The PTY is in raw mode with VMIN 0: a read with nothing to read returns 0 at once.
      await sleep(2);
      continue;
    }
    chunks.push(b.subarray(0, r));
    n += r;
  }
  return Buffer.concat(chunks);
}

const ptyTest = ptyAvailable() ? test : test.skip;

ptyTest('servePty: a plain fs open of the path exchanges console frames (Zephyr split, baud pacing)', async () => {
  const core = new EchoCore();
  const srv = servePty(core, { encoding: 'console', baudRate: 115200 });
  assert.match(srv.path, /^\/dev\//);
  assert.equal(srv.connection, `serial:${srv.path}?baud=115200&encoding=console`);
  const fd = fs.openSync(srv.path, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  try {
    const big = req(3, 200); // a multi-frame answer
    const echo = Buffer.from('0800000600000100a16164626869', 'hex');
    const want = Buffer.concat([encodeConsole(rsp(echo), 'zephyr'), encodeConsole(rsp(big), 'zephyr')]);
    const t0 = performance.now();
    fs.writeSync(fd, Buffer.from('\x06\x09ABAIAAAGAAABAKFhZGJoaVNt\n', 'latin1'));
    fs.writeSync(fd, encodeConsole(big, 'plain'));
    const got = await readFd(fd, want.length);
    const dt = performance.now() - t0;
    assert.deepEqual(got, want);
    assert.deepEqual(core.seen[0]!.packet, echo);
    assert.equal(core.seen[0]!.via, 'serial');
    // Request frames for packet 3 alone are > 280 bytes; the answer is as long: ≥ 500 bytes on the wire.
    assert.ok(dt >= ((want.length + 280) * 10_000) / 115200 - 1, `round trips took ${dt.toFixed(1)} ms`);
    assert.equal(createConsoleDecoder().push(got).length, 2);
  } finally {
    fs.closeSync(fd);
    await srv.close();
  }
});

ptyTest('servePty: COBS encoding', async () => {
  const core = new EchoCore();
  const srv = servePty(core, { encoding: 'cobs', baudRate: 0 });
  const fd = fs.openSync(srv.path, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  try {
    fs.writeSync(fd, Buffer.from('020801020601020109a16164626869536d00', 'hex'));
    const want = encodeCobsFrame(rsp(Buffer.from('0800000600000100a16164626869', 'hex')));
    assert.deepEqual(await readFd(fd, want.length), want);
  } finally {
    fs.closeSync(fd);
    await srv.close();
  }
});

test('startSimulator: memory and udp around a given core; options are checked', async () => {
  const core = new EchoCore();
  const mem = await startSimulator({ transport: 'memory', core, latencyMs: 1 });
  assert.equal(mem.connection, 'memory');
  assert.equal(mem.device, core);
  const got: Buffer[] = [];
  mem.transport!.on('packet', (p) => got.push(p));
  await mem.transport!.send(req(5));
  await sleep(30);
  assert.deepEqual(got, [rsp(req(5))]);
  assert.equal(mem.stats().handled, 1);
  await mem.close();

  const udp = await startSimulator({ transport: 'udp', core: new EchoCore({ netbufSize: 2048, netbufCount: 2 }) });
  assert.match(udp.connection, /^udp:127\.0\.0\.1:\d+$/);
  await udp.close();

  await assert.rejects(startSimulator({ transport: 'tcp' as never, core }), /transport must be pty, udp or memory/);
  await assert.rejects(startSimulator({ personality: 'linux' as never }), /personality/);
});

ptyTest('startSimulator: pty with faults and a seed', async () => {
  const sim = await startSimulator({ transport: 'pty', core: new EchoCore(), encoding: 'raw', baudRate: 230400, seed: 5, faults: { toHost: { drop: 0.5 } } });
  assert.match(sim.connection, /^serial:\/dev\/.+\?baud=230400&encoding=raw$/);
  assert.equal(sim.stats().seed, 5);
  await sim.close();
});

test('simulator process: the spec is checked; failures come back as an error', async () => {
  assert.equal(expandSpec({ count: 3, options: { seed: 10 } }).map((o) => o.seed).join(','), '10,11,12');
  assert.throws(() => expandSpec({ count: 0 }), RangeError);
  await assert.rejects(spawnSimulatorProcess([{ transport: 'memory' }]), /pty or udp, not memory/);
});

// ------------------------------------------------------------------ with the real protocol core

const ECHO_REQ_PKT = Buffer.from('0800000600000100a16164626869', 'hex');
const ECHO_RSP_PKT = Buffer.from('0900000700000100bf6172626869ff', 'hex');

ptyTest('real core over a PTY: the §9.2 echo frame gets Zephyr\'s reply bytes', async () => {
  const sim = await startSimulator({ personality: 'zephyr', transport: 'pty', encoding: 'console', baudRate: 115200 });
  const path = /^serial:([^?]+)\?/.exec(sim.connection)![1]!;
  const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  try {
    fs.writeSync(fd, Buffer.from('\x06\x09ABAIAAAGAAABAKFhZGJoaVNt\n', 'latin1'));
    const want = Buffer.from('\x06\x09ABEJAAAHAAABAL9hcmJoaf94ww==\n', 'latin1');
    assert.deepEqual(await readFd(fd, want.length), want);
    assert.equal(sim.stats().handled, 1);
  } finally {
    fs.closeSync(fd);
    await sim.close();
  }
});

ptyTest('real MCUboot core over a PTY in COBS: §5.5 echo frames', async () => {
  const sim = await startSimulator({ personality: 'mcuboot', transport: 'pty', encoding: 'cobs', baudRate: 115200 });
  const path = /^serial:([^?]+)\?/.exec(sim.connection)![1]!;
  const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  try {
    fs.writeSync(fd, Buffer.from('00020801020601020109a16164626869536d00', 'hex')); // leading 0x00 flushes
    const want = Buffer.from('02090102070102010abf6172626869ff78c300', 'hex');
    assert.deepEqual(await readFd(fd, want.length), want);
  } finally {
    fs.closeSync(fd);
    await sim.close();
  }
});

test('real core over UDP and in memory: echo', async () => {
  const udp = await startSimulator({ transport: 'udp' });
  assert.equal(udp.device.limits.netbufSize, 2048, 'Zephyr with UDP: NETBUF_SIZE 2048');
  assert.equal(udp.device.limits.netbufCount, 2);
  const c = await udpClient();
  try {
    const port = Number(/:(\d+)$/.exec(udp.connection)![1]);
    c.sock.send(ECHO_REQ_PKT, port, '127.0.0.1');
    const deadline = Date.now() + 2000;
    while (c.got.length === 0 && Date.now() < deadline) await sleep(5);
    assert.deepEqual(c.got, [ECHO_RSP_PKT]);
  } finally {
    c.sock.close();
    await udp.close();
  }
  const mem = await startSimulator({ transport: 'memory', latencyMs: 1 });
  const got: Buffer[] = [];
  mem.transport!.on('packet', (p) => got.push(p));
  await mem.transport!.send(ECHO_REQ_PKT);
  await sleep(30);
  assert.deepEqual(got, [ECHO_RSP_PKT]);
  await mem.close();
});

test('real core: an os reset (group 0, id 5) reboots the device after the answer; it is silent while booting', async () => {
  const sim = await startSimulator({ transport: 'memory', bootMs: 300 });
  const got: Buffer[] = [];
  sim.transport!.on('packet', (p) => got.push(p));
  const reset = buildPacket({ op: 2, version: 1, flags: 0, group: 0, seq: 7, id: 5 }, Buffer.from([0xa0]));
  await sim.transport!.send(reset);
  const deadline = Date.now() + 3000;
  while (sim.stats().resets === 0 && Date.now() < deadline) await sleep(10);
  assert.equal(got.length, 1);
  assert.equal(got[0]![0]! & 7, 3, 'WRITE_RSP');
  assert.equal(sim.stats().resets, 1);
  await sim.transport!.send(ECHO_REQ_PKT); // booting: lost
  await sleep(350);
  await sim.transport!.send(ECHO_REQ_PKT);
  await sleep(30);
  assert.deepEqual(got.slice(1), [ECHO_RSP_PKT]);
  await sim.close();
});

ptyTest('simulator process: N devices in a child process, reachable by their connection strings', async () => {
  const proc = await spawnSimulatorProcess([
    { transport: 'pty', encoding: 'console' },
    { transport: 'pty', encoding: 'raw', baudRate: 1_000_000 },
    { transport: 'udp' },
  ]);
  try {
    assert.equal(proc.connections.length, 3);
    assert.match(proc.connections[0]!, /^serial:\/dev\/.+\?baud=115200&encoding=console$/);
    assert.match(proc.connections[1]!, /^serial:\/dev\/.+\?baud=1000000&encoding=raw$/);
    assert.match(proc.connections[2]!, /^udp:127\.0\.0\.1:\d+$/);
    const fd = fs.openSync(/^serial:([^?]+)\?/.exec(proc.connections[0]!)![1]!, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
    try {
      fs.writeSync(fd, Buffer.from('\x06\x09ABAIAAAGAAABAKFhZGJoaVNt\n', 'latin1'));
      const want = Buffer.from('\x06\x09ABEJAAAHAAABAL9hcmJoaf94ww==\n', 'latin1');
      assert.deepEqual(await readFd(fd, want.length), want);
    } finally {
      fs.closeSync(fd);
    }
    const raw = fs.openSync(/^serial:([^?]+)\?/.exec(proc.connections[1]!)![1]!, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
    try {
      fs.writeSync(raw, ECHO_REQ_PKT);
      assert.deepEqual(await readFd(raw, ECHO_RSP_PKT.length), ECHO_RSP_PKT);
    } finally {
      fs.closeSync(raw);
    }
    const stats = await proc.stats();
    assert.equal(stats.length, 3);
    assert.equal(stats[0]!.handled, 1);
    assert.equal(stats[1]!.handled, 1);
  } finally {
    await proc.close();
  }
  assert.ok(proc.child.exitCode !== null || proc.child.signalCode !== null);
});
