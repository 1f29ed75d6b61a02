/**
 * SMP over Bluetooth LE: the GATT framing, the transport against the simulated Zephyr SMP GATT
 * server (requests and answers in several pieces, a device without reassembly, lost
 * notifications, a link that drops mid-upload), `ble:` connection strings, scanning, and the
 * real noble package failing to start without a radio. (Every group's commands over BLE run in
 * client-sim.test.ts.)
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MCUmgrClient } from '../src/client.js';
import { parseConnection, formatConnection } from '../src/connection.js';
import { McuMgrError, SmpFrameSizeError } from '../src/errors.js';
import { buildImage } from '../src/image/build.js';
import { parseImage } from '../src/image/parse.js';
import { startBleSimulator, requestsPerSecondBound, llPackets, type BleSimulatorOptions } from '../src/sim/ble/index.js';
import { createZephyrDevice, type ZephyrDevice } from '../src/sim/device/zephyr.js';
import { BleTransport, BleUnavailableError, GattReassembler, scanSmpDevices, splitPacket } from '../src/transport/ble/index.js';
import { nobleAdapter } from '../src/transport/ble/noble.js';
import { MAIN } from './cli-util.js';

const run = promisify(execFile);

function packet(op: number, seq: number, payloadLen: number): Uint8Array {
  const p = new Uint8Array(8 + payloadLen);
  p[0] = op;
  p[2] = payloadLen >> 8;
  p[3] = payloadLen & 0xff;
  p[6] = seq;
  for (let i = 8; i < p.length; i++) p[i] = i & 0xff;
  return p;
}

describe('GATT framing', () => {
  test('splitPacket cuts at ATT MTU − 3, views not copies', () => {
    const p = new Uint8Array(500);
    const parts = splitPacket(p, 247);
    assert.deepEqual(
      parts.map((x) => x.length),
      [244, 244, 12],
    );
    assert.equal(parts[1]!.buffer, p.buffer);
    assert.deepEqual(
      splitPacket(new Uint8Array(40), 23).map((x) => x.length),
      [20, 20],
    );
    assert.throws(() => splitPacket(p, 22), /mtu must be an ATT MTU 23\.\.517/);
  });

  test('reassembly by the header length, one piece or many', () => {
    const r = new GattReassembler();
    const one = packet(3, 1, 10);
    assert.deepEqual(r.push(one), [one]);
    const big = packet(1, 2, 600);
    const pieces = splitPacket(big, 247);
    assert.deepEqual(r.push(pieces[0]!), []);
    assert.equal(r.pending, 244);
    assert.deepEqual(r.push(pieces[1]!), []);
    assert.deepEqual(r.push(pieces[2]!), [big]);
    assert.equal(r.stats().packets, 2);
  });

  test('hard cap, bad starts, and a lost piece: the overrunning piece starts the next packet', () => {
    const r = new GattReassembler({ maxPacket: 300 });
    assert.deepEqual(r.push(packet(3, 1, 400).subarray(0, 244)), []);
    assert.equal(r.stats().oversize, 1);
    assert.equal(r.pending, 0);
    assert.deepEqual(r.push(new Uint8Array([3, 0, 0])), []); // shorter than a header
    assert.deepEqual(r.push(packet(2, 1, 4)), []); // a request op cannot start an answer
    assert.equal(r.stats().badStart, 2);
    const a = packet(3, 5, 280);
    const b = packet(3, 6, 4);
    r.push(a.subarray(0, 100)); // its second piece is lost
    assert.deepEqual(r.push(b.subarray(0, 12)), [], 'fits the gap: taken as the rest of a (no marker on this link)');
    r.reset();
    assert.equal(r.stats().abandoned, 1);
    r.push(a.subarray(0, 100));
    const c = packet(3, 7, 250);
    assert.deepEqual(r.push(c.subarray(0, 244)), [], 'overruns a: a dropped, c started');
    assert.equal(r.stats().overrun, 1);
    assert.deepEqual(r.push(c.subarray(244)), [c]);
  });

  test('the framing is plain TypeScript over Uint8Array (no Node API), so Web Bluetooth can use it', async () => {
    const { readFile } = await import('node:fs/promises');
    const src = await readFile(new URL('../src/transport/ble/gatt.ts', import.meta.url), 'utf8');
    // Its one import is the GATT numbers, themselves free of Node.
    const imports = [...src.matchAll(/^(?:import|export) .* from '([^']+)';$/gm)].map((m) => m[1]);
    assert.deepEqual([...new Set(imports)], ['../../protocol/ble-gatt.js']);
    const numbers = await readFile(new URL('../src/protocol/ble-gatt.ts', import.meta.url), 'utf8');
    assert.doesNotMatch(numbers, /^import /m);
    for (const s of [src, numbers]) assert.doesNotMatch(s, /\bBuffer\b|NodeJS|process\./);
  });

  test('the bound of the link model: 2475-byte requests at MTU 247, 4 packets per 7.5 ms', () => {
    assert.equal(llPackets(247, 251), 1);
    assert.equal(llPackets(248, 251), 2);
    // 2475 = 10 × 244 + 35: 11 link-layer packets, 2.75 events of 7.5 ms.
    assert.equal(Math.round(requestsPerSecondBound(2475, { connIntervalMs: 7.5, attMtu: 247, packetsPerEvent: 4, llPayload: 251 }) * 1000), Math.round(1000_000 / (2.75 * 7.5)));
  });
});

const FAST = { connIntervalMs: 2, attMtu: 247, bootMs: 20 } satisfies BleSimulatorOptions;

async function withSim<T>(opts: BleSimulatorOptions, device: Parameters<typeof createZephyrDevice>[0], fn: (sim: ReturnType<typeof startBleSimulator>, core: ZephyrDevice) => Promise<T>): Promise<T> {
  const core = createZephyrDevice({ netbufSize: 2475, netbufCount: 4, ...device });
  const sim = startBleSimulator({ ...FAST, ...opts, core });
  try {
    return await fn(sim, core);
  } finally {
    await sim.close();
  }
}

function isLinkError(e: unknown): boolean {
  return e instanceof McuMgrError && (e.code === 'SMP_ERR_TRANSPORT' || e.code === 'SMP_ERR_CLOSED');
}

describe('BLE transport against the simulated SMP GATT server', () => {
  test('requests and answers longer than the MTU go in pieces both ways', async () => {
    await withSim({}, {}, async (sim) => {
      const client = await MCUmgrClient.ble(sim.target, { adapter: sim.adapter, timeoutMs: 3000 });
      try {
        const t = client.transport as BleTransport;
        assert.equal(t.mtu, 247);
        assert.equal(t.maxPacket, undefined, 'the device reassembles: its buffer is the limit');
        await client.useAutoFrameSize();
        const before = sim.stats();
        const text = 'x'.repeat(1000);
        assert.equal(await client.os.echo(text), text);
        const after = sim.stats();
        // Request: 8-byte header + CBOR {"d": 1000-char string} ≈ 1015 bytes → 5 writes of ≤ 244.
        assert.equal(after.writes - before.writes, 5);
        assert.equal(after.notifications - before.notifications, 5);
        assert.equal(t.stats().notifications, 1 + 5);
        assert.equal(after.drops.overflow + after.drops.oversize + after.drops.netbufExhausted, 0);
      } finally {
        await client.close();
      }
    });
  });

  test('transfer requests end on a write boundary: 2440 bytes in 10 writes, not 2475 in 11', async () => {
    await withSim({}, {}, async (sim, core) => {
      const client = await MCUmgrClient.ble(sim.target, { adapter: sim.adapter, timeoutMs: 3000 });
      try {
        await client.useAutoFrameSize();
        assert.equal(client.maxRequest, 2475);
        assert.equal(client.transferContext().maxRequest, 2440);
        const before = sim.stats();
        const img = buildImage({ size: 12 * 1024, version: '1.1.0' });
        await client.image.upload(img);
        const after = sim.stats();
        const chunks = after.handled - before.handled;
        assert.ok(chunks >= 5);
        assert.ok(after.writes - before.writes <= 10 * chunks, `${after.writes - before.writes} writes for ${chunks} chunks`);
        assert.ok(core.readSlot(0, 1).subarray(0, img.length).equals(img));
      } finally {
        await client.close();
      }
    });
  });

  test('ATT MTU 23 (no exchange): 20-byte pieces', async () => {
    await withSim({ attMtu: 23 }, {}, async (sim) => {
      const client = await MCUmgrClient.ble(sim.target, { adapter: sim.adapter, timeoutMs: 3000 });
      try {
        assert.equal((client.transport as BleTransport).mtu, 23);
        const state = await client.image.state();
        assert.equal(state[0]!.active, true);
        assert.ok((client.transport as BleTransport).stats().notifications > 5);
      } finally {
        await client.close();
      }
    });
  });

  test('a device without reassembly: requests limited to one write, refused before sending', async () => {
    await withSim({ reassembly: false }, {}, async (sim) => {
      const client = await MCUmgrClient.ble(sim.target, { adapter: sim.adapter, timeoutMs: 3000, deviceReassembly: false });
      try {
        assert.equal(client.transport.maxPacket, 244);
        await client.useAutoFrameSize();
        assert.equal(client.maxRequest, 244);
        const writes = sim.stats().writes;
        await assert.rejects(client.os.echo('y'.repeat(400)), SmpFrameSizeError);
        assert.equal(sim.stats().writes, writes, 'nothing was written');
        const img = buildImage({ size: 3000, version: '1.2.0' });
        const r = await client.image.upload(img);
        assert.equal(r.match, true);
      } finally {
        await client.close();
      }
    });
  });

  test('a lost notification mid-upload: the window goes on and the image lands whole', async () => {
    await withSim({ faults: { dropNotifications: [6] } }, {}, async (sim, core) => {
      const client = await MCUmgrClient.ble(sim.target, { adapter: sim.adapter, timeoutMs: 400 });
      try {
        await client.useAutoFrameSize();
        const img = buildImage({ size: 24 * 1024, version: '1.3.0' });
        const r = await client.image.upload(img);
        assert.equal(sim.stats().notificationsLost, 1);
        assert.equal(r.match, true);
        assert.ok(core.readSlot(0, 1).subarray(0, img.length).equals(img));
      } finally {
        await client.close();
      }
    });
  });

  test('a piece of a long answer lost: the partial answer is dropped and the read retried', async () => {
    // With ATT MTU 23 the image-state answer takes many notifications; the 4th is lost.
    await withSim({ attMtu: 23, faults: { dropNotifications: [4] } }, {}, async (sim) => {
      const client = await MCUmgrClient.ble(sim.target, { adapter: sim.adapter, timeoutMs: 500, retries: 1, stallMs: 150 });
      try {
        const state = await client.image.state();
        assert.equal(state[0]!.active, true);
        assert.equal(sim.stats().notificationsLost, 1);
        assert.equal((client.transport as BleTransport).stats().abandoned, 1);
        assert.equal(client.session.stats().retries, 1);
      } finally {
        await client.close();
      }
    });
  });

  test('the link drops mid-upload: a typed error, nothing marked; after reconnecting the upload resumes by offset', async () => {
    // useAutoFrameSize is one write; every 2475-byte chunk is 11: the link drops inside chunk 5.
    await withSim({ faults: { dropLinkAfterWrites: 1 + 11 * 4 + 6 } }, {}, async (sim, core) => {
      const client = await MCUmgrClient.ble(sim.target, { adapter: sim.adapter, timeoutMs: 1000 });
      try {
        await client.useAutoFrameSize();
        const img = buildImage({ size: 40 * 1024, version: '1.4.0' });
        const info = parseImage(img);
        await assert.rejects(client.image.upload(img), isLinkError);
        assert.equal(sim.stats().linkDrops, 1);
        assert.ok(client.transport.closed);

        await client.reconnect();
        const mid = await client.image.state();
        assert.ok(!mid.some((s) => s.pending), 'no slot is marked after a partial upload');
        assert.ok(!mid.some((s) => s.hash.equals(info.hash)), 'the partial image is not listed as the new one');

        const before = sim.stats().bytesUp;
        const r = await client.image.upload(img);
        const sent = sim.stats().bytesUp - before;
        assert.equal(r.match, true);
        assert.ok(sent < img.length * 0.95, `resumed: ${sent} bytes written for a ${img.length}-byte image`);
        assert.ok(core.readSlot(0, 1).subarray(0, img.length).equals(img));
        const done = await client.image.state();
        assert.ok(!done.some((s) => s.pending), 'uploaded, still not marked until asked');
      } finally {
        await client.close();
      }
    });
  });

  test('firmwareUpdate over a link that drops mid-upload ends in a typed error and marks nothing', async () => {
    await withSim({ faults: { dropLinkAfterWrites: 1 + 3 + 11 * 3 } }, {}, async (sim) => {
      const client = await MCUmgrClient.ble(sim.target, { adapter: sim.adapter, timeoutMs: 1000 });
      try {
        await client.useAutoFrameSize();
        const img = buildImage({ size: 30 * 1024, version: '1.5.0' });
        await assert.rejects(client.firmwareUpdate(img, { mode: 'test' }), isLinkError);
        await client.reconnect();
        const st = await client.image.state();
        assert.ok(!st.some((s) => s.pending));
        assert.equal(st.find((s) => s.active)!.version, '1.0.0');
      } finally {
        await client.close();
      }
    });
  });

  test('scan lists the advertised SMP devices with RSSI; an unknown name says what was seen', async () => {
    await withSim({ rssi: -61, name: 'lab-7' }, {}, async (sim) => {
      const found = await scanSmpDevices({ adapter: sim.adapter, timeoutMs: 50 });
      assert.deepEqual(found, [{ id: 'c0ffee000001', address: 'C0:FF:EE:00:00:01', name: 'lab-7', rssi: -61, smp: true }]);
      await assert.rejects(MCUmgrClient.ble('lab-8', { adapter: sim.adapter, scanTimeoutMs: 50 }), /no BLE device "lab-8" advertised within 50 ms \(sim\); SMP devices seen: lab-7/);
      const byAddress = await MCUmgrClient.ble('c0:ff:ee:00:00:01', { adapter: sim.adapter });
      assert.equal((byAddress.transport as BleTransport).device.name, 'lab-7');
      await byAddress.close();
    });
  });
});

describe('BleTransport over a link whose stack reports a failed write before the disconnect', () => {
  test('the send fails typed and the transport is closed at once, with an error and a close event', async () => {
    const events: string[] = [];
    const link = {
      mtu: 247,
      write: () => Promise.reject(new Error('ATT write command refused')),
      onNotification: () => () => undefined,
      onDisconnect: () => () => undefined,
      disconnect: () => Promise.resolve(),
    };
    const t = new BleTransport(link, { id: 'x', name: 'dev', rssi: -40, smp: true });
    t.on('error', (e) => events.push(`error: ${e.message}`));
    t.on('close', () => events.push('close'));
    await assert.rejects(t.send(Buffer.from(packet(2, 1, 8))), (e: unknown) => e instanceof McuMgrError && e.code === 'SMP_ERR_TRANSPORT' && /ATT write command refused/.test(e.message));
    assert.equal(t.closed, true);
    assert.equal(events.length, 2);
    assert.match(events[0]!, /^error: the BLE link to dev dropped \(a write failed: ATT write command refused\)/);
    assert.equal(events[1], 'close');
    await assert.rejects(t.send(Buffer.from(packet(2, 2, 8))), (e: unknown) => e instanceof McuMgrError && e.code === 'SMP_ERR_CLOSED');
  });
});

describe('ble: connection strings', () => {
  test('name, address, peripheral id, scanTimeout; round trip', () => {
    assert.deepEqual(parseConnection('ble:Zephyr'), { kind: 'ble', target: 'Zephyr', client: {} });
    assert.deepEqual(parseConnection('ble:C0:FF:EE:00:00:01?scanTimeout=3000&timeout=9000'), {
      kind: 'ble',
      target: 'C0:FF:EE:00:00:01',
      scanTimeoutMs: 3000,
      client: { timeoutMs: 9000 },
    });
    assert.equal(parseConnection('ble:5f1a2b3c4d5e6f708192a3b4c5d6e7f8').kind, 'ble');
    for (const s of ['ble:My%20Board?scanTimeout=100', 'ble:C0:FF:EE:00:00:01']) assert.equal(formatConnection(parseConnection(s)), s);
    assert.throws(() => parseConnection('ble:'), /the BLE device is missing/);
    assert.throws(() => parseConnection('ble:x?baud=1'), /unknown parameter "baud"/);
  });
});

describe('the noble adapter, loaded for real', () => {
  test('without a Bluetooth radio the package fails to start with a typed error naming the fix', async () => {
    let err: unknown;
    try {
      await nobleAdapter({ readyTimeoutMs: 2000 });
    } catch (e) {
      err = e;
    }
    // This machine has no Bluetooth (no AF_BLUETOOTH sockets), so noble must fail to start.
    assert.ok(err instanceof BleUnavailableError, `expected BleUnavailableError, got ${String(err)}`);
    assert.equal(err.code, 'BLE_ERR_UNAVAILABLE');
    assert.ok(['no-bluetooth', 'unauthorized', 'unsupported', 'powered-off'].includes(err.reason), err.reason);
    assert.match(err.message, /Bluetooth|setcap/);
  });

  test('when the package is not installed, the error names the install command and the capabilities', async () => {
    const err = await nobleAdapter({ importer: () => import('@abandonware/noble-is-not-here' as string) }).catch((e: unknown) => e);
    assert.ok(err instanceof BleUnavailableError);
    assert.equal(err.reason, 'not-installed');
    assert.match(err.message, /npm install @abandonware\/noble/);
    assert.match(err.message, /setcap cap_net_raw\+eip \$\(eval readlink -f \$\(which node\)\)/);
  });

  test('mcumgr list --ble and --conn ble: report it', async () => {
    const r = await run(process.execPath, ['--import', 'tsx', MAIN, 'list', '--ble', '--scan-time', '200'], { encoding: 'utf8' }).catch((e: { code: number; stderr: string }) => e);
    assert.equal((r as { code: number }).code, 1);
    assert.match((r as { stderr: string }).stderr, /BLE_ERR_UNAVAILABLE/);
    await assert.rejects(MCUmgrClient.connect('ble:Zephyr?scanTimeout=100'), BleUnavailableError);
  });
});
