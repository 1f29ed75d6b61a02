/**
 * OS group fidelity to Zephyr's os_mgmt.c: taskstat keys that repeat (thread names, or priorities
 * without CONFIG_THREAD_NAME) and the unsigned-priority encoding; mpstat pools that share a name;
 * the date-time text Zephyr prints and accepts (`.%d` milliseconds, no zone, 19–25 characters).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MCUmgrClient } from '../src/client.js';
import { startSimulator } from '../src/sim/simulator.js';
import { createZephyrDevice, type ZephyrDeviceOptions } from '../src/sim/device/zephyr.js';
import { cborMapEntries } from '../src/codec/cbor-entries.js';
import { buildPacket, SMP_HEADER_SIZE } from '../src/codec/header.js';
import { formatDateTime } from '../src/groups/os.js';
import { parseDateTimeArg } from '../src/cli/os.js';
import { SmpFrameError } from '../src/errors.js';
import { FixedAnswer } from './fixed-answer.js';

const THREADS = [
  { name: 'worker', prio: 7, state: 2, stackSize: 1024, stackUsed: 400 },
  { name: 'worker', prio: 7, state: 0, stackSize: 2048, stackUsed: 800 },
  { name: 'sysworkq', prio: -1, state: 2, stackSize: 1024, stackUsed: 356 },
];

async function withSim<T>(device: ZephyrDeviceOptions, fn: (c: MCUmgrClient) => Promise<T>): Promise<T> {
  const sim = await startSimulator({ transport: 'memory', core: createZephyrDevice(device) });
  const client = MCUmgrClient.fromTransport(sim.transport!, { timeoutMs: 3000, closeTransport: false });
  try {
    return await fn(client);
  } finally {
    await client.close();
    await sim.close();
  }
}


describe('os taskstat: every thread is kept', () => {
  test('two threads with the same name both come back, in the device order', async () => {
    const tasks = await withSim({ threads: THREADS }, (c) => c.os.taskStats());
    assert.deepEqual(
      tasks.map((t) => [t.name, t.tid, t.state, t.stackSize]),
      [
        ['worker', 0, 2, 256],
        ['worker', 1, 0, 512],
        ['sysworkq', 2, 2, 256],
      ],
    );
  });

  test('without thread names Zephyr keys by priority (Kconfig default): equal priorities are kept', async () => {
    const tasks = await withSim({ threads: THREADS, taskstatName: 'prio' }, (c) => c.os.taskStats());
    assert.deepEqual(
      tasks.map((t) => [t.name, t.prio, t.tid]),
      [
        ['7', 7, 0],
        ['7', 7, 1],
        ['-1', -1, 2],
      ],
    );
  });

  test('keyed by index, and the deprecated taskstatUseName: false still means index', async () => {
    const a = await withSim({ threads: THREADS, taskstatName: 'index' }, (c) => c.os.taskStats());
    const b = await withSim({ threads: THREADS, taskstatUseName: false }, (c) => c.os.taskStats());
    assert.deepEqual(a.map((t) => t.name), ['0', '1', '2']);
    assert.deepEqual(b.map((t) => t.name), ['0', '1', '2']);
  });

  test('unsigned priorities: the sign-extended 32-bit value on the wire, -1 for the caller', async () => {
    const core = createZephyrDevice({ threads: THREADS, taskstatSignedPriority: false });
    // What the device sends: (unsigned int)(int8_t)-1, not -1 & 0xff.
    const step = core.handle(buildPacket({ op: 0, version: 1, flags: 0, group: 0, seq: 1, id: 2 }, Buffer.from([0xa0])), 'memory');
    const wire = cborMapEntries(step.responses[0]!.subarray(SMP_HEADER_SIZE), ['tasks'])!;
    assert.equal((wire[2]![1] as { prio: number }).prio, 0xffffffff);
    const sim = await startSimulator({ transport: 'memory', core });
    const client = MCUmgrClient.fromTransport(sim.transport!, { timeoutMs: 3000, closeTransport: false });
    try {
      assert.deepEqual((await client.os.taskStats()).map((x) => x.prio), [7, 7, -1]);
    } finally {
      await client.close();
      await sim.close();
    }
  });

  test('a hand-built answer with a repeated key (indefinite maps, as zcbor writes them)', async () => {
    // {_ "tasks": {_ "a": {"prio": 1, "tid": 0, "state": 0}, "a": {"prio": 2, "tid": 1, "state": 0} } }
    const entry = (prio: number, tid: number): number[] => [0xa3, 0x64, ...Buffer.from('prio'), prio, 0x63, ...Buffer.from('tid'), tid, 0x65, ...Buffer.from('state'), 0];
    const payload = Buffer.from([0xbf, 0x65, ...Buffer.from('tasks'), 0xbf, 0x61, 0x61, ...entry(1, 0), 0x61, 0x61, ...entry(2, 1), 0xff, 0xff]);
    const client = MCUmgrClient.fromTransport(new FixedAnswer(payload), { timeoutMs: 2000 });
    try {
      assert.deepEqual(await client.os.taskStats(), [
        { name: 'a', prio: 1, tid: 0, state: 0 },
        { name: 'a', prio: 2, tid: 1, state: 0 },
      ]);
    } finally {
      await client.close();
    }
  });
});

describe('os mpstat: pools that share a name are kept', () => {
  test('two heaps named alike', async () => {
    const memPools = [
      { name: 'heap', blksiz: 8, nblks: 10, nfree: 5, min: 1 },
      { name: 'heap', blksiz: 16, nblks: 20, nfree: 6, min: 2 },
    ];
    const pools = await withSim({ memPools }, (c) => c.os.memoryPoolStats());
    assert.deepEqual(pools, [
      { name: 'heap', blockSize: 8, blocks: 10, free: 5, minFree: 1 },
      { name: 'heap', blockSize: 16, blocks: 20, free: 6, minFree: 2 },
    ]);
  });
});

describe('cborMapEntries', () => {
  test('definite and indefinite maps, nested paths, arrays, tags, floats', () => {
    // {"x": {_ "k": 1, "k": h'0102', "s": [_ "abc"], "t": 1(5), "f": 1.5}}
    const inner = [0xbf, 0x61, 0x6b, 0x01, 0x61, 0x6b, 0x42, 1, 2, 0x61, 0x73, 0x9f, 0x63, 0x61, 0x62, 0x63, 0xff, 0x61, 0x74, 0xc1, 0x05, 0x61, 0x66, 0xf9, 0x3e, 0x00, 0xff];
    const bytes = Buffer.from([0xa1, 0x61, 0x78, ...inner]);
    const e = cborMapEntries(bytes, ['x'])!;
    assert.deepEqual(e.map(([k]) => k), ['k', 'k', 's', 't', 'f']);
    assert.equal(e[0]![1], 1);
    assert.deepEqual(e[1]![1], Buffer.from([1, 2]));
    assert.deepEqual(e[2]![1], ['abc']);
    // An indefinite string (cbor-x cannot decode one) off the path is stepped over, not decoded.
    const chunked = Buffer.from([0xa2, 0x61, 0x73, 0x7f, 0x61, 0x61, 0x61, 0x62, 0xff, 0x61, 0x78, 0xa1, 0x61, 0x6b, 0x01]);
    assert.deepEqual(cborMapEntries(chunked, ['x']), [['k', 1]]);
    assert.equal(e[4]![1], 1.5);
    assert.equal(cborMapEntries(bytes, ['nope']), undefined);
    assert.equal(cborMapEntries(Buffer.from([0x01])), undefined);
  });

  test('truncated or malformed bytes are a frame error', () => {
    assert.throws(() => cborMapEntries(Buffer.from([0xa2, 0x61, 0x61, 0x01])), SmpFrameError);
    assert.throws(() => cborMapEntries(Buffer.from([0xbf, 0x61, 0x61, 0x5a, 0, 0, 0, 9, 1])), SmpFrameError);
    assert.throws(() => cborMapEntries(Buffer.from([0xa1, 0x61, 0x61, 0x1c])), SmpFrameError);
  });
});

describe('os date-time as Zephyr prints and parses it', () => {
  const at = new Date(Date.UTC(2025, 5, 1, 12, 30, 15, 5));

  test('a Date with milliseconds round-trips through a device with DATETIME_MS (".5" is 5 ms)', async () => {
    await withSim({ datetimeMs: true, rtcTime: 0 }, async (c) => {
      await c.os.setDateTime(at);
      const r = await c.os.dateTime();
      // Zephyr prints the milliseconds with a plain %d.
      assert.match(r.text, /^2025-06-01T12:30:1\d\.\d{1,3}$/);
      assert.ok(r.date.getTime() - at.getTime() >= 0 && r.date.getTime() - at.getTime() < 2000, `${r.date.toISOString()}`);
    });
  });

  test('three digits go out for milliseconds; none when there are none; no zone', () => {
    assert.equal(formatDateTime(at), '2025-06-01T12:30:15.005');
    assert.equal(formatDateTime(new Date(Date.UTC(2025, 5, 1, 12, 30, 15, 500))), '2025-06-01T12:30:15.500');
    assert.equal(formatDateTime(new Date(Date.UTC(2025, 5, 1))), '2025-06-01T00:00:00');
  });

  test('what the device holds after a set is exactly the Date sent (to the millisecond)', async () => {
    const sim = await startSimulator({ transport: 'memory', core: createZephyrDevice({ datetimeMs: true }) });
    const client = MCUmgrClient.fromTransport(sim.transport!, { timeoutMs: 3000, closeTransport: false });
    try {
      for (const ms of [0, 5, 50, 500, 999]) {
        const d = new Date(Date.UTC(2030, 0, 2, 3, 4, 5, ms));
        await client.os.setDateTime(d);
        const held = (sim.device as unknown as { rtcNow(): number | undefined }).rtcNow()!;
        // The device's clock runs on from the value set: never behind it, and by well under 1 s.
        assert.ok(held - d.getTime() >= 0 && held - d.getTime() < 500, `ms ${ms}: device holds ${new Date(held).toISOString()}`);
      }
    } finally {
      await client.close();
      await sim.close();
    }
  });

  test('a string fraction must be three digits: ".5" would be 5 ms on the device, a µs fraction is refused (rc 3)', async () => {
    await withSim({ datetimeMs: true }, async (c) => {
      await assert.rejects(c.os.setDateTime('2025-01-01T00:00:00.5'), (e: unknown) => e instanceof RangeError && /three digits/.test(e.message));
      await assert.rejects(c.os.setDateTime('2025-01-01T00:00:00.123456'), (e: unknown) => e instanceof RangeError && /three digits/.test(e.message));
      await c.os.setDateTime('2025-01-01T00:00:00.500Z');
      assert.match((await c.os.dateTime()).text, /^2025-01-01T00:00:00\.5\d\d$/);
    });
  });

  test('years: 1900..11899 as Zephyr accepts; a five-digit year from a Date is sent, not misread', async () => {
    await withSim({ datetimeMs: true }, async (c) => {
      await assert.rejects(c.os.setDateTime(new Date(Date.UTC(1899, 11, 31))), /1900\.\.11899/);
      await assert.rejects(c.os.setDateTime(new Date(Date.UTC(11900, 0, 1))), /1900\.\.11899/);
      const d = new Date(0);
      d.setUTCFullYear(10000, 0, 1);
      await c.os.setDateTime(d);
      assert.match((await c.os.dateTime()).text, /^10000-01-01T00:00:0\d/);
    });
  });

  test('a device that sends a zone suffix (not Zephyr, which never does) is read with it', async () => {
    for (const [text, iso] of [
      ['2025-03-04T05:06:07.123456+02:00', '2025-03-04T03:06:07.123Z'],
      ['2025-03-04T05:06:07Z', '2025-03-04T05:06:07.000Z'],
      ['2025-03-04T05:06:07.5', '2025-03-04T05:06:07.005Z'],
    ] as const) {
      const client = MCUmgrClient.fromTransport(new FixedAnswer({ datetime: text }), { timeoutMs: 2000 });
      try {
        const r = await client.os.dateTime();
        assert.equal(r.text, text);
        assert.equal(r.date.toISOString(), iso);
      } finally {
        await client.close();
      }
    }
  });

  test('CLI: "now" keeps milliseconds; a plain time needs a three-digit fraction', () => {
    const before = Date.now();
    const now = parseDateTimeArg('now') as Date;
    assert.ok(now instanceof Date && now.getTime() >= before);
    assert.equal(parseDateTimeArg('2024-01-02T03:04:05.007'), '2024-01-02T03:04:05.007');
    assert.throws(() => parseDateTimeArg('2024-01-02T03:04:05.5'), /three digits/);
    assert.equal((parseDateTimeArg('2024-01-02T03:04:05.5Z') as Date).toISOString(), '2024-01-02T03:04:05.500Z');
  });
});
