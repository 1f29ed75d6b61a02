/**
 * The UDP transport: one datagram per packet, answers only from the device's address and port,
 * packet size limits, IPv4 and IPv6, and MCUmgrClient.udp end to end against a tiny responder.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { openUdpTransport } from '../src/transport/udp.js';
import { MCUmgrClient } from '../src/client.js';
import { decodeHeader, buildPacket, SMP_HEADER_SIZE } from '../src/codec/header.js';
import { decodeCborMap, encodeCbor } from '../src/codec/cbor.js';
import { SmpClosedError, SmpFrameSizeError, SmpTimeoutError } from '../src/errors.js';

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

/** A UDP "device" that answers echo requests; `mode` decides where answers come from. */
async function responder(family: 'udp4' | 'udp6', address: string) {
  const sock = createSocket(family);
  const foreign = createSocket(family);
  sockets.push(sock, foreign);
  await new Promise<void>((r) => sock.bind(0, address, r));
  await new Promise<void>((r) => foreign.bind(0, address, r));
  const state = { mode: 'normal' as 'normal' | 'foreign-then-normal' | 'silent', received: [] as Buffer[] };
  sock.on('message', (msg, rinfo) => {
    state.received.push(msg);
    const h = decodeHeader(msg);
    const body = decodeCborMap(msg.subarray(SMP_HEADER_SIZE));
    const rsp =
      h.group === 0 && h.id === 6 ? { buf_size: 2048, buf_count: 2 } : h.group === 0 && h.id === 0 ? { r: body.d } : { rc: 8 };
    const out = buildPacket({ op: h.op + 1, version: h.version, flags: 0, group: h.group, seq: h.seq, id: h.id }, encodeCbor(rsp));
    if (state.mode === 'silent') return;
    if (state.mode === 'foreign-then-normal') {
      // A well-formed answer with the right seq, but from another port: must be ignored.
      const fake = buildPacket({ op: h.op + 1, version: h.version, flags: 0, group: h.group, seq: h.seq, id: h.id }, encodeCbor({ r: 'spoofed' }));
      foreign.send(fake, rinfo.port, rinfo.address, () => setTimeout(() => sock.send(out, rinfo.port, rinfo.address), 20));
      return;
    }
    sock.send(out, rinfo.port, rinfo.address);
  });
  return { port: (sock.address() as { port: number }).port, state };
}

async function ipv6Available(): Promise<boolean> {
  const s = createSocket('udp6');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, '::1', () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    s.close();
  }
}

describe('UdpTransport', () => {
  test('IPv4: one datagram per packet; default packet limit 1472', async () => {
    const dev = await responder('udp4', '127.0.0.1');
    const t = await openUdpTransport({ host: '127.0.0.1', port: dev.port });
    assert.equal(t.maxPacket, 1472);
    assert.equal(t.kind, 'udp');
    const got = new Promise<Buffer>((r) => t.on('packet', r));
    const req = buildPacket({ op: 0, version: 1, flags: 0, group: 0, seq: 9, id: 0 }, encodeCbor({ d: 'hi' }));
    await t.send(req);
    const rsp = await got;
    assert.deepEqual(decodeCborMap(rsp.subarray(8)), { r: 'hi' });
    assert.deepEqual(dev.state.received, [req]);
    assert.deepEqual(t.stats(), { sent: 1, received: 1, foreign: 0 });
    await t.close();
    await assert.rejects(t.send(req), SmpClosedError);
  });

  test('answers from a foreign port are dropped and counted', async () => {
    const dev = await responder('udp4', '127.0.0.1');
    dev.state.mode = 'foreign-then-normal';
    const client = await MCUmgrClient.udp('127.0.0.1', dev.port, { timeoutMs: 2000 });
    assert.equal(await client.os.echo('real'), 'real');
    const t = client.transport as Awaited<ReturnType<typeof openUdpTransport>>;
    assert.equal(t.stats().foreign, 1);
    assert.equal(client.session.stats().received, 1);
    await client.close();
  });

  test('packet limit: mtu, deviceMtu, maxPacket; oversized sends are refused', async () => {
    const dev = await responder('udp4', '127.0.0.1');
    const t1 = await openUdpTransport({ host: '127.0.0.1', port: dev.port, mtu: 9000 });
    assert.equal(t1.maxPacket, 1500, 'capped by the device UDP MTU');
    const t2 = await openUdpTransport({ host: '127.0.0.1', port: dev.port, mtu: 576 });
    assert.equal(t2.maxPacket, 548);
    const t3 = await openUdpTransport({ host: '127.0.0.1', port: dev.port, maxPacket: 100 });
    await assert.rejects(t3.send(Buffer.alloc(101)), SmpFrameSizeError);
    assert.equal(dev.state.received.length, 0);
    await Promise.all([t1.close(), t2.close(), t3.close()]);
  });

  test('option errors', async () => {
    await assert.rejects(openUdpTransport({ host: '' }), TypeError);
    await assert.rejects(openUdpTransport({ host: '127.0.0.1', port: 70000 }), /port/);
    await assert.rejects(openUdpTransport({ host: '127.0.0.1', mtu: 10 }), /mtu/);
    await assert.rejects(openUdpTransport({ host: '127.0.0.1', family: 6 }), /IPv4 address/);
    await assert.rejects(openUdpTransport({ host: 'no-such-host.invalid' }), (e: unknown) => (e as Error).name === 'TransportError');
  });

  test('IPv6 loopback', async (t) => {
    if (!(await ipv6Available())) {
      t.skip('no IPv6 loopback here');
      return;
    }
    const dev = await responder('udp6', '::1');
    const client = await MCUmgrClient.connect(`udp:[::1]:${dev.port}`);
    assert.equal(client.transport.maxPacket, 1452);
    assert.equal(await client.os.echo('six'), 'six');
    await client.close();
  });
});

describe('MCUmgrClient over UDP', () => {
  test('connect, useAutoFrameSize (capped by the datagram limit), timeout when silent', async () => {
    const dev = await responder('udp4', '127.0.0.1');
    await using client = await MCUmgrClient.connect(`udp:127.0.0.1:${dev.port}`);
    const r = await client.useAutoFrameSize();
    assert.equal(r.frameSize, 2048);
    assert.equal(r.maxRequest, 1472);
    assert.equal(r.bufCount, 2);
    assert.equal(await client.os.echo('x'.repeat(1000)), 'x'.repeat(1000));
    dev.state.mode = 'silent';
    await assert.rejects(client.os.echo('lost', { timeoutMs: 100 }), SmpTimeoutError);
  });

  test('reconnect opens a new socket and keeps the settings; not after close', async () => {
    const dev = await responder('udp4', '127.0.0.1');
    const client = await MCUmgrClient.udp('127.0.0.1', dev.port, { frameSize: 1024 });
    assert.equal(client.canReconnect, true);
    const first = client.transport;
    await first.close();
    assert.equal(client.closed, true);
    await assert.rejects(client.os.echo('dead'), SmpClosedError);
    await client.reconnect();
    assert.notEqual(client.transport, first);
    assert.equal(client.closed, false);
    assert.equal(client.frameSize, 1024);
    assert.equal(await client.os.echo('back'), 'back');
    // A command issued while reconnecting waits for the new link.
    const during = Promise.all([client.reconnect(), client.os.echo('during')]);
    assert.equal((await during)[1], 'during');
    await client.close();
    assert.equal(client.canReconnect, false);
    await assert.rejects(client.reconnect(), SmpClosedError);
  });

  test('a client made from a transport cannot reconnect', async () => {
    const dev = await responder('udp4', '127.0.0.1');
    const t = await openUdpTransport({ host: '127.0.0.1', port: dev.port });
    const client = MCUmgrClient.fromTransport(t);
    assert.equal(client.canReconnect, false);
    await assert.rejects(client.reconnect(), TypeError);
    await client.close();
  });
});
