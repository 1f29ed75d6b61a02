/**
 * Every group command of MCUmgrClient against a small scripted device: the request it sends,
 * the typed result, device errors, missing fields, and argument errors with nothing sent.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MCUmgrClient } from '../src/client.js';
import { decodeHeader, buildPacket, Op, SMP_HEADER_SIZE } from '../src/codec/header.js';
import { decodeCborMap, encodeCbor, type CborMap } from '../src/codec/cbor.js';
import { TransportEmitter } from '../src/transport/emitter.js';
import type { Transport, TransportEvents } from '../src/transport/transport.js';
import { SmpDeviceError, SmpResponseError, SmpTimeoutError } from '../src/errors.js';

interface Req {
  op: number;
  version: number;
  group: number;
  id: number;
  seq: number;
  body: CborMap;
}
/** What the script answers: a map, raw payload bytes, or nothing (no answer). */
type Answer = CborMap | Buffer | undefined;

/** A transport whose far end is a function of the request. */
class ScriptedDevice implements Transport {
  readonly kind = 'memory';
  readonly maxPacket: number | undefined = undefined;
  closed = false;
  readonly sent: Req[] = [];
  readonly #em = new TransportEmitter();
  constructor(public script: (r: Req) => Answer) {}
  on<E extends keyof TransportEvents>(e: E, l: TransportEvents[E]): () => void {
    return this.#em.on(e, l);
  }
  async send(p: Buffer): Promise<void> {
    const h = decodeHeader(p);
    const req: Req = { op: h.op, version: h.version, group: h.group, id: h.id, seq: h.seq, body: decodeCborMap(p.subarray(SMP_HEADER_SIZE)) };
    this.sent.push(req);
    const a = this.script(req);
    if (a === undefined) return;
    const payload = Buffer.isBuffer(a) ? a : encodeCbor(a);
    setImmediate(() => this.#em.emit('packet', buildPacket({ op: h.op + 1, version: Math.min(h.version, 1), flags: 0, group: h.group, seq: h.seq, id: h.id }, payload)));
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.#em.emit('close');
  }
}

/** A client on a scripted device keyed by "group/id/op". */
function setup(table: Record<string, Answer | ((r: Req) => Answer)>, opts: ConstructorParameters<typeof MCUmgrClient>[1] = {}) {
  const dev = new ScriptedDevice((r) => {
    const k = `${r.group}/${r.id}/${r.op === Op.READ ? 'r' : 'w'}`;
    const v = table[k];
    if (v === undefined) return { rc: 8 };
    return typeof v === 'function' ? v(r) : v;
  });
  const client = MCUmgrClient.fromTransport(dev, { timeoutMs: 500, ...opts });
  return { dev, client };
}

const HASH = Buffer.alloc(32, 0xab);

describe('os group', () => {
  test('echo sends d and returns r (also from an indefinite-length map)', async () => {
    const { dev, client } = setup({ '0/0/r': Buffer.from('bf6172626869ff', 'hex') });
    assert.equal(await client.os.echo('hi'), 'hi');
    assert.deepEqual(dev.sent[0], { op: Op.READ, version: 1, group: 0, id: 0, seq: dev.sent[0]!.seq, body: { d: 'hi' } });
  });

  test('consoleEcho: Zephyr answers ENOTSUP (rc style)', async () => {
    const { dev, client } = setup({});
    const e = await client.os.consoleEcho(true).catch((x: unknown) => x);
    assert.ok(e instanceof SmpDeviceError);
    assert.equal(e.rcName, 'MGMT_ERR_ENOTSUP');
    assert.equal(e.style, 'rc');
    assert.equal(e.rc, 8);
    assert.deepEqual(dev.sent[0]!.body, { echo: 1 });
    assert.equal(dev.sent[0]!.op, Op.WRITE);
  });

  test('taskStats: typed, camelCase, optional fields', async () => {
    const { client } = setup({
      '0/2/r': {
        tasks: {
          main: { prio: -1, tid: 0, state: 0, stksiz: 256, stkuse: 64 },
          idle: { prio: 15, tid: 1, state: 1, runtime: 5, cswcnt: 0, last_checkin: 0, next_checkin: 0 },
        },
      },
    });
    const t = await client.os.taskStats();
    assert.deepEqual(t, [
      { name: 'main', prio: -1, tid: 0, state: 0, stackSize: 256, stackUse: 64 },
      { name: 'idle', prio: 15, tid: 1, state: 1, runtime: 5, contextSwitches: 0, lastCheckin: 0, nextCheckin: 0 },
    ]);
  });

  test('memoryPoolStats: both the mpools and the flat layout', async () => {
    const { client } = setup({ '0/3/r': { mpools: { heap: { blksiz: 8, nblks: 100, nfree: 40, min: 10 } } } });
    assert.deepEqual(await client.os.memoryPoolStats(), [{ name: 'heap', blockSize: 8, blocks: 100, free: 40, minFree: 10 }]);
    const { client: c2 } = setup({ '0/3/r': { sys: { nblks: 10, nfree: 2, min: 1 } } });
    assert.deepEqual(await c2.os.memoryPoolStats(), [{ name: 'sys', blocks: 10, free: 2, minFree: 1 }]);
  });

  test('dateTime parses the device text (plain-decimal ms) as UTC', async () => {
    const { client } = setup({ '0/4/r': { datetime: '2025-03-04T05:06:07.5' } });
    const d = await client.os.dateTime();
    assert.equal(d.text, '2025-03-04T05:06:07.5');
    assert.equal(d.date.toISOString(), '2025-03-04T05:06:07.005Z');
  });

  test('dateTime: RTC not set is an os group error', async () => {
    const { client } = setup({ '0/4/r': { err: { group: 0, rc: 4 } } });
    await assert.rejects(client.os.dateTime(), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'OS_MGMT_ERR_RTC_NOT_SET' && e.style === 'err');
  });

  test('setDateTime formats a Date in UTC, passes a valid string, rejects bad ones', async () => {
    const { dev, client } = setup({ '0/4/w': {} });
    await client.os.setDateTime(new Date(Date.UTC(2024, 0, 2, 3, 4, 5)));
    await client.os.setDateTime(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 7)));
    await client.os.setDateTime('2030-12-31T23:59:59');
    assert.deepEqual(
      dev.sent.map((r) => r.body.datetime),
      ['2024-01-02T03:04:05', '2024-01-02T03:04:05.007', '2030-12-31T23:59:59'],
    );
    await assert.rejects(client.os.setDateTime('2030-12-31 23:59'), RangeError);
    await assert.rejects(client.os.setDateTime('2030-12-31T23:59:59+01:00'), RangeError);
    await assert.rejects(client.os.setDateTime(new Date(NaN)), RangeError);
    await assert.rejects(client.os.setDateTime(12345 as unknown as Date), TypeError);
    assert.equal(dev.sent.length, 3);
  });

  test('reset sends force and boot_mode only when given, as WRITE', async () => {
    const { dev, client } = setup({ '0/5/w': {} });
    await client.os.reset();
    await client.os.reset({ force: true, bootMode: 1 });
    assert.deepEqual(dev.sent.map((r) => r.body), [{}, { force: true, boot_mode: 1 }]);
    assert.ok(dev.sent.every((r) => r.op === Op.WRITE));
  });

  test('reset refused by a hook: EBUSY', async () => {
    const { client } = setup({ '0/5/w': { rc: 10 } });
    await assert.rejects(client.os.reset(), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'MGMT_ERR_EBUSY');
  });

  test('mcumgrParams is typed and remembered for the transfer window', async () => {
    const { client } = setup({ '0/6/r': { buf_size: 2048, buf_count: 4 } });
    assert.equal(client.deviceParams, undefined);
    assert.deepEqual(await client.os.mcumgrParams(), { bufSize: 2048, bufCount: 4 });
    assert.deepEqual(client.deviceParams, { bufSize: 2048, bufCount: 4 });
    assert.equal(client.transferContext().bufCount, 4);
  });

  test('appInfo sends format when given; invalid format is a group error', async () => {
    const { dev, client } = setup({
      '0/7/r': (r) => (r.body.format === 'x' ? { err: { group: 0, rc: 2 } } : { output: r.body.format === 'sv' ? 'Zephyr 4.2.0' : 'Zephyr' }),
    });
    assert.equal(await client.os.appInfo(), 'Zephyr');
    assert.equal(await client.os.appInfo('sv'), 'Zephyr 4.2.0');
    assert.deepEqual(dev.sent.map((r) => r.body), [{}, { format: 'sv' }]);
    await assert.rejects(client.os.appInfo('x'), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'OS_MGMT_ERR_INVALID_FORMAT');
    await assert.rejects(client.os.appInfo('s v'), RangeError);
  });

  test('bootloaderInfo: name, mode, other queries', async () => {
    const { client } = setup({
      '0/8/r': (r) =>
        r.body.query === undefined
          ? { bootloader: 'MCUboot' }
          : r.body.query === 'mode'
            ? { mode: 3, 'no-downgrade': true }
            : r.body.query === 'active_b0_slot'
              ? { active: 1 }
              : { rc: 3 },
    });
    assert.deepEqual(await client.os.bootloaderInfo(), { bootloader: 'MCUboot' });
    assert.deepEqual(await client.os.bootloaderInfo('mode'), { mode: 3, modeName: 'swap-using-move', noDowngrade: true });
    assert.deepEqual(await client.os.bootloaderInfo('active_b0_slot'), { active: 1 });
    await assert.rejects(client.os.bootloaderInfo('nope'), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'MGMT_ERR_EINVAL');
  });
});

describe('image group', () => {
  const list = {
    images: [
      { slot: 0, version: '1.2.3', hash: HASH, bootable: true, confirmed: true, active: true },
      { image: 0, slot: 1, version: '1.2.4.7', hash: Buffer.alloc(32, 1), bootable: true, pending: true, confirmed: false, active: false, permanent: false },
    ],
    splitStatus: 0,
  };

  test('state: typed list, frugal-list defaults, Buffers for hashes', async () => {
    const { client } = setup({ '1/0/r': list });
    const s = await client.image.state();
    assert.equal(s.length, 2);
    assert.deepEqual(s[0], { image: 0, slot: 0, version: '1.2.3', hash: HASH, bootable: true, pending: false, confirmed: true, active: true, permanent: false });
    assert.ok(Buffer.isBuffer(s[1]!.hash));
    assert.equal(s[1]!.pending, true);
    assert.equal(s[1]!.version, '1.2.4.7');
  });

  test('state: a missing version is a response error naming the field', async () => {
    const { client } = setup({ '1/0/r': { images: [{ slot: 0, hash: HASH }] } });
    await assert.rejects(client.image.state(), (e: unknown) => e instanceof SmpResponseError && /"version"/.test(e.message));
    const { client: c2 } = setup({ '1/0/r': {} });
    await assert.rejects(c2.image.state(), (e: unknown) => e instanceof SmpResponseError && /"images"/.test(e.message));
  });

  test('test(hash) and confirm(hash?) send the right bodies and return the list', async () => {
    const { dev, client } = setup({ '1/0/w': list });
    const r = await client.image.test(HASH);
    assert.equal(r.length, 2);
    await client.image.confirm();
    await client.image.confirm(HASH.toString('hex'));
    assert.deepEqual(dev.sent.map((x) => x.body), [{ hash: HASH, confirm: false }, { confirm: true }, { hash: HASH, confirm: true }]);
    assert.ok(dev.sent.every((x) => x.op === Op.WRITE));
  });

  test('test with an unknown hash: IMG_MGMT_ERR_HASH_NOT_FOUND (v2) / ENOENT-style rc (v1)', async () => {
    const { client } = setup({ '1/0/w': { err: { group: 1, rc: 8 } } });
    await assert.rejects(client.image.test(HASH), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'IMG_MGMT_ERR_HASH_NOT_FOUND' && e.style === 'err' && e.errGroup === 1);
    const { dev, client: v1 } = setup({ '1/0/w': { rc: 1 } }, { version: 0 });
    await assert.rejects(v1.image.test(HASH), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'MGMT_ERR_EUNKNOWN' && e.style === 'rc');
    assert.equal(dev.sent[0]!.version, 0);
  });

  test('erase: slot optional; in use → IMG_MGMT_ERR_NO_FREE_SLOT (v2) / MGMT_ERR_EBADSTATE (v1)', async () => {
    const { dev, client } = setup({ '1/5/w': (r) => (r.body.slot === 0 ? { err: { group: 1, rc: 9 } } : {}) });
    await client.image.erase();
    await client.image.erase(1);
    assert.deepEqual(dev.sent.map((x) => x.body), [{}, { slot: 1 }]);
    await assert.rejects(client.image.erase(0), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'IMG_MGMT_ERR_NO_FREE_SLOT');
    const { client: v1 } = setup({ '1/5/w': { rc: 6 } }, { version: 0 });
    await assert.rejects(v1.image.erase(0), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'MGMT_ERR_EBADSTATE' && e.style === 'rc');
  });

  test('erase uses the long timeout class', async () => {
    const { client } = setup({ '1/5/w': () => undefined }, { timeoutMs: 20, longTimeoutMs: 120 });
    const t0 = Date.now();
    const e = await client.image.erase().catch((x: unknown) => x);
    assert.ok(e instanceof SmpTimeoutError);
    assert.equal(e.timeoutMs, 120);
    assert.ok(Date.now() - t0 >= 100);
  });

  test('slotInfo: typed with optional fields', async () => {
    const { client } = setup({
      '1/6/r': {
        images: [
          { image: 0, slots: [{ slot: 0, size: 0x40000 }, { slot: 1, size: 0x40000, upload_image_id: 0 }], max_image_size: 0x3f000 },
          { image: 1, slots: [{ slot: 0, rc: -2 }] },
        ],
      },
    });
    assert.deepEqual(await client.image.slotInfo(), [
      { image: 0, slots: [{ slot: 0, size: 0x40000 }, { slot: 1, size: 0x40000, uploadImageId: 0 }], maxImageSize: 0x3f000 },
      { image: 1, slots: [{ slot: 0, rc: -2 }] },
    ]);
  });
});

describe('stat group', () => {
  test('list (with the rc 0 Zephyr always sends) and read', async () => {
    const { dev, client } = setup({
      '2/1/r': { rc: 0, stat_list: ['smp_svr_stats', 'net'] },
      '2/0/r': (r) => (r.body.name === 'smp_svr_stats' ? { name: 'smp_svr_stats', fields: { ticks: 12, other: 0 } } : { err: { group: 63, rc: 3 } }),
    });
    assert.deepEqual(await client.stat.list(), ['smp_svr_stats', 'net']);
    assert.deepEqual(await client.stat.read('smp_svr_stats'), { name: 'smp_svr_stats', fields: { ticks: 12, other: 0 } });
    const e = await client.stat.read('nope').catch((x: unknown) => x);
    assert.ok(e instanceof SmpDeviceError);
    assert.equal(e.errGroup, 63);
    assert.equal(e.group, 2);
    assert.deepEqual(dev.sent[1]!.body, { name: 'smp_svr_stats' });
  });
});

describe('settings group', () => {
  test('read/write/delete/commit/load/save', async () => {
    const store = new Map<string, Buffer>();
    const { dev, client } = setup({
      '3/0/r': (r) => {
        const v = store.get(r.body.name as string);
        return v ? { val: v } : { err: { group: 3, rc: 3 } };
      },
      '3/0/w': (r) => (store.set(r.body.name as string, r.body.val as Buffer), {}),
      '3/1/w': (r) => (store.delete(r.body.name as string) ? {} : { err: { group: 3, rc: 3 } }),
      '3/2/w': {},
      '3/3/r': {},
      '3/3/w': {},
    });
    await client.settings.write('app/name', 'dev1');
    await client.settings.write('app/bin', new Uint8Array([1, 2, 3]));
    assert.deepEqual(await client.settings.read('app/name'), Buffer.from('dev1'));
    assert.deepEqual(await client.settings.read('app/bin', 16), Buffer.from([1, 2, 3]));
    await client.settings.delete('app/bin');
    await assert.rejects(client.settings.read('app/bin'), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'SETTINGS_MGMT_ERR_KEY_NOT_FOUND');
    await client.settings.commit();
    await client.settings.load();
    await client.settings.save();
    const ops = dev.sent.map((r) => `${r.id}${r.op === Op.READ ? 'r' : 'w'}`);
    assert.deepEqual(ops, ['0w', '0w', '0r', '0r', '1w', '0r', '2w', '3r', '3w']);
    assert.deepEqual(dev.sent[3]!.body, { name: 'app/bin', max_size: 16 });
  });
});

describe('fs group', () => {
  test('status, hash/checksum, supportedHashes, close', async () => {
    const { dev, client } = setup({
      '8/1/r': (r) => (r.body.name === '/lfs/a' ? { len: 9 } : { err: { group: 8, rc: 3 } }),
      '8/2/r': (r) =>
        r.body.type === 'sha256'
          ? { type: 'sha256', len: 9, output: Buffer.alloc(32, 7) }
          : r.body.type === 'md5'
            ? { err: { group: 8, rc: 13 } }
            : { type: 'crc32', off: r.body.off, len: 4, output: 0xcbf43926 },
      '8/3/r': { types: { crc32: { format: 0, size: 4 }, sha256: { format: 1, size: 32 } } },
      '8/4/w': {},
    });
    assert.deepEqual(await client.fs.status('/lfs/a'), { size: 9 });
    await assert.rejects(client.fs.status('/lfs/none'), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'FS_MGMT_ERR_FILE_NOT_FOUND');
    assert.deepEqual(await client.fs.hash('/lfs/a', { type: 'sha256' }), { type: 'sha256', off: 0, len: 9, output: Buffer.alloc(32, 7) });
    assert.deepEqual(await client.fs.checksum('/lfs/a', { off: 5, len: 4 }), { type: 'crc32', off: 5, len: 4, output: 0xcbf43926 });
    await assert.rejects(client.fs.hash('/lfs/a', { type: 'md5' }), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'FS_MGMT_ERR_CHECKSUM_HASH_NOT_FOUND');
    assert.deepEqual(await client.fs.supportedHashes(), [
      { name: 'crc32', format: 'number', size: 4 },
      { name: 'sha256', format: 'bytes', size: 32 },
    ]);
    await client.fs.close();
    assert.deepEqual(dev.sent[3]!.body, { name: '/lfs/a', off: 5, len: 4 });
  });
});

describe('shell group', () => {
  test('exec returns output and ret; a failing command is not an error', async () => {
    const { dev, client } = setup({
      '9/0/w': (r) => {
        const argv = r.body.argv as string[];
        if (argv[0] === 'kernel') return { o: 'Zephyr version 4.2.0\n', ret: 0 };
        return { o: `${argv[0]}: command not found\n`, ret: -8 };
      },
    });
    assert.deepEqual(await client.shell.exec(['kernel', 'version']), { output: 'Zephyr version 4.2.0\n', ret: 0 });
    assert.deepEqual(await client.shell.exec(['bogus']), { output: 'bogus: command not found\n', ret: -8 });
    assert.deepEqual(dev.sent[0]!.body, { argv: ['kernel', 'version'] });
  });

  test('legacy rc key is the command return value, not an SMP error', async () => {
    const { client } = setup({ '9/0/w': { o: 'oops\n', rc: -22 } });
    assert.deepEqual(await client.shell.exec(['x']), { output: 'oops\n', ret: -22 });
  });

  test('errors: v2 group error, SMP rc without output', async () => {
    const { client } = setup({ '9/0/w': { err: { group: 9, rc: 2 } } });
    await assert.rejects(client.shell.exec(['long']), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'SHELL_MGMT_ERR_COMMAND_TOO_LONG');
    const { client: c2 } = setup({ '9/0/w': { rc: 7 } });
    await assert.rejects(c2.shell.exec(['big']), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'MGMT_ERR_EMSGSIZE');
  });
});

describe('enum group', () => {
  test('count, list, single, details', async () => {
    const { dev, client } = setup({
      '10/0/r': { count: 3 },
      '10/1/r': { groups: [0, 1, 63] },
      '10/2/r': (r) => {
        const i = r.body.index as number;
        return i < 3 ? { group: [0, 1, 63][i]!, ...(i === 2 ? { end: true } : {}) } : { err: { group: 10, rc: 4 } };
      },
      '10/3/r': (r) => ({
        groups: [
          { group: 0, name: 'os mgmt', handlers: 9 },
          { group: 63, handlers: 1 },
        ].filter((g) => !r.body.groups || (r.body.groups as number[]).includes(g.group)),
      }),
    });
    assert.equal(await client.enum.count(), 3);
    assert.deepEqual(await client.enum.list(), [0, 1, 63]);
    assert.deepEqual(await client.enum.single(), { group: 0, end: false });
    assert.deepEqual(await client.enum.single(2), { group: 63, end: true });
    await assert.rejects(client.enum.single(3), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'ENUM_MGMT_ERR_INDEX_TOO_LARGE');
    assert.deepEqual(await client.enum.details(), [
      { group: 0, name: 'os mgmt', handlers: 9 },
      { group: 63, handlers: 1 },
    ]);
    assert.deepEqual(await client.enum.details([63]), [{ group: 63, handlers: 1 }]);
    assert.deepEqual(dev.sent.at(-1)!.body, { groups: [63] });
  });
});

describe('basic group and raw', () => {
  test('eraseStorage', async () => {
    const { dev, client } = setup({ '63/0/w': {} });
    await client.basic.eraseStorage();
    assert.equal(dev.sent[0]!.op, Op.WRITE);
    const { client: c2 } = setup({ '63/0/w': { err: { group: 63, rc: 4 } } });
    await assert.rejects(c2.basic.eraseStorage(), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'ZEPHYRBASIC_MGMT_ERR_FLASH_ERASE_FAILED');
  });

  test('raw request to an application group; rawErrors returns the error body', async () => {
    const { client } = setup({ '64/1/r': (r) => ({ got: r.body.q }), '64/2/w': { rc: 256 } });
    const r = await client.raw(Op.READ, 64, 1, { q: 5 });
    assert.deepEqual(r.body, { got: 5 });
    await assert.rejects(client.raw(Op.WRITE, 64, 2, {}), (e: unknown) => e instanceof SmpDeviceError && e.rcName === 'MGMT_ERR_EPERUSER+0');
    assert.deepEqual((await client.raw(Op.WRITE, 64, 2, {}, { rawErrors: true })).body, { rc: 256 });
  });
});

describe('argument errors: nothing is sent', () => {
  const cases: Array<[string, (c: MCUmgrClient) => Promise<unknown>, typeof TypeError | typeof RangeError, RegExp]> = [
    ['echo(number)', (c) => c.os.echo(5 as unknown as string), TypeError, /text/],
    ['consoleEcho("yes")', (c) => c.os.consoleEcho('yes' as unknown as boolean), TypeError, /on/],
    ['reset force not bool', (c) => c.os.reset({ force: 1 as unknown as boolean }), TypeError, /options\.force/],
    ['reset bootMode -1', (c) => c.os.reset({ bootMode: -1 }), RangeError, /options\.bootMode/],
    ['timeoutMs 0', (c) => c.os.echo('x', { timeoutMs: 0 }), RangeError, /timeoutMs/],
    ['signal not a signal', (c) => c.os.echo('x', { signal: {} as AbortSignal }), TypeError, /signal/],
    ['bootloaderInfo("")', (c) => c.os.bootloaderInfo(''), RangeError, /query/],
    ['image.test short hash', (c) => c.image.test(Buffer.alloc(31)), RangeError, /hash must be 32, 48, 64 bytes/],
    ['image.test bad hex', (c) => c.image.test('zz'), TypeError, /hash/],
    ['image.confirm number', (c) => c.image.confirm(3 as unknown as string), TypeError, /hash/],
    ['image.erase(-1)', (c) => c.image.erase(-1), RangeError, /slot/],
    ['image.erase(1.5)', (c) => c.image.erase(1.5), TypeError, /slot/],
    ['stat.read("")', (c) => c.stat.read(''), RangeError, /name/],
    ['settings.read maxSize 0', (c) => c.settings.read('a', 0), RangeError, /maxSize/],
    ['settings.write value number', (c) => c.settings.write('a', 3 as unknown as string), TypeError, /value/],
    ['settings.delete undefined', (c) => c.settings.delete(undefined as unknown as string), TypeError, /name/],
    ['fs.status("")', (c) => c.fs.status(''), RangeError, /name/],
    ['fs.hash len 0', (c) => c.fs.hash('/a', { len: 0 }), RangeError, /options\.len/],
    ['fs.hash type 5', (c) => c.fs.hash('/a', { type: 5 as unknown as string }), TypeError, /options\.type/],
    ['fs.upload name', (c) => c.fs.upload('', Buffer.alloc(1)), RangeError, /name/],
    ['fs.download name', (c) => c.fs.download(7 as unknown as string), TypeError, /name/],
    ['shell.exec string', (c) => c.shell.exec('kernel version' as unknown as string[]), TypeError, /split/],
    ['shell.exec []', (c) => c.shell.exec([]), RangeError, /argv/],
    ['shell.exec [1]', (c) => c.shell.exec([1 as unknown as string]), TypeError, /argv\[0\]/],
    ['enum.single(-1)', (c) => c.enum.single(-1), RangeError, /index/],
    ['enum.details("x")', (c) => c.enum.details('x' as unknown as number[]), TypeError, /groups/],
    ['enum.details([-1])', (c) => c.enum.details([-1]), RangeError, /groups\[0\]/],
    ['raw op 1', (c) => c.raw(1, 0, 0, {}), RangeError, /op/],
    ['raw group 70000', (c) => c.raw(Op.READ, 70000, 0, {}), RangeError, /group/],
    ['raw body array', (c) => c.raw(Op.READ, 0, 0, [] as unknown as CborMap), TypeError, /body/],
    ['options not an object', (c) => c.os.echo('x', 'fast' as unknown as object), TypeError, /options/],
  ];
  for (const [name, call, cls, re] of cases) {
    test(name, async () => {
      const { dev, client } = setup({});
      await assert.rejects(call(client), (e: unknown) => e instanceof cls && re.test((e as Error).message));
      assert.equal(dev.sent.length, 0, 'nothing may be sent');
    });
  }
});
