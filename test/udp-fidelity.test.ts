/**
 * The UDP transport against how Zephyr's smp_udp.c answers: `sendto` the request's source from
 * its socket bound to the SMP port on the any-address, so the answer comes from the SMP port but
 * from a source address the device's stack picks. `acceptFrom` decides what is accepted.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { openUdpTransport, type UdpAcceptFrom } from '../src/transport/udp.js';
import { MCUmgrClient } from '../src/client.js';
import { parseConnection, formatConnection } from '../src/connection.js';
import { decodeHeader, buildPacket, SMP_HEADER_SIZE } from '../src/codec/header.js';
import { decodeCborMap, encodeCbor } from '../src/codec/cbor.js';
import { SmpTimeoutError, TransportError } from '../src/errors.js';
import { startSimulator } from '../src/sim/simulator.js';

const sockets: Socket[] = [];
after(() => {
  for (const s of sockets) {
    try {
      s.close();
    } catch {
      /* already closed */
    }
  }
});

async function bind(family: 'udp4' | 'udp6', address: string, port = 0): Promise<Socket> {
  const s = createSocket(family);
  sockets.push(s);
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, address, () => resolve());
  });
  return s;
}

/**
 * An echo "device" listening on `listen`; it answers from `replyFrom` (another local address on
 * the same port, as a multi-address device does, or another port, as behind a NAT).
 */
async function device(listen: string, replyFrom: { address: string; samePort: boolean }) {
  const rx = await bind('udp4', listen);
  const port = rx.address().port;
  const same = replyFrom.address === listen && replyFrom.samePort;
  const tx = same ? rx : await bind('udp4', replyFrom.address, replyFrom.samePort ? port : 0);
  rx.on('message', (msg, rinfo) => {
    const h = decodeHeader(msg);
    const body = decodeCborMap(msg.subarray(SMP_HEADER_SIZE));
    const out = buildPacket({ op: h.op + 1, version: h.version, flags: 0, group: h.group, seq: h.seq, id: h.id }, encodeCbor({ r: body.d }));
    tx.send(out, rinfo.port, rinfo.address);
  });
  return { port };
}

async function echoThrough(host: string, port: number, acceptFrom?: UdpAcceptFrom) {
  const client = await MCUmgrClient.udp(host, port, { timeoutMs: 400, retries: 0, ...(acceptFrom ? { acceptFrom } : {}) });
  try {
    const r = await client.os.echo('hi').then(
      (v) => v,
      (e: unknown) => e,
    );
    return { r, stats: (client.transport as unknown as { stats(): { received: number; foreign: number } }).stats() };
  } finally {
    await client.close();
  }
}

describe('UDP answers from another address of the device (Zephyr picks the source address)', () => {
  test("default 'device': an answer from 127.0.0.2 to a request sent to 127.0.0.1 is dropped and counted", async () => {
    const dev = await device('127.0.0.1', { address: '127.0.0.2', samePort: true });
    const { r, stats } = await echoThrough('127.0.0.1', dev.port);
    assert.ok(r instanceof SmpTimeoutError, String(r));
    assert.equal(stats.foreign, 1);
  });

  test("'port': accepted from any address on the device's port", async () => {
    const dev = await device('127.0.0.1', { address: '127.0.0.2', samePort: true });
    const { r, stats } = await echoThrough('127.0.0.1', dev.port, 'port');
    assert.equal(r, 'hi');
    assert.deepEqual(stats, { sent: 1, received: 1, foreign: 0 });
  });

  test("'port' still drops answers from another port; 'any' takes them (NAT rewriting the port)", async () => {
    const dev = await device('127.0.0.1', { address: '127.0.0.1', samePort: false });
    const p = await echoThrough('127.0.0.1', dev.port, 'port');
    assert.ok(p.r instanceof SmpTimeoutError, String(p.r));
    assert.equal(p.stats.foreign, 1);
    const a = await echoThrough('127.0.0.1', dev.port, 'any');
    assert.equal(a.r, 'hi');
  });

  test("IPv4-mapped IPv6: a device given as ::ffff:127.0.0.1 matches answers in either spelling under 'device'", async (t) => {
    const probe = createSocket('udp6');
    const dualStack = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.bind(0, '::', () => resolve(true));
    });
    probe.close();
    if (!dualStack) return t.skip('no IPv6 sockets here');
    const dev = await device('127.0.0.1', { address: '127.0.0.1', samePort: true });
    const { r } = await echoThrough('::ffff:127.0.0.1', dev.port);
    assert.equal(r, 'hi');
  });
});

describe('acceptFrom defaults and arguments', () => {
  test("multicast and broadcast targets default to 'port' (no answer comes from a group address); unicast to 'device'", async () => {
    const cases: Array<[string, UdpAcceptFrom]> = [
      ['239.1.2.3', 'port'],
      ['224.0.0.251', 'port'],
      ['255.255.255.255', 'port'],
      ['127.0.0.1', 'device'],
    ];
    for (const [host, want] of cases) {
      const tr = await openUdpTransport({ host });
      assert.equal(tr.acceptFrom, want, host);
      await tr.close();
    }
    const forced = await openUdpTransport({ host: '239.1.2.3', acceptFrom: 'device' });
    assert.equal(forced.acceptFrom, 'device');
    await forced.close();
  });

  test('a client of a group address refuses transfers before sending; requests still go out', async () => {
    const client = await MCUmgrClient.udp('239.1.2.3', 1337, { timeoutMs: 200, retries: 0 });
    try {
      assert.equal((client.transport as unknown as { groupAddress: boolean }).groupAddress, true);
      assert.throws(
        () => client.transferContext(),
        (e: unknown) => e instanceof TransportError && /group address 239\.1\.2\.3/.test(e.message) && /own address/.test(e.message),
      );
      const sent = (client.transport as unknown as { stats(): { sent: number } }).stats().sent;
      await assert.rejects(client.image.upload(Buffer.alloc(64)), TransportError);
      assert.equal((client.transport as unknown as { stats(): { sent: number } }).stats().sent, sent, 'nothing was sent');
    } finally {
      await client.close();
    }
    for (const host of ['127.0.0.1', '::1', 'ff0::1']) {
      const tr = await openUdpTransport({ host });
      assert.equal(tr.groupAddress, false, host);
      await tr.close();
    }
    // The directed broadcast of a subnet this host is on (loopback is 127.0.0.0/8 everywhere).
    const directed = await openUdpTransport({ host: '127.255.255.255' });
    assert.equal(directed.groupAddress, true);
    assert.equal(directed.acceptFrom, 'port');
    await directed.close();
    const v6 = await openUdpTransport({ host: 'ff02::1' });
    assert.equal(v6.groupAddress, true);
    await v6.close();
  });

  test('on a group address, requests other than transfers still work (confirm without a hash, state)', async () => {
    // A simulated device behind a transport that reports a group address, as a multicast one does.
    const sim = await startSimulator({ transport: 'memory' });
    Object.defineProperty(sim.transport!, 'groupAddress', { value: true });
    const client = MCUmgrClient.fromTransport(sim.transport!, { timeoutMs: 2000 });
    try {
      assert.throws(() => client.transferContext(), TransportError);
      const list = await client.image.confirm();
      assert.ok(list.some((s) => s.active && s.confirmed));
    } finally {
      await client.close();
      await sim.close();
    }
  });

  test('a bad acceptFrom names the argument and the choices', async () => {
    await assert.rejects(
      openUdpTransport({ host: '127.0.0.1', acceptFrom: 'everyone' as UdpAcceptFrom }),
      (e: unknown) => e instanceof RangeError && /acceptFrom must be 'device', 'port' or 'any'/.test(e.message),
    );
  });

  test('connection strings carry acceptFrom, and it reaches the transport', async () => {
    const c = parseConnection('udp:[fe80::1%eth0]:1337?acceptFrom=port');
    assert.deepEqual(c, { kind: 'udp', host: 'fe80::1%eth0', port: 1337, acceptFrom: 'port', client: {} });
    assert.equal(formatConnection(c), 'udp:[fe80::1%eth0]:1337?acceptFrom=port');
    assert.throws(() => parseConnection('udp:127.0.0.1?acceptFrom=all'), /acceptFrom "all" is not device, port or any/);

    const dev = await device('127.0.0.1', { address: '127.0.0.2', samePort: true });
    const client = await MCUmgrClient.connect(`udp:127.0.0.1:${dev.port}?acceptFrom=port&timeout=1000`);
    try {
      assert.equal(await client.os.echo('via string'), 'via string');
    } finally {
      await client.close();
    }
  });
});
