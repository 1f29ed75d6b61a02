/**
 * Group fidelity to Zephyr's servers (fs_mgmt.c, shell_mgmt.c, settings_mgmt.c, stat_mgmt.c,
 * enum_mgmt.c, basic_mgmt.c): the exact CBOR of every request, with each value's major type as
 * zcbor checks it (a `val` byte string is not a text string, `off`/`len`/`index` are unsigned
 * integers), optional fields left out, and how answers and errors come back, including the
 * quirks: stat errors tagged with group 63, and SMP v1 group errors that translate to
 * `MGMT_ERR_EOK` so Zephyr sends a header without a payload.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MCUmgrClient } from '../src/client.js';
import { startSimulator } from '../src/sim/simulator.js';
import { createZephyrDevice, type ZephyrDeviceOptions } from '../src/sim/device/zephyr.js';
import { readItem, type CItem } from '../src/sim/device/cbor-reader.js';
import { decodeHeader, buildPacket, Op, SMP_HEADER_SIZE } from '../src/codec/header.js';
import { TransportEmitter } from '../src/transport/emitter.js';
import type { Transport, TransportEvents } from '../src/transport/transport.js';
import { SmpDeviceError, SmpResponseError } from '../src/errors.js';
import { FixedAnswer } from './fixed-answer.js';

/** One request as it left the client: header fields and the body in CBOR diagnostic notation. */
interface Sent {
  op: number;
  version: number;
  group: number;
  id: number;
  cbor: string;
}

/** CBOR diagnostic notation of an item, keeping the major types (`h'..'` = byte string). */
function diag(i: CItem): string {
  switch (i.t) {
    case 'uint':
      return String(i.v);
    case 'nint':
      return String(-1n - i.v);
    case 'bstr':
      return `h'${i.v.toString('hex')}'`;
    case 'tstr':
      return JSON.stringify(i.v.toString('utf8'));
    case 'array':
      return `[${i.items.map(diag).join(', ')}]`;
    case 'map':
      return `{${i.entries.map(([k, v]) => `${diag(k)}: ${diag(v)}`).join(', ')}}`;
    case 'simple':
      return i.v === 20 ? 'false' : i.v === 21 ? 'true' : `simple(${i.v})`;
    case 'float':
      return `float(${i.v})`;
    case 'tag':
      return `${i.tag}(${diag(i.item)})`;
  }
}

/** Passes packets through to the simulator and keeps what the client sent. */
class Recorder implements Transport {
  readonly sent: Sent[] = [];
  constructor(readonly inner: Transport) {}
  get kind(): string {
    return this.inner.kind;
  }
  get maxPacket(): number | undefined {
    return this.inner.maxPacket;
  }
  get closed(): boolean {
    return this.inner.closed;
  }
  on<E extends keyof TransportEvents>(e: E, l: TransportEvents[E]): () => void {
    return this.inner.on(e, l);
  }
  async send(p: Buffer): Promise<void> {
    const h = decodeHeader(p);
    const body = readItem(p.subarray(SMP_HEADER_SIZE));
    assert.ok(body, 'the request payload is one well-formed CBOR item');
    this.sent.push({ op: h.op, version: h.version, group: h.group, id: h.id, cbor: diag(body.item) });
    return this.inner.send(p);
  }
  async close(): Promise<void> {
    return this.inner.close();
  }
}

async function withSim<T>(
  device: ZephyrDeviceOptions,
  fn: (c: MCUmgrClient, rec: Recorder, dev: ReturnType<typeof createZephyrDevice>) => Promise<T>,
  version: 0 | 1 = 1,
): Promise<T> {
  const core = createZephyrDevice(device);
  const sim = await startSimulator({ transport: 'memory', core });
  const rec = new Recorder(sim.transport!);
  const client = MCUmgrClient.fromTransport(rec, { timeoutMs: 3000, closeTransport: false, version });
  try {
    return await fn(client, rec, core);
  } finally {
    await client.close();
    await sim.close();
  }
}


const R = Op.READ;
const W = Op.WRITE;

describe('requests, byte for byte as Zephyr decodes them', () => {
  test('fs: status, hash (optional fields only when given), supported hashes, close, first upload/download chunk', async () => {
    await withSim({ files: { '/lfs/a.txt': '123456789' } }, async (c, rec) => {
      assert.deepEqual(await c.fs.status('/lfs/a.txt'), { size: 9 });
      assert.deepEqual(await c.fs.hash('/lfs/a.txt'), { type: 'crc32', off: 0, len: 9, output: 0xcbf43926 });
      const part = await c.fs.hash('/lfs/a.txt', { type: 'sha256', off: 1, len: 3 });
      assert.equal(part.off, 1);
      assert.equal(part.len, 3);
      assert.ok(Buffer.isBuffer(part.output) && part.output.length === 32);
      assert.deepEqual(await c.fs.supportedHashes(), [
        { name: 'crc32', format: 'number', size: 4 },
        { name: 'sha256', format: 'bytes', size: 32 },
      ]);
      await c.fs.close();
      await c.fs.upload('/lfs/b.bin', Buffer.from([1, 2, 3]));
      assert.deepEqual((await c.fs.download('/lfs/b.bin')).data, Buffer.from([1, 2, 3]));
      const fs = rec.sent.filter((s) => s.group === 8);
      assert.deepEqual(fs.slice(0, 5), [
        { op: R, version: 1, group: 8, id: 1, cbor: '{"name": "/lfs/a.txt"}' },
        { op: R, version: 1, group: 8, id: 2, cbor: '{"name": "/lfs/a.txt"}' },
        { op: R, version: 1, group: 8, id: 2, cbor: '{"name": "/lfs/a.txt", "type": "sha256", "off": 1, "len": 3}' },
        { op: R, version: 1, group: 8, id: 3, cbor: '{}' },
        { op: W, version: 1, group: 8, id: 4, cbor: '{}' },
      ]);
      // fs_mgmt_file_upload: `off` and `name` always, `len` (uint) on the first chunk, `data` a byte string.
      const up = fs.find((s) => s.op === W && s.id === 0)!;
      assert.equal(up.cbor, `{"name": "/lfs/b.bin", "off": 0, "len": 3, "data": h'010203'}`);
      // fs_mgmt_file_download: `off` (uint) and `name`.
      const down = fs.find((s) => s.op === R && s.id === 0)!;
      assert.equal(down.cbor, '{"name": "/lfs/b.bin", "off": 0}');
    });
  });

  test('shell: argv is an array of text strings; WRITE 9/0', async () => {
    await withSim({}, async (c, rec) => {
      assert.deepEqual(await c.shell.exec(['echo', 'hi', 'there']), { output: 'hi there\r\n', ret: 0 });
      assert.deepEqual(rec.sent, [{ op: W, version: 1, group: 9, id: 0, cbor: '{"argv": ["echo", "hi", "there"]}' }]);
    });
  });

  test('settings: val is a byte string (also for a string value), max_size a uint, load READ / save WRITE on id 3', async () => {
    await withSim({ settingsRoots: ['app'] }, async (c, rec) => {
      await c.settings.write('app/name', 'dev1');
      await c.settings.write('app/bin', new Uint8Array([0, 1, 0xff]));
      assert.deepEqual(await c.settings.read('app/name'), Buffer.from('dev1'));
      assert.deepEqual(await c.settings.read('app/bin', 2), Buffer.from([0, 1]));
      await c.settings.delete('app/bin');
      await c.settings.commit();
      await c.settings.save();
      await c.settings.load();
      assert.deepEqual(rec.sent, [
        { op: W, version: 1, group: 3, id: 0, cbor: `{"name": "app/name", "val": h'64657631'}` },
        { op: W, version: 1, group: 3, id: 0, cbor: `{"name": "app/bin", "val": h'0001ff'}` },
        { op: R, version: 1, group: 3, id: 0, cbor: '{"name": "app/name"}' },
        { op: R, version: 1, group: 3, id: 0, cbor: '{"name": "app/bin", "max_size": 2}' },
        { op: W, version: 1, group: 3, id: 1, cbor: '{"name": "app/bin"}' },
        { op: W, version: 1, group: 3, id: 2, cbor: '{}' },
        { op: W, version: 1, group: 3, id: 3, cbor: '{}' },
        { op: R, version: 1, group: 3, id: 3, cbor: '{}' },
      ]);
    });
  });

  test('settings read: asking for more than VALUE_LEN returns at most VALUE_LEN bytes', async () => {
    await withSim({ settingsRoots: ['app'], settingsValueLen: 4, settings: { 'app/long': 'abcdefgh' } }, async (c) => {
      assert.deepEqual(await c.settings.read('app/long', 100), Buffer.from('abcd'));
    });
  });

  test('stat and enum: READs with `name` / `index` / `groups` typed as zcbor expects', async () => {
    await withSim({ stats: { net: { rx: 5, tx: 7 } } }, async (c, rec) => {
      assert.deepEqual(await c.stat.list(), ['net']);
      assert.deepEqual(await c.stat.read('net'), { name: 'net', fields: { rx: 5, tx: 7 } });
      const n = await c.enum.count();
      const ids = await c.enum.list();
      assert.equal(ids.length, n);
      assert.deepEqual(await c.enum.single(n - 1), { group: ids[n - 1], end: true });
      assert.deepEqual(await c.enum.single(0), { group: ids[0], end: false });
      assert.deepEqual(
        (await c.enum.details([8, 9])).map((d) => d.group),
        ids.filter((g) => g === 8 || g === 9),
      );
      await c.enum.details();
      assert.deepEqual(rec.sent, [
        { op: R, version: 1, group: 2, id: 1, cbor: '{}' },
        { op: R, version: 1, group: 2, id: 0, cbor: '{"name": "net"}' },
        { op: R, version: 1, group: 10, id: 0, cbor: '{}' },
        { op: R, version: 1, group: 10, id: 1, cbor: '{}' },
        { op: R, version: 1, group: 10, id: 2, cbor: `{"index": ${n - 1}}` },
        { op: R, version: 1, group: 10, id: 2, cbor: '{"index": 0}' },
        { op: R, version: 1, group: 10, id: 3, cbor: '{"groups": [8, 9]}' },
        { op: R, version: 1, group: 10, id: 3, cbor: '{}' },
      ]);
    });
  });

  test('zephyr basic: storage erase is WRITE 63/0 with an empty map', async () => {
    await withSim({}, async (c, rec, dev) => {
      dev.flash.storage.fill(0);
      await c.basic.eraseStorage();
      assert.ok(dev.flash.storage.every((b) => b === 0xff));
      assert.deepEqual(rec.sent, [{ op: W, version: 1, group: 63, id: 0, cbor: '{}' }]);
    });
  });
});

describe('fs hash type length (HASH_CHECKSUM_TYPE_SIZE)', () => {
  test('a type of more than 8 bytes is refused before sending; Zephyr would answer rc 3, not "hash not found"', async () => {
    await withSim({ files: { '/lfs/a': 'x' } }, async (c, rec) => {
      await assert.rejects(c.fs.hash('/lfs/a', { type: 'sha256sum' }), (e: unknown) => e instanceof RangeError && /options\.type/.test(e.message) && /8/.test(e.message));
      assert.equal(rec.sent.length, 0);
      // Exactly 8 bytes still goes to the device, which names the unknown type.
      await assert.rejects(c.fs.hash('/lfs/a', { type: 'sha25612' }), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'FS_MGMT_ERR_CHECKSUM_HASH_NOT_FOUND');
    });
  });
});

describe('stat errors tagged with group 63', () => {
  test('SMP v2: an unknown group is named STAT_MGMT_ERR_INVALID_STAT_NAME, with the wire group kept in errGroup', async () => {
    await withSim({ stats: { net: { rx: 1 } } }, async (c) => {
      const e = await c.stat.read('nope').catch((x: unknown) => x);
      assert.ok(e instanceof SmpDeviceError);
      assert.equal(e.style, 'err');
      assert.equal(e.group, 2);
      assert.equal(e.command, 0);
      assert.equal(e.errGroup, 63);
      assert.equal(e.rc, 3);
      assert.equal(e.rcName, 'STAT_MGMT_ERR_INVALID_STAT_NAME');
      assert.match(e.message, /nope/);
    });
  });

  test('SMP v2: Zephyr with the fix (group 2) gives the same name', async () => {
    const client = MCUmgrClient.fromTransport(new FixedAnswer({ err: { group: 2, rc: 3 } }), { timeoutMs: 1000 });
    try {
      const e = await client.stat.read('nope').catch((x: unknown) => x);
      assert.ok(e instanceof SmpDeviceError);
      assert.equal(e.errGroup, 2);
      assert.equal(e.rcName, 'STAT_MGMT_ERR_INVALID_STAT_NAME');
    } finally {
      await client.close();
    }
  });

  test('SMP v1: the group error translates to EOK and Zephyr sends no payload; reported as such, not as a missing field', async () => {
    await withSim(
      { stats: { net: { rx: 1 } } },
      async (c) => {
        assert.deepEqual(await c.stat.read('net'), { name: 'net', fields: { rx: 1 } });
        await assert.rejects(c.stat.read('nope'), (e: unknown) => e instanceof SmpResponseError && /empty payload/.test(e.message) && /"nope"/.test(e.message));
      },
      0,
    );
  });
});

describe('zephyr basic storage erase failures', () => {
  test('SMP v2: err {63, 4} is a device error', async () => {
    await withSim({ storageFault: 'erase' }, async (c) => {
      await assert.rejects(c.basic.eraseStorage(), (e: unknown) => e instanceof SmpDeviceError && e.style === 'err' && e.rcName === 'ZEPHYRBASIC_MGMT_ERR_FLASH_ERASE_FAILED');
    });
  });

  test('SMP v1: erase and config failures translate to EOK (a header alone) and are errors, not success', async () => {
    for (const storageFault of ['erase', 'config'] as const) {
      await withSim(
        { storageFault },
        async (c, rec) => {
          await assert.rejects(c.basic.eraseStorage(), (e: unknown) => e instanceof SmpResponseError && /empty payload/.test(e.message));
          assert.deepEqual(rec.sent, [{ op: W, version: 0, group: 63, id: 0, cbor: '{}' }]);
        },
        0,
      );
    }
  });

  test('SMP v1: open failure is rc 5 (ENOENT); a working erase still succeeds', async () => {
    await withSim(
      { storageFault: 'open' },
      async (c) => {
        await assert.rejects(c.basic.eraseStorage(), (e: unknown) => e instanceof SmpDeviceError && e.style === 'rc' && e.rcName === 'MGMT_ERR_ENOENT');
      },
      0,
    );
    await withSim({}, (c) => c.basic.eraseStorage(), 0);
  });
});

describe('shell return value and errors', () => {
  test('LEGACY_RC_RETURN_CODE: the command result comes as `rc` and is not an SMP error', async () => {
    await withSim({ shellLegacyRc: true }, async (c) => {
      assert.deepEqual(await c.shell.exec(['bogus']), { output: 'bogus: command not found\r\n', ret: -8 });
    });
  });

  test('a line of CONFIG_SHELL_CMD_BUFF_SIZE bytes: err {9, 2} with SMP v2, rc 3 with SMP v1', async () => {
    const long = ['echo', 'x'.repeat(40)];
    await withSim({ shellCmdBuffSize: 32 }, async (c) => {
      await assert.rejects(c.shell.exec(long), (e: unknown) => e instanceof SmpDeviceError && e.style === 'err' && e.rcName === 'SHELL_MGMT_ERR_COMMAND_TOO_LONG');
    });
    await withSim(
      { shellCmdBuffSize: 32 },
      async (c) => {
        await assert.rejects(c.shell.exec(long), (e: unknown) => e instanceof SmpDeviceError && e.style === 'rc' && e.rcName === 'MGMT_ERR_EINVAL');
      },
      0,
    );
  });
});
