/**
 * The simulated Zephyr device's protocol core, byte by byte: PROTOCOL.md §9 vectors, header
 * handling (§1), v1/v2 errors with the translation quirks (§2), every group (§3), the image
 * upload rules and a full MCUboot update cycle (test → revert, confirm, permanent).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { buildPacket, decodeHeader, Op, SMP_HEADER_SIZE } from '../src/codec/header.js';
import { decodeCbor } from '../src/codec/cbor.js';
import {
  createZephyrDevice,
  buildImage,
  readSlotInfo,
  encodeCborValue,
  omap,
  OMap,
  type ZephyrDevice,
  type ZephyrDeviceOptions,
  type CborValue,
} from '../src/sim/device/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[^0-9a-fA-F]/g, ''), 'hex');
/** CBOR text string header + bytes (for hand-written expected payloads). */
const t = (s: string): string => {
  const b = Buffer.from(s, 'utf8');
  return (b.length < 24 ? (0x60 + b.length).toString(16) : `78${b.length.toString(16).padStart(2, '0')}`) + b.toString('hex');
};

interface ReqOpts {
  op?: number;
  ver?: number;
  seq?: number;
}

/** A request packet; `body` is encoded as a definite map (like most clients), `null` = no payload. */
function req(group: number, id: number, body: OMap | Buffer | null = new OMap(), o: ReqOpts = {}): Buffer {
  const payload = body === null ? Buffer.alloc(0) : body instanceof OMap ? encodeCborValue(body, { definite: true }) : body;
  return buildPacket({ op: o.op ?? Op.READ, version: o.ver ?? 1, flags: 0, group, seq: o.seq ?? 0, id }, payload);
}
const m = (...pairs: Array<[string, CborValue | undefined]>): OMap => omap(...pairs);

function one(dev: ZephyrDevice, pkt: Buffer, via = 'memory'): Buffer {
  const step = dev.handle(pkt, via);
  assert.equal(step.responses.length, 1, `expected one response, got ${step.responses.length}`);
  return step.responses[0]!;
}
function payloadHex(rsp: Buffer): string {
  return rsp.subarray(SMP_HEADER_SIZE).toString('hex');
}
function body(rsp: Buffer): Record<string, unknown> {
  return decodeCbor(rsp.subarray(SMP_HEADER_SIZE)) as Record<string, unknown>;
}
function call(dev: ZephyrDevice, group: number, id: number, b: OMap | Buffer | null = new OMap(), o: ReqOpts = {}): Record<string, unknown> {
  return body(one(dev, req(group, id, b, o)));
}
const W = { op: Op.WRITE };
const W1 = { op: Op.WRITE, ver: 0 };

/** Uploads `image` in `chunk`-byte pieces (v2), checking every `off`; returns the last body. */
function uploadAll(dev: ZephyrDevice, image: Buffer, chunk = 256, sha = createHash('sha256').update(image).digest()): Record<string, unknown> {
  let off = 0;
  let last: Record<string, unknown> = {};
  while (off < image.length) {
    const data = image.subarray(off, off + chunk);
    const b = off === 0 ? m(['image', 0], ['len', image.length], ['off', 0], ['sha', sha], ['data', data]) : m(['off', off], ['data', data]);
    last = call(dev, 1, 1, b, W);
    off += data.length;
    assert.equal(last.off, off);
  }
  return last;
}

function state(dev: ZephyrDevice): Array<Record<string, unknown>> {
  return call(dev, 1, 0).images as Array<Record<string, unknown>>;
}
function flagsOf(e: Record<string, unknown>): string {
  return ['pending', 'confirmed', 'active', 'permanent'].filter((k) => e[k] === true).join(',');
}

const SMALL: ZephyrDeviceOptions = { slotSize: 64 * 1024, appBodySize: 1000, netbufSize: 2048 };

describe('PROTOCOL.md §9.2 replies byte for byte', () => {
  test('echo: indefinite map BF 61 72 62 68 69 FF', () => {
    const dev = createZephyrDevice();
    const rsp = one(dev, hex('0800000600000100 A16164626869'));
    assert.equal(rsp.toString('hex'), '0900000700000100bf6172626869ff');
  });

  test('echo with definiteCbor: A1 61 72 62 68 69', () => {
    const dev = createZephyrDevice({ definiteCbor: true });
    assert.equal(one(dev, hex('0800000600000100 A16164626869')).toString('hex'), '0900000600000100a16172626869');
  });

  test('mcumgr params (384/4)', () => {
    const dev = createZephyrDevice();
    const rsp = one(dev, hex('0800000100000206 A0'));
    assert.equal(rsp.toString('hex'), hex('0900001900000206 BF 68 6275665F73697A65 190180 69 6275665F636F756E74 04 FF').toString('hex'));
  });

  test('upload with bad magic: v2 {"err":{"group":1,"rc":23}}, v1 {"rc":1}', () => {
    const dev = createZephyrDevice();
    const b = m(['off', 0], ['len', 100], ['data', Buffer.alloc(32)]);
    const v2 = one(dev, req(1, 1, b, { op: Op.WRITE, seq: 3 }));
    assert.equal(v2.toString('hex'), hex('0B00001300010301 BF63657272BF6567726F75700162726317FFFF').toString('hex'));
    const v1 = one(dev, req(1, 1, b, { op: Op.WRITE, seq: 3, ver: 0 }));
    assert.equal(v1.toString('hex'), hex('0300000600010301 BF62726301FF').toString('hex'));
  });

  test('unsupported command v1 {"rc":8} (group 0 id 1 READ)', () => {
    const dev = createZephyrDevice();
    assert.equal(one(dev, req(0, 1, new OMap(), { ver: 0, seq: 4 })).toString('hex'), hex('0100000600000401 BF62726308FF').toString('hex'));
  });

  test('upload response {"off":512}', () => {
    const dev = createZephyrDevice({ netbufSize: 1024 });
    const img = buildImage({ version: '2.0.0', bodySize: 3000 });
    const b = m(['image', 0], ['len', img.length], ['off', 0], ['data', img.subarray(0, 512)]);
    assert.equal(one(dev, req(1, 1, b, { op: Op.WRITE, seq: 5 })).toString('hex'), hex('0B00000900010501 BF636F6666190200FF').toString('hex'));
  });

  test('reset {} then the device asks to be rebooted 250 ms later', () => {
    const dev = createZephyrDevice();
    const step = dev.handle(req(0, 5, new OMap(), { op: Op.WRITE, seq: 7 }), 'memory');
    assert.equal(step.responses[0]!.toString('hex'), hex('0B00000200000705 BFFF').toString('hex'));
    assert.equal(step.resetAfterMs, 250);
    assert.equal(dev.resets.length, 1);
  });
});

describe('§9.4 synthetic image', () => {
  const vector = hex(
    '3db8f39600000000200000001000000000000000010203000400000000000000' +
      '000102030405060708090a0b0c0d0e0f' +
      '07692800 10002000 04cbb04cff0327ca1d27929d4af2c825fb1d13bdb48fd5fdd935263b6e42d4b3',
  );
  test('buildImage reproduces it; readSlotInfo finds the TLV hash', () => {
    const img = buildImage({ version: '1.2.3.4', body: Buffer.from([...Array(16).keys()]) });
    assert.equal(img.toString('hex'), vector.toString('hex'));
    const info = readSlotInfo(img);
    assert.ok(info.ok);
    assert.equal(info.hash.toString('hex'), '04cbb04cff0327ca1d27929d4af2c825fb1d13bdb48fd5fdd935263b6e42d4b3');
    assert.equal(createHash('sha256').update(img).digest('hex'), '0898b398c2999332b1bcb9e49a3659ddb780f361ca06973d2b789bcd84e6d2f2');
  });

  test('the §9.4 one-chunk upload request is accepted and matches', () => {
    const dev = createZephyrDevice();
    const sha = hex('0898b398c2999332b1bcb9e49a3659ddb780f361ca06973d2b789bcd84e6d2f2');
    const p = req(1, 1, m(['image', 0], ['len', 88], ['off', 0], ['sha', sha], ['data', vector]), { op: Op.WRITE, seq: 7 });
    assert.equal(p.length, 160);
    assert.equal(p.subarray(0, 16).toString('hex'), '0a00009800010701a565696d61676500');
    const rsp = one(dev, p);
    assert.equal(payloadHex(rsp), `bf${t('off')}1858${t('match')}f5ff`);
    assert.ok(dev.readSlot(0, 1).subarray(0, 88).equals(vector));
    assert.equal(dev.slots()[1]!.version, '1.2.3.4');
  });
});

describe('§1 header handling', () => {
  test('response header: op READ→READ_RSP, WRITE→WRITE_RSP, version clamped, seq/group/id copied, flags 0', () => {
    const dev = createZephyrDevice();
    const r = one(dev, buildPacket({ op: Op.WRITE, version: 1, flags: 0x5a, group: 0, seq: 0xfe, id: 0 }, hex('A16164626869')));
    assert.deepEqual(decodeHeader(r), { op: 3, version: 1, flags: 0, length: 7, group: 0, seq: 0xfe, id: 0 });
    const r0 = one(dev, req(0, 0, m(['d', 'x']), { ver: 0 }));
    assert.equal(r0[0], 0x01);
  });

  test('version 2 and 3 → rc 13 with a version-1 header', () => {
    const dev = createZephyrDevice();
    for (const ver of [2, 3]) {
      const r = one(dev, req(0, 0, m(['d', 'x']), { ver }));
      assert.equal(r.toString('hex'), `0900000600000000bf${t('rc')}0dff`);
    }
  });

  test('SMP v1 support off → rc 12 for version 0', () => {
    const dev = createZephyrDevice({ smpV1Support: false });
    assert.equal(one(dev, req(0, 0, m(['d', 'x']), { ver: 0 })).toString('hex'), `0100000600000000bf${t('rc')}0cff`);
    assert.equal(body(one(dev, req(0, 0, m(['d', 'x'])))).r, 'x');
  });

  test('unknown group, command beyond the table, op without handler, ops 1 and 4–7 → rc 8', () => {
    const dev = createZephyrDevice();
    const rc8 = `bf${t('rc')}08ff`;
    assert.equal(payloadHex(one(dev, req(4, 0))), rc8); // LOG
    assert.equal(payloadHex(one(dev, req(7, 0))), rc8); // RUN
    assert.equal(payloadHex(one(dev, req(64, 0))), rc8);
    assert.equal(payloadHex(one(dev, req(0, 9))), rc8);
    assert.equal(payloadHex(one(dev, req(1, 3))), rc8); // corelist: reserved
    assert.equal(payloadHex(one(dev, req(0, 5))), rc8); // reset has no READ handler
    assert.equal(payloadHex(one(dev, req(1, 1))), rc8); // upload has no READ handler
    for (const op of [1, 3, 4, 7]) {
      const r = one(dev, req(0, 0, m(['d', 'x']), { op }));
      assert.equal(r[0], 0x08 | 3, `op ${op} answers WRITE_RSP`);
      assert.equal(payloadHex(r), rc8);
    }
  });

  test('length larger than the data → rc 9 and processing stops', () => {
    const dev = createZephyrDevice();
    const p = Buffer.concat([req(0, 0, m(['d', 'a'])), hex('0800001000000200 A16164')]);
    const step = dev.handle(p, 'memory');
    assert.equal(step.responses.length, 2);
    assert.equal(body(step.responses[0]!).r, 'a');
    assert.equal(step.responses[1]!.toString('hex'), `0900000600000200bf${t('rc')}09ff`);
  });

  test('several messages per packet are answered in order; an rc error stops the rest', () => {
    const dev = createZephyrDevice();
    const p = Buffer.concat([req(0, 0, m(['d', 'a']), { seq: 1 }), req(0, 0, m(['d', 'b']), { seq: 2 }), req(0, 6, new OMap(), { seq: 3 })]);
    const step = dev.handle(p, 'memory');
    assert.deepEqual(
      step.responses.map((r) => [r[6], body(r).r ?? body(r).buf_size]),
      [
        [1, 'a'],
        [2, 'b'],
        [3, 384],
      ],
    );
    const q = Buffer.concat([req(0, 0, m(['d', 'a']), { seq: 1 }), req(9, 9, new OMap(), { seq: 2 }), req(0, 0, m(['d', 'c']), { seq: 3 })]);
    const s2 = dev.handle(q, 'memory');
    assert.deepEqual(
      s2.responses.map((r) => r[6]),
      [1, 2],
    );
    assert.equal(body(s2.responses[1]!).rc, 8);
  });

  test('a group error (v2 err) does not stop the packet; fewer than 8 trailing bytes are ignored', () => {
    const dev = createZephyrDevice();
    const p = Buffer.concat([req(0, 7, m(['format', 'q']), { seq: 1 }), req(0, 0, m(['d', 'z']), { seq: 2 }), hex('08000000')]);
    const step = dev.handle(p, 'memory');
    assert.equal(step.responses.length, 2);
    assert.deepEqual(body(step.responses[0]!), { err: { group: 0, rc: 2 } });
    assert.equal(body(step.responses[1]!).r, 'z');
  });

  test('the reader sees the rest of the packet: length 0 followed by another message is decoded from it', () => {
    const dev = createZephyrDevice();
    // Header says 0 payload bytes, but the map follows; Zephyr's reader runs over the rest of the buffer.
    const p = Buffer.concat([hex('0800000000000100'), hex('A16164626869')]);
    const step = dev.handle(p, 'memory');
    assert.equal(body(step.responses[0]!).r, 'hi');
    // … and then the next "message" starts right after the header: A1 61 64 62 68 69 is < 8 bytes → ignored.
    assert.equal(step.responses.length, 1);
  });

  test('packets larger than netbufSize get no answer; responses larger than netbufSize → rc 7', () => {
    const dev = createZephyrDevice();
    const big = req(0, 0, m(['d', 'x'.repeat(400)]));
    assert.deepEqual(dev.handle(big, 'memory').responses, []);
    // 384-byte request whose reply (indefinite map, one byte longer) would be 385 bytes.
    const p = req(0, 0, m(['d', 'y'.repeat(370)]));
    assert.equal(p.length, 384);
    assert.equal(one(dev, p).toString('hex'), `0900000600000000bf${t('rc')}07ff`);
  });

  test('empty payload → rc 3 for commands that read it; accepted by those that ignore it', () => {
    const dev = createZephyrDevice();
    assert.equal(call(dev, 0, 0, null).rc, 3);
    assert.equal(call(dev, 0, 6, null).buf_size, 384);
    assert.ok(Array.isArray(call(dev, 1, 0, null).images));
  });

  test('zcbor strictness: wrong value type, duplicate known key, non-text key → rc 3; unknown keys skipped', () => {
    const dev = createZephyrDevice();
    assert.equal(call(dev, 0, 0, m(['d', Buffer.from('hi')])).rc, 3);
    assert.equal(call(dev, 0, 0, hex('A2 6164 6161 6164 6162')).rc, 3); // "d" twice
    assert.equal(call(dev, 0, 0, hex('A2 01 01 6164 6161')).rc, 3); // integer key
    assert.equal(call(dev, 0, 0, hex('A2 6178 F93C00 6164 6161')).r, 'a'); // unknown key with a float value
    assert.equal(call(dev, 0, 0, hex('82 6164 6161')).rc, 3); // not a map
    assert.equal(call(dev, 0, 0, hex('BF 6164 6161 FF')).r, 'a'); // indefinite request map
  });
});

describe('§3.1 os group', () => {
  test('echo: missing d → r ""; console echo → 8', () => {
    const dev = createZephyrDevice();
    assert.equal(payloadHex(one(dev, req(0, 0, m(['x', 1])))), `bf${t('r')}60ff`);
    assert.equal(payloadHex(one(dev, req(0, 0, m(['d', 'q']), W))), `bf${t('r')}${t('q')}ff`);
    assert.equal(call(dev, 0, 1).rc, 8);
  });

  test('taskstat and mpstat layouts', () => {
    const dev = createZephyrDevice({
      threads: [
        { name: 'main', prio: 0, state: 1, stackSize: 1024, stackUsed: 256 },
        { name: 'idle', prio: -1, state: 0, stackSize: 256, stackUsed: 64 },
      ],
      memPools: [{ name: 'heap', blksiz: 16, nblks: 64, nfree: 60, min: 50 }],
    });
    const ts = one(dev, req(0, 2));
    assert.equal(
      payloadHex(ts),
      `bf${t('tasks')}bf` +
        `${t('main')}bf${t('prio')}00${t('tid')}00${t('state')}01${t('stksiz')}1901 00${t('stkuse')}1840ff`.replace(/ /g, '') +
        `${t('idle')}bf${t('prio')}20${t('tid')}01${t('state')}00${t('stksiz')}1840${t('stkuse')}10ff` +
        'ffff',
    );
    assert.deepEqual(call(dev, 0, 3), { mpools: { heap: { blksiz: 16, nblks: 64, nfree: 60, min: 50 } } });
  });

  test('datetime: RTC not set, set/get with the parse rules, v1 translation', () => {
    let now = Date.UTC(2020, 0, 1);
    const dev = createZephyrDevice({ now: () => now });
    assert.deepEqual(call(dev, 0, 4), { err: { group: 0, rc: 4 } });
    assert.deepEqual(call(dev, 0, 4, new OMap(), { ver: 0 }), { rc: 5 });
    assert.deepEqual(call(dev, 0, 4, m(['datetime', '2024-02-03T04:05:06Z']), W), {});
    now += 1500;
    assert.deepEqual(call(dev, 0, 4), { datetime: '2024-02-03T04:05:07' });
    // any one separator, 19..25 characters, ranges checked
    assert.deepEqual(call(dev, 0, 4, m(['datetime', '2024/2/3 4:5:6xxxxxxx']), W), {});
    assert.deepEqual(call(dev, 0, 4), { datetime: '2024-02-03T04:05:06' });
    for (const bad of ['2024-02-03T04:05:0', '2024-13-03T04:05:06', '2024-02-03T24:05:06', '1899-02-03T04:05:06', 'abcd-02-03T04:05:06', '2024-02-03T04:05:06+01:00:00']) {
      assert.deepEqual(call(dev, 0, 4, m(['datetime', bad]), W), { rc: 3 }, bad);
    }
    assert.deepEqual(call(dev, 0, 4, m(['datetime', 5]), W), { rc: 3 });
  });

  test('datetime with milliseconds: .ms read as a plain decimal, not zero padded on output', () => {
    let now = 0;
    const dev = createZephyrDevice({ datetimeMs: true, now: () => now });
    call(dev, 0, 4, m(['datetime', '2024-02-03T04:05:06.7']), W);
    assert.deepEqual(call(dev, 0, 4), { datetime: '2024-02-03T04:05:06.7' });
    now = 50;
    assert.deepEqual(call(dev, 0, 4), { datetime: '2024-02-03T04:05:06.57' });
    assert.deepEqual(call(dev, 0, 4, m(['datetime', '2024-02-03T04:05:06.1000']), W), { rc: 3 });
  });

  test('datetime absent without an RTC; RTC failure → err {0,5} / v1 rc 1', () => {
    assert.equal(call(createZephyrDevice({ rtc: false }), 0, 4).rc, 8);
    const dev = createZephyrDevice({ rtcFails: true });
    assert.deepEqual(call(dev, 0, 4), { err: { group: 0, rc: 5 } });
    assert.deepEqual(call(dev, 0, 4, new OMap(), { ver: 0 }), { rc: 1 });
  });

  test('reset: payload ignored without hooks; force and boot_mode with them; a hook may refuse', () => {
    assert.equal(createZephyrDevice().handle(req(0, 5, Buffer.from([0xff]), W), 'm').resetAfterMs, 250);
    const seen: unknown[] = [];
    const dev = createZephyrDevice({
      resetBootMode: true,
      resetMs: 40,
      resetHook: (r) => {
        seen.push(r);
        return r.force ? undefined : 10;
      },
    });
    const refused = dev.handle(req(0, 5, new OMap(), W), 'm');
    assert.deepEqual(body(refused.responses[0]!), { rc: 10 });
    assert.equal(refused.resetAfterMs, undefined);
    const ok = dev.handle(req(0, 5, m(['force', true], ['boot_mode', 1]), W), 'm');
    assert.deepEqual(body(ok.responses[0]!), {});
    assert.equal(ok.resetAfterMs, 40);
    assert.equal(dev.pendingBootMode, 1);
    assert.deepEqual(seen, [{ force: false, bootMode: undefined }, { force: true, bootMode: 1 }]);
    // force as an int (the doc's type) is a decode failure: ignored, force stays false
    assert.deepEqual(body(dev.handle(req(0, 5, m(['force', 1]), W), 'm').responses[0]!), { rc: 10 });
  });

  test('mcumgr params off → rc 8', () => {
    assert.equal(call(createZephyrDevice({ mcumgrParams: false }), 0, 6).rc, 8);
  });

  test('os info: fixed field order, a, INVALID_FORMAT, b only with a build date, size limit', () => {
    const dev = createZephyrDevice({ hostname: 'node1', board: 'brd', boardRevision: '1.0.0' });
    assert.deepEqual(call(dev, 0, 7), { output: 'Zephyr' });
    assert.deepEqual(call(dev, 0, 7, m(['format', ''])), { output: 'Zephyr' });
    assert.deepEqual(call(dev, 0, 7, m(['format', 'oisn'])), { output: 'Zephyr node1 brd@1.0.0 Zephyr' });
    assert.deepEqual(call(dev, 0, 7, m(['format', 'a'])), { output: 'Zephyr node1 v4.2.0 4.2.0 arm cortex-m4 brd@1.0.0 Zephyr' });
    assert.deepEqual(call(dev, 0, 7, m(['format', 'sb'])), { err: { group: 0, rc: 2 } });
    assert.deepEqual(call(dev, 0, 7, m(['format', 'sb']), { ver: 0 }), { rc: 3 });
    const withDate = createZephyrDevice({ buildDateTime: 'Jan  1 2025 00:00:00' });
    assert.deepEqual(call(withDate, 0, 7, m(['format', 'b'])), { output: 'Jan  1 2025 00:00:00' });
    const long = createZephyrDevice({ board: 'b'.repeat(250) });
    assert.deepEqual(call(long, 0, 7, m(['format', 'si'])), { rc: 7 });
  });

  test('bootloader info: name, mode, no-downgrade, and the {"rc":3} quirk', () => {
    const dev = createZephyrDevice({ bootloaderMode: 1, downgradePrevention: true });
    assert.equal(payloadHex(one(dev, req(0, 8))), `bf${t('bootloader')}${t('MCUboot')}ff`);
    assert.equal(payloadHex(one(dev, req(0, 8, m(['query', 'mode'])))), `bf${t('mode')}01${t('no-downgrade')}f5ff`);
    assert.deepEqual(call(dev, 0, 8, m(['query', 'active_b0_slot'])), { rc: 3 });
    assert.deepEqual(call(dev, 0, 8, m(['query', 'x']), { ver: 0 }), { rc: 3 });
    assert.deepEqual(call(createZephyrDevice(), 0, 8, m(['query', 'mode'])), { mode: 3 });
  });
});

describe('§3.2 image group', () => {
  test('state read: field order, flags of the running image, splitStatus; frugal list', () => {
    const dev = createZephyrDevice(SMALL);
    const h = dev.slots()[0]!.hash!;
    assert.equal(
      payloadHex(one(dev, req(1, 0))),
      `bf${t('images')}9fbf${t('slot')}00${t('version')}${t('1.0.0')}${t('hash')}5820${h}` +
        `${t('bootable')}f5${t('pending')}f4${t('confirmed')}f5${t('active')}f5${t('permanent')}f4ff` +
        `ff${t('splitStatus')}00ff`,
    );
    const frugal = createZephyrDevice({ ...SMALL, frugalList: true });
    assert.equal(
      payloadHex(one(frugal, req(1, 0))),
      `bf${t('images')}9fbf${t('slot')}00${t('version')}${t('1.0.0')}${t('hash')}5820${h}${t('bootable')}f5${t('confirmed')}f5${t('active')}f5ffffff`,
    );
  });

  test('version string adds .build only when non-zero; non-bootable flag; multi-image adds "image"', () => {
    const dev = createZephyrDevice({ ...SMALL, initialImage: buildImage({ version: '1.2.3.4', flags: 0x10, bodySize: 100 }) });
    const e = state(dev)[0]!;
    assert.equal(e.version, '1.2.3.4');
    assert.equal(e.bootable, false);
    const multi = createZephyrDevice({ ...SMALL, imageCount: 2 });
    const list = state(multi);
    assert.deepEqual(
      list.map((x) => [x.image, x.slot]),
      [
        [0, 0],
        [1, 0],
      ],
    );
    assert.equal(Object.keys(list[0]!)[0], 'image');
  });

  test('full update cycle: upload, test, reboot → running unconfirmed, reboot → reverted', () => {
    const dev = createZephyrDevice(SMALL);
    const img = buildImage({ version: '2.0.0', bodySize: 5000 });
    const last = uploadAll(dev, img, 300);
    assert.equal(last.match, true);
    assert.equal(dev.uploadProgress(), undefined);
    let s = state(dev);
    assert.deepEqual(
      s.map((e) => [e.slot, e.version, flagsOf(e)]),
      [
        [0, '1.0.0', 'confirmed,active'],
        [1, '2.0.0', ''],
      ],
    );
    const h2 = s[1]!.hash as Buffer;
    s = call(dev, 1, 0, m(['hash', h2], ['confirm', false]), W).images as typeof s;
    assert.deepEqual(
      s.map((e) => flagsOf(e)),
      ['confirmed,active', 'pending'],
    );
    dev.reboot();
    assert.equal(dev.swapType(), 'revert');
    s = state(dev);
    assert.deepEqual(
      s.map((e) => [e.slot, e.version, flagsOf(e)]),
      [
        [0, '2.0.0', 'active'],
        [1, '1.0.0', 'confirmed'],
      ],
    );
    dev.reboot();
    s = state(dev);
    assert.deepEqual(
      s.map((e) => [e.slot, e.version, flagsOf(e)]),
      [
        [0, '1.0.0', 'confirmed,active'],
        [1, '2.0.0', ''],
      ],
    );
  });

  test('test, reboot, confirm the running image → it stays', () => {
    const dev = createZephyrDevice(SMALL);
    const img = buildImage({ version: '2.0.0', bodySize: 5000 });
    uploadAll(dev, img);
    const h2 = state(dev)[1]!.hash as Buffer;
    call(dev, 1, 0, m(['hash', h2]), W);
    dev.reboot();
    // In REVERT: testing anything is refused, confirming the next-boot slot is a no-op.
    assert.deepEqual(call(dev, 1, 0, m(['hash', state(dev)[1]!.hash as Buffer]), W), { err: { group: 1, rc: 28 } });
    const s = call(dev, 1, 0, m(['confirm', true]), W).images as Array<Record<string, unknown>>;
    assert.deepEqual(
      s.map((e) => [e.version, flagsOf(e)]),
      [
        ['2.0.0', 'confirmed,active'],
        ['1.0.0', ''],
      ],
    );
    dev.reboot();
    dev.reboot();
    assert.equal(state(dev)[0]!.version, '2.0.0');
    assert.equal(dev.swapType(), 'none');
  });

  test('permanent: confirm with the hash → pending+permanent, swapped confirmed at reboot', () => {
    const dev = createZephyrDevice(SMALL);
    uploadAll(dev, buildImage({ version: '3.0.0', bodySize: 2000 }));
    const h = state(dev)[1]!.hash as Buffer;
    const s = call(dev, 1, 0, m(['hash', h], ['confirm', true]), W).images as Array<Record<string, unknown>>;
    assert.deepEqual(
      s.map((e) => flagsOf(e)),
      ['confirmed,active', 'pending,permanent'],
    );
    // the scheduled slot cannot be tested, the active one cannot be confirmed now
    assert.deepEqual(call(dev, 1, 0, m(['hash', h]), W), { err: { group: 1, rc: 28 } });
    assert.deepEqual(call(dev, 1, 0, m(['confirm', true]), W), { err: { group: 1, rc: 28 } });
    dev.reboot();
    assert.deepEqual(
      state(dev).map((e) => [e.version, flagsOf(e)]),
      [
        ['3.0.0', 'confirmed,active'],
        ['1.0.0', ''],
      ],
    );
  });

  test('a bad-hash image is refused by MCUboot at boot: slot erased, old image keeps running', () => {
    const dev = createZephyrDevice(SMALL);
    const bad = buildImage({ version: '2.0.0', bodySize: 800, badHash: true });
    uploadAll(dev, bad);
    const h = state(dev)[1]!.hash as Buffer; // Zephyr lists it: the app does not verify hashes
    call(dev, 1, 0, m(['hash', h]), W);
    dev.reboot();
    assert.deepEqual(dev.lastBoot.images[0], { swapType: 'test', action: 'refused' });
    assert.deepEqual(
      state(dev).map((e) => e.version),
      ['1.0.0'],
    );
    assert.equal(dev.slots()[1]!.version, undefined);
  });

  test('downgrade prevention: an older image is refused at boot', () => {
    const dev = createZephyrDevice({ ...SMALL, appVersion: '2.0.0', downgradePrevention: true });
    uploadAll(dev, buildImage({ version: '1.5.0', bodySize: 800 }));
    call(dev, 1, 0, m(['hash', state(dev)[1]!.hash as Buffer]), W);
    dev.reboot();
    assert.equal(state(dev)[0]!.version, '2.0.0');
    assert.equal(dev.lastBoot.images[0]!.action, 'refused');
  });

  test('state write errors in v2 and v1', () => {
    const dev = createZephyrDevice(SMALL);
    const cases: Array<[OMap, number, number]> = [
      [m(['confirm', false]), 24, 3], // test without hash
      [m(['hash', Buffer.alloc(16)]), 24, 3], // wrong length
      [m(['hash', Buffer.alloc(32, 1)]), 8, 1], // not found
      [m(['hash', Buffer.from(dev.slots()[0]!.hash!, 'hex')]), 33, 1], // test the active slot
    ];
    for (const [b, v2, v1] of cases) {
      assert.deepEqual(call(dev, 1, 0, b, W), { err: { group: 1, rc: v2 } });
      assert.deepEqual(call(dev, 1, 0, b, W1), { rc: v1 });
    }
    assert.deepEqual(call(dev, 1, 0, m(['confirm', 1]), W), { rc: 3 });
    // confirming the running image when nothing is pending is a no-op success
    assert.ok(Array.isArray(call(dev, 1, 0, m(['confirm', true]), W).images));
  });

  test('multi-image: confirming a slot of the non-active image → 32', () => {
    const dev = createZephyrDevice({ ...SMALL, imageCount: 2 });
    const h = Buffer.from(dev.slots()[2]!.hash!, 'hex');
    assert.deepEqual(call(dev, 1, 0, m(['hash', h], ['confirm', true]), W), { err: { group: 1, rc: 32 } });
  });

  test('first-chunk checks in Zephyr order: 22, 21, 23, 24, 30, 27; missing off → 20 (v1 translations too)', () => {
    const dev = createZephyrDevice({ ...SMALL, appVersion: '2.0.0' });
    const img = buildImage({ version: '2.0.0', bodySize: 500 });
    const cases: Array<[OMap, number, number]> = [
      [m(['off', 0], ['data', Buffer.alloc(31)]), 22, 3], // short header wins over missing len and bad magic
      [m(['off', 0], ['data', Buffer.alloc(32)]), 21, 3], // no len wins over bad magic
      [m(['off', 0], ['len', 100], ['data', Buffer.alloc(32)]), 23, 1],
      [m(['off', 0], ['len', img.length], ['sha', Buffer.alloc(33)], ['data', img]), 24, 3],
      [m(['off', 0], ['len', 64 * 1024 + 1], ['data', img]), 30, 1],
      [m(['off', 0], ['len', img.length], ['upgrade', true], ['data', img]), 27, 6],
      [m(['len', img.length], ['data', img]), 20, 3],
    ];
    for (const [b, v2, v1] of cases) {
      assert.deepEqual(call(dev, 1, 1, b, W), { err: { group: 1, rc: v2 } });
      assert.deepEqual(call(dev, 1, 1, b, W1), { rc: v1 });
    }
  });

  test('offset echo: a wrong off is dropped and answered with the expected one; no upload → {off:0}', () => {
    const dev = createZephyrDevice(SMALL);
    assert.deepEqual(call(dev, 1, 1, m(['off', 100], ['data', Buffer.alloc(10)]), W), { off: 0 });
    const img = buildImage({ version: '2.0.0', bodySize: 2000 });
    call(dev, 1, 1, m(['off', 0], ['len', img.length], ['data', img.subarray(0, 200)]), W);
    assert.deepEqual(call(dev, 1, 1, m(['off', 300], ['data', img.subarray(300, 400)]), W), { off: 200 });
    assert.deepEqual(call(dev, 1, 1, m(['off', 200], ['data', img.subarray(200, 400)]), W), { off: 400 });
    assert.deepEqual(dev.uploadProgress()?.off, 400);
  });

  test('DATA_OVERRUN resets the context; so does any inspection error', () => {
    const dev = createZephyrDevice(SMALL);
    const img = buildImage({ version: '2.0.0', bodySize: 300 });
    call(dev, 1, 1, m(['off', 0], ['len', img.length], ['data', img.subarray(0, 100)]), W);
    assert.deepEqual(call(dev, 1, 1, m(['off', 100], ['data', Buffer.alloc(img.length)]), W), { err: { group: 1, rc: 31 } });
    assert.equal(dev.uploadProgress(), undefined);
    assert.deepEqual(call(dev, 1, 1, m(['off', 100], ['data', img.subarray(100, 200)]), W), { off: 0 });
    call(dev, 1, 1, m(['off', 0], ['len', img.length], ['data', img.subarray(0, 100)]), W);
    call(dev, 1, 1, m(['data', img.subarray(100, 200)]), W); // missing off → 20, context lost
    assert.equal(dev.uploadProgress(), undefined);
    // a decode failure (rc 3) does not touch the context
    call(dev, 1, 1, m(['off', 0], ['len', img.length], ['data', img.subarray(0, 100)]), W);
    assert.deepEqual(call(dev, 1, 1, m(['off', 'x']), W), { rc: 3 });
    assert.equal(dev.uploadProgress()?.off, 100);
  });

  test('resume by sha: the same sha on a new first chunk reports the progress; another sha restarts', () => {
    const dev = createZephyrDevice(SMALL);
    const img = buildImage({ version: '2.0.0', bodySize: 3000 });
    const sha = createHash('sha256').update(img).digest();
    const first = m(['off', 0], ['len', img.length], ['sha', sha], ['data', img.subarray(0, 500)]);
    call(dev, 1, 1, first, W);
    call(dev, 1, 1, m(['off', 500], ['data', img.subarray(500, 1000)]), W);
    assert.deepEqual(call(dev, 1, 1, first, W), { off: 1000 });
    assert.deepEqual(call(dev, 1, 1, m(['off', 0], ['len', img.length], ['sha', Buffer.from([1, 2])], ['data', img.subarray(0, 500)]), W), { off: 500 });
  });

  test('match: true with the full sha, false with a short one; the image check skips a repeated upload', () => {
    const dev = createZephyrDevice(SMALL);
    const img = buildImage({ version: '2.0.0', bodySize: 1500 });
    assert.equal(uploadAll(dev, img, 400).match, true);
    const sha = createHash('sha256').update(img).digest();
    const again = one(dev, req(1, 1, m(['off', 0], ['len', img.length], ['sha', sha], ['data', img.subarray(0, 400)]), W));
    assert.equal(payloadHex(again), `bf${t('off')}19${img.length.toString(16).padStart(4, '0')}${t('match')}f5ff`);
    const other = createZephyrDevice(SMALL);
    assert.equal(uploadAll(other, img, 400, sha.subarray(0, 8)).match, false);
    const noCheck = createZephyrDevice({ ...SMALL, imageCheck: false });
    assert.equal('match' in uploadAll(noCheck, img, 400), false);
  });

  test('legacy rc and verbose errors', () => {
    const dev = createZephyrDevice({ ...SMALL, legacyRc: true, verboseErr: true });
    const img = buildImage({ version: '2.0.0', bodySize: 500 });
    assert.equal(payloadHex(one(dev, req(1, 1, m(['off', 0], ['len', img.length], ['data', img.subarray(0, 100)]), W))), `bf${t('rc')}00${t('off')}1864ff`);
    assert.deepEqual(call(dev, 1, 1, m(['off', 0], ['len', 100], ['data', Buffer.alloc(32)]), W1), { rc: 1, rsn: 'magic mismatch' });
    assert.deepEqual(call(dev, 1, 1, m(['off', 0], ['len', 100], ['data', Buffer.alloc(32)]), W), { err: { group: 1, rc: 23 } });
  });

  test('no free slot while a test is pending; erase of a slot in use → 9 (v1 6); erase cancels the upload', () => {
    const dev = createZephyrDevice(SMALL);
    const img = buildImage({ version: '2.0.0', bodySize: 600 });
    uploadAll(dev, img);
    call(dev, 1, 0, m(['hash', state(dev)[1]!.hash as Buffer]), W);
    assert.deepEqual(call(dev, 1, 1, m(['off', 0], ['len', img.length], ['data', img]), W), { err: { group: 1, rc: 9 } });
    assert.deepEqual(call(dev, 1, 5, new OMap(), W), { err: { group: 1, rc: 9 } });
    assert.deepEqual(call(dev, 1, 5, m(['slot', 0]), W1), { rc: 6 });
    assert.deepEqual(call(dev, 1, 5, m(['slot', 7]), W), { err: { group: 1, rc: 14 } });
    const dev2 = createZephyrDevice(SMALL);
    uploadAll(dev2, img);
    call(dev2, 1, 1, m(['off', 0], ['len', img.length], ['data', img.subarray(0, 100)]), W);
    assert.deepEqual(call(dev2, 1, 5, new OMap(), W), {});
    assert.equal(dev2.uploadProgress(), undefined);
    assert.equal(dev2.slots()[1]!.version, undefined);
    assert.ok(dev2.readSlot(0, 1).every((b) => b === 0xff));
  });

  test('slot info; first chunk erase costs busy time', () => {
    const dev = createZephyrDevice({ ...SMALL, eraseMsPerPage: 10 });
    assert.equal(
      payloadHex(one(dev, req(1, 6))),
      `bf${t('images')}9fbf${t('image')}00${t('slots')}9fbf${t('slot')}00${t('size')}1a00010000ffbf${t('slot')}01${t('size')}1a00010000${t('upload_image_id')}00ffffffffff`,
    );
    const img = buildImage({ version: '2.0.0', bodySize: 9000 });
    uploadAll(dev, img);
    const step = dev.handle(req(1, 1, m(['off', 0], ['len', img.length], ['data', img.subarray(0, 100)]), W), 'm');
    assert.ok(step.busyMs >= 30, `erasing 3 pages takes time (${step.busyMs} ms)`);
  });
});

describe('§3.3–§3.8 other groups', () => {
  test('stat: show, list with rc 0, unknown group tagged 63 (v1 → header-only quirk)', () => {
    const dev = createZephyrDevice({ stats: { grp: { a: 1, b: 300 } } });
    assert.equal(payloadHex(one(dev, req(2, 0, m(['name', 'grp'])))), `bf${t('name')}${t('grp')}${t('fields')}bf${t('a')}01${t('b')}19012cffff`);
    assert.equal(payloadHex(one(dev, req(2, 1))), `bf${t('rc')}00${t('stat_list')}9f${t('grp')}ffff`);
    assert.deepEqual(call(dev, 2, 0, m(['name', 'nope'])), { err: { group: 63, rc: 3 } });
    const v1 = one(dev, req(2, 0, m(['name', 'nope']), { ver: 0 }));
    assert.equal(v1.length, 8, 'translated to EOK: a bare header');
    assert.deepEqual(call(dev, 2, 0, m(['name', ''])), { rc: 3 });
    assert.deepEqual(call(dev, 2, 0, m(['name', 'x'.repeat(32)])), { rc: 3 });
  });

  test('settings: read/write/delete/commit/load/save, limits and max_size', () => {
    const dev = createZephyrDevice({ settings: { 'app/name': 'sim' }, settingsValueLen: 4 });
    assert.equal(payloadHex(one(dev, req(3, 0, m(['name', 'app/name'])))), `bf${t('val')}43${Buffer.from('sim').toString('hex')}ff`);
    assert.deepEqual(call(dev, 3, 0, m(['name', 'app/name'], ['max_size', 2])), { val: Buffer.from('si') });
    assert.deepEqual(call(dev, 3, 0, m(['name', 'app/name'], ['max_size', 100])), { val: Buffer.from('sim'), max_size: 4 });
    assert.deepEqual(call(dev, 3, 0, m(['name', 'app/x'])), { err: { group: 3, rc: 3 } });
    assert.deepEqual(call(dev, 3, 0, m(['name', 'app/x']), { ver: 0 }), { rc: 5 });
    assert.deepEqual(call(dev, 3, 0, m(['name', 'zz/x'])), { err: { group: 3, rc: 5 } });
    assert.deepEqual(call(dev, 3, 0, m(['name', 'k'.repeat(32)])), { err: { group: 3, rc: 2 } });
    assert.deepEqual(call(dev, 3, 0, m(['name', 'k'.repeat(32)]), { ver: 0 }), { rc: 3 });
    assert.deepEqual(call(dev, 3, 0, m(['name', ''])), { rc: 3 });
    assert.deepEqual(call(dev, 3, 0, m(['name', 'app/m'], ['val', Buffer.from([1, 2])]), W), {});
    assert.deepEqual(call(dev, 3, 0, m(['name', 'app/m'])), { val: Buffer.from([1, 2]) });
    assert.deepEqual(call(dev, 3, 2, new OMap(), W), {});
    dev.reboot(); // not saved → gone
    assert.deepEqual(call(dev, 3, 0, m(['name', 'app/m'])), { err: { group: 3, rc: 3 } });
    call(dev, 3, 0, m(['name', 'app/m'], ['val', Buffer.from([9])]), W);
    assert.deepEqual(call(dev, 3, 3, new OMap(), W), {}); // save
    dev.reboot();
    assert.deepEqual(call(dev, 3, 0, m(['name', 'app/m'])), { val: Buffer.from([9]) });
    assert.deepEqual(call(dev, 3, 1, m(['name', 'app/m']), W), {}); // delete from storage
    assert.deepEqual(call(dev, 3, 3), {}); // load from storage
    assert.deepEqual(call(dev, 3, 0, m(['name', 'app/m'])), { err: { group: 3, rc: 3 } });
  });

  test('fs: upload, status, download with len on the first chunk and 340-byte chunks', () => {
    const dev = createZephyrDevice();
    const data = Buffer.alloc(1000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    assert.deepEqual(call(dev, 8, 0, m(['off', 0], ['name', '/lfs/a.bin'], ['data', data.subarray(0, 300)], ['len', 1000]), W), { off: 300 });
    assert.deepEqual(call(dev, 8, 0, m(['off', 300], ['name', '/lfs/a.bin'], ['data', data.subarray(300, 600)]), W), { off: 600 });
    assert.deepEqual(call(dev, 8, 0, m(['off', 600], ['name', '/lfs/a.bin'], ['data', data.subarray(600, 900)]), W), { off: 900 });
    assert.equal(dev.fs.state, 'upload');
    assert.deepEqual(call(dev, 8, 0, m(['off', 900], ['name', '/lfs/a.bin'], ['data', data.subarray(900)]), W), { off: 1000 });
    assert.equal(dev.fs.state, 'none', 'closed once off reaches len');
    assert.deepEqual(call(dev, 8, 1, m(['name', '/lfs/a.bin'])), { len: 1000 });
    const d0 = one(dev, req(8, 0, m(['off', 0], ['name', '/lfs/a.bin'])));
    assert.equal(payloadHex(d0), `bf${t('off')}00${t('data')}590154${data.subarray(0, 340).toString('hex')}${t('len')}1903e8ff`);
    assert.equal(d0.length, 370, 'fits the 384-byte buffer');
    assert.deepEqual(Object.keys(call(dev, 8, 0, m(['off', 340], ['name', '/lfs/a.bin']))), ['off', 'data']);
    assert.deepEqual(call(dev, 8, 0, m(['off', 5000], ['name', '/lfs/a.bin'])), { off: 5000, data: Buffer.alloc(0) });
    assert.ok(dev.files.get('/lfs/a.bin')!.equals(data));
  });

  test('fs offsets: append by resuming at the file size; mismatch → err 11 plus len, session closed', () => {
    const dev = createZephyrDevice({ files: { '/lfs/f': 'abc' } });
    assert.deepEqual(call(dev, 8, 0, m(['off', 3], ['name', '/lfs/f'], ['data', Buffer.from('de')]), W), { off: 5 });
    assert.equal(dev.files.get('/lfs/f')!.toString(), 'abcde');
    const bad = one(dev, req(8, 0, m(['off', 9], ['name', '/lfs/f'], ['data', Buffer.from('x')]), W));
    assert.equal(payloadHex(bad), `bf${t('err')}bf${t('group')}08${t('rc')}0bff${t('len')}05ff`);
    assert.deepEqual(call(dev, 8, 0, m(['off', 9], ['name', '/lfs/f'], ['data', Buffer.from('x')]), W1), { rc: 1 });
    // off 0 truncates an existing file before the first chunk
    call(dev, 8, 0, m(['off', 0], ['name', '/lfs/f'], ['data', Buffer.from('Z')], ['len', 1]), W);
    assert.equal(dev.files.get('/lfs/f')!.toString(), 'Z');
  });

  test('fs errors: names, mount points, directories, path length, missing len', () => {
    const dev = createZephyrDevice({ files: { '/lfs/d/x': '1' }, mountPoints: ['/lfs', '/ro'], readOnlyMounts: ['/ro'] });
    const up = (name: string): unknown => call(dev, 8, 0, m(['off', 0], ['name', name], ['data', Buffer.from('1')], ['len', 1]), W);
    assert.deepEqual(up('/nfs/a'), { err: { group: 8, rc: 14 } });
    assert.deepEqual(up('/lfs/nodir/a'), { err: { group: 8, rc: 14 } });
    assert.deepEqual(up('/ro/a'), { err: { group: 8, rc: 15 } });
    assert.deepEqual(up('lfs/a'), { err: { group: 8, rc: 2 } });
    assert.deepEqual(call(dev, 8, 1, m(['name', '/lfs/d'])), { err: { group: 8, rc: 4 } });
    assert.deepEqual(call(dev, 8, 1, m(['name', '/lfs/none'])), { err: { group: 8, rc: 3 } });
    assert.deepEqual(call(dev, 8, 1, m(['name', '/lfs/none']), { ver: 0 }), { rc: 5 });
    assert.deepEqual(call(dev, 8, 0, m(['off', 0], ['name', '/lfs/none'])), { err: { group: 8, rc: 3 } });
    assert.deepEqual(call(dev, 8, 1, m(['name', `/lfs/${'n'.repeat(60)}`])), { rc: 3 }, '65-byte path');
    assert.deepEqual(call(dev, 8, 1, m(['name', `/lfs/${'n'.repeat(59)}`])), { err: { group: 8, rc: 3 } }, '64-byte path is accepted');
    assert.deepEqual(call(dev, 8, 0, m(['off', 0], ['name', '/lfs/q'], ['data', Buffer.from('1')]), W), { rc: 3 });
    assert.deepEqual(call(dev, 8, 0, m(['name', '/lfs/q'])), { rc: 3 });
  });

  test('fs hash/checksum and supported types', () => {
    const dev = createZephyrDevice({ files: { '/lfs/h': '123456789', '/lfs/e': '' } });
    assert.equal(payloadHex(one(dev, req(8, 2, m(['name', '/lfs/h'])))), `bf${t('type')}${t('crc32')}${t('len')}09${t('output')}1acbf43926ff`);
    assert.deepEqual(call(dev, 8, 2, m(['name', '/lfs/h'], ['type', 'sha256'], ['off', 1], ['len', 3])), {
      type: 'sha256',
      off: 1,
      len: 3,
      output: createHash('sha256').update('234').digest(),
    });
    assert.deepEqual(call(dev, 8, 2, m(['name', '/lfs/h'], ['type', 'md5'])), { err: { group: 8, rc: 13 } });
    assert.deepEqual(call(dev, 8, 2, m(['name', '/lfs/h'], ['type', 'md5']), { ver: 0 }), { rc: 3 });
    assert.deepEqual(call(dev, 8, 2, m(['name', '/lfs/e'])), { err: { group: 8, rc: 16 } });
    assert.deepEqual(call(dev, 8, 2, m(['name', '/lfs/h'], ['off', 9])), { err: { group: 8, rc: 12 } });
    assert.deepEqual(call(dev, 8, 2, m(['name', '/lfs/h'], ['len', 0])), { rc: 3 });
    assert.equal(
      payloadHex(one(dev, req(8, 3))),
      `bf${t('types')}bf${t('crc32')}bf${t('format')}00${t('size')}04ff${t('sha256')}bf${t('format')}01${t('size')}1820ffffff`,
    );
  });

  test('fs context: another transport or path replaces it; close; idle close after 4 s', () => {
    let now = 0;
    const dev = createZephyrDevice({ now: () => now, files: { '/lfs/f': 'abcdef', '/lfs/big': Buffer.alloc(500) } });
    call(dev, 8, 0, m(['off', 0], ['name', '/lfs/n'], ['data', Buffer.from('12')], ['len', 10]), W);
    // same file from another transport: a new session starts from the current file size
    assert.deepEqual(body(one(dev, req(8, 0, m(['off', 2], ['name', '/lfs/n'], ['data', Buffer.from('34')]), W), 'udp')), { off: 4 });
    assert.deepEqual(call(dev, 8, 4, new OMap(), W), {});
    assert.equal(dev.fs.state, 'none');
    call(dev, 8, 0, m(['off', 4], ['name', '/lfs/n'], ['data', Buffer.from('5')]), W);
    now += 4000;
    call(dev, 8, 1, m(['name', '/lfs/n']));
    assert.equal(dev.fs.state, 'upload', 'status does not touch the context');
    call(dev, 8, 0, m(['off', 0], ['name', '/lfs/big']));
    assert.equal(dev.fs.state, 'download', 'a download replaces the upload session');
    call(dev, 8, 0, m(['off', 340], ['name', '/lfs/big']));
    assert.equal(dev.fs.state, 'none', 'closed at the end of the file');
    call(dev, 8, 0, m(['off', 0], ['name', '/lfs/big']));
    now += 4000;
    call(dev, 8, 1, m(['name', '/lfs/big']));
    assert.equal(dev.fs.state, 'download');
    call(dev, 8, 0, m(['off', 0], ['name', '/lfs/f']), { ver: 1 });
    assert.equal(dev.fs.state, 'none', 'idle-closed, then the small file is read to its end');
  });

  test('fs: restarting at off 0 inside an open upload session keeps counting (Zephyr quirk); the idle close resets it', () => {
    let now = 0;
    const dev = createZephyrDevice({ now: () => now });
    const first = m(['off', 0], ['name', '/lfs/r'], ['data', Buffer.from('ab')], ['len', 10]);
    assert.deepEqual(call(dev, 8, 0, first, W), { off: 2 });
    assert.deepEqual(call(dev, 8, 0, first, W), { off: 4 }, 'the session offset is not reset by off 0');
    assert.equal(dev.files.get('/lfs/r')!.toString(), 'ab', 'but the file was truncated and rewritten');
    now += 4000;
    assert.deepEqual(call(dev, 8, 0, first, W), { off: 2 });
  });

  test('shell: built-in commands, unknown → ret −8, empty → err 3, too long → err 2, legacy rc key', () => {
    const dev = createZephyrDevice();
    assert.equal(payloadHex(one(dev, req(9, 0, m(['argv', ['echo', 'hi']]), W))), `bf${t('o')}${t('hi\r\n')}${t('ret')}00ff`);
    assert.deepEqual(call(dev, 9, 0, m(['argv', ['kernel', 'version']]), W), { o: 'Zephyr version 4.2.0\r\n', ret: 0 });
    assert.deepEqual(call(dev, 9, 0, m(['argv', ['nosuch']]), W), { o: 'nosuch: command not found\r\n', ret: -8 });
    assert.match(call(dev, 9, 0, m(['argv', ['help']]), W).o as string, /kernel/);
    assert.deepEqual(call(dev, 9, 0, m(['argv', []]), W), { err: { group: 9, rc: 3 } });
    assert.deepEqual(call(dev, 9, 0, m(['argv', []]), W1), { rc: 3 });
    assert.deepEqual(call(dev, 9, 0, m(['argv', ['x'.repeat(256)]]), W), { err: { group: 9, rc: 2 } });
    assert.deepEqual(call(dev, 9, 0, m(['argv', 'echo']), W), { rc: 3 });
    assert.deepEqual(call(dev, 9, 0, m(['argv', ['echo', 'a', 5, 'b']]), W), { o: 'a\r\n', ret: 0 }, 'a non-string ends the line');
    assert.deepEqual(call(createZephyrDevice({ shellLegacyRc: true }), 9, 0, m(['argv', ['nosuch']]), W).rc, -8);
  });

  test('enum: count, list in registration order, single with end, details, index too large', () => {
    const dev = createZephyrDevice();
    assert.deepEqual(call(dev, 10, 0), { count: 8 });
    assert.deepEqual(call(dev, 10, 1), { groups: [10, 8, 1, 0, 3, 9, 2, 63] });
    assert.deepEqual(call(dev, 10, 2), { group: 10 });
    assert.deepEqual(call(dev, 10, 2, m(['index', 7])), { group: 63, end: true });
    assert.deepEqual(call(dev, 10, 2, m(['index', 8])), { err: { group: 10, rc: 4 } });
    assert.deepEqual(call(dev, 10, 2, m(['index', 8]), { ver: 0 }), { rc: 1 });
    assert.deepEqual(call(dev, 10, 3, m(['groups', [1, 63]])), {
      groups: [
        { group: 1, name: 'img mgmt', handlers: 7 },
        { group: 63, name: 'zephyr basic mgmt', handlers: 1 },
      ],
    });
    assert.deepEqual(call(dev, 10, 3, m(['groups', ['x']])), { rc: 3 });
    const few = createZephyrDevice({ features: { fs: false, shell: false, stat: false, settings: false, zephyrBasic: false } });
    assert.deepEqual(call(few, 10, 1), { groups: [10, 1, 0] });
    assert.equal(call(few, 8, 1, m(['name', '/lfs/x'])).rc, 8);
  });

  test('zephyr basic: storage erase, faults and the EOK translation quirk', () => {
    const dev = createZephyrDevice({ settings: { 'app/a': 'x' } });
    assert.deepEqual(call(dev, 63, 0, new OMap(), W), {});
    dev.reboot();
    assert.deepEqual(call(dev, 3, 0, m(['name', 'app/a'])), { err: { group: 3, rc: 3 } });
    const open = createZephyrDevice({ storageFault: 'open' });
    assert.deepEqual(call(open, 63, 0, new OMap(), W), { err: { group: 63, rc: 2 } });
    assert.deepEqual(call(open, 63, 0, new OMap(), W1), { rc: 5 });
    const erase = createZephyrDevice({ storageFault: 'erase' });
    assert.deepEqual(call(erase, 63, 0, new OMap(), W), { err: { group: 63, rc: 4 } });
    const quirk = one(erase, req(63, 0, new OMap(), { ...W1, seq: 9 }));
    assert.equal(quirk.toString('hex'), '03000000003f0900', 'translated to rc 0: header only');
  });
});

describe('robustness', () => {
  test('random garbage never throws and every answer is a well-formed SMP packet', () => {
    const dev = createZephyrDevice({ slotSize: 64 * 1024 });
    let seed = 1;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(rnd() * 60);
      const p = Buffer.alloc(len);
      for (let k = 0; k < len; k++) p[k] = Math.floor(rnd() * 256);
      if (len >= 8 && rnd() < 0.7) {
        p[0] = (p[0]! & 0x0b) | 0; // mostly valid versions/ops
        p[4] = 0;
        p[5] = [0, 1, 2, 3, 8, 9, 10, 63][Math.floor(rnd() * 8)]!;
        p[7] = Math.floor(rnd() * 9);
        p.writeUInt16BE(Math.min(len - 8, Math.floor(rnd() * 64)), 2);
      }
      const step = dev.handle(p, 'memory');
      for (const r of step.responses) {
        const h = decodeHeader(r);
        assert.equal(h.length, r.length - 8);
        if (h.length > 0) decodeCbor(r.subarray(8));
      }
    }
  });
});
