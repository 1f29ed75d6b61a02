/**
 * The simulated MCUboot serial-recovery core (PROTOCOL.md §8), byte by byte: v1 `rc` answers,
 * upload into the primary slot with short `off` on unaligned chunks and a padded final chunk,
 * the image list of valid images, set state, slot info, and what MCUboot silently ignores.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildPacket, decodeHeader, Op, SMP_HEADER_SIZE } from '../src/codec/header.js';
import { decodeCbor } from '../src/codec/cbor.js';
import {
  createMcubootDevice,
  createZephyrDevice,
  buildImage,
  encodeCborValue,
  omap,
  OMap,
  type McubootDevice,
  type McubootDeviceOptions,
  type CborValue,
} from '../src/sim/device/index.js';

const t = (s: string): string => {
  const b = Buffer.from(s, 'utf8');
  return (0x60 + b.length).toString(16) + b.toString('hex');
};
const m = (...pairs: Array<[string, CborValue | undefined]>): OMap => omap(...pairs);

function req(group: number, id: number, body: OMap | Buffer = new OMap(), o: { op?: number; ver?: number; seq?: number } = {}): Buffer {
  const payload = body instanceof OMap ? encodeCborValue(body, { definite: true }) : body;
  return buildPacket({ op: o.op ?? Op.WRITE, version: o.ver ?? 0, flags: 0, group, seq: o.seq ?? 0, id }, payload);
}
function one(dev: McubootDevice, pkt: Buffer): Buffer {
  const step = dev.handle(pkt, 'serial');
  assert.equal(step.responses.length, 1);
  return step.responses[0]!;
}
const hexOf = (r: Buffer): string => r.subarray(SMP_HEADER_SIZE).toString('hex');
const body = (r: Buffer): Record<string, unknown> => decodeCbor(r.subarray(SMP_HEADER_SIZE)) as Record<string, unknown>;
const call = (dev: McubootDevice, g: number, id: number, b: OMap | Buffer = new OMap(), o = {}): Record<string, unknown> => body(one(dev, req(g, id, b, o)));

const SMALL: McubootDeviceOptions = { slotSize: 32 * 1024 };
/** A minimal recovery build: every optional command of boot_serial off (the simulator's default is a full build). */
const MINIMAL: McubootDeviceOptions = { imageState: false, slotInfo: false, mcumgrParams: false };

describe('limits and framing-level behaviour', () => {
  test('limits: 1024-byte receive buffer, one buffer, 8 lines of 128, console/raw/cobs', () => {
    assert.deepEqual(createMcubootDevice().limits, { netbufSize: 1024, netbufCount: 1, lineBufSize: 128, lineBufCount: 8, encodings: ['console', 'raw', 'cobs'], rawInputTimeoutMs: 3000 });
  });

  test('a v2 request is answered with version bits 1 but v1 content; op + 1; flags 0', () => {
    const dev = createMcubootDevice();
    const r = one(dev, buildPacket({ op: Op.READ, version: 1, flags: 7, group: 0, seq: 9, id: 4 }, encodeCborValue(new OMap(), { definite: true })));
    assert.deepEqual(decodeHeader(r), { op: 1, version: 1, flags: 0, length: 6, group: 0, seq: 9, id: 4 });
    assert.equal(hexOf(r), `bf${t('rc')}08ff`);
  });

  test('ignored without an answer: header length smaller than the payload, op not READ/WRITE, short packets, > maxReceive', () => {
    const dev = createMcubootDevice();
    const p = req(0, 1);
    const shorter = Buffer.from(p);
    shorter.writeUInt16BE(0, 2);
    assert.deepEqual(dev.handle(shorter, 's').responses, []);
    assert.deepEqual(dev.handle(req(0, 1, new OMap(), { op: Op.READ_RSP }), 's').responses, []);
    assert.deepEqual(dev.handle(p.subarray(0, 7), 's').responses, []);
    assert.deepEqual(dev.handle(Buffer.concat([req(0, 1), Buffer.alloc(1100)]), 's').responses, []);
    // a header length larger than the payload is accepted
    const longer = Buffer.from(p);
    longer.writeUInt16BE(50, 2);
    assert.equal(dev.handle(longer, 's').responses.length, 1);
  });

  test('one request per packet: a second message in the same packet is not processed', () => {
    const dev = createMcubootDevice();
    const p = Buffer.concat([req(0, 1), req(0, 1)]);
    // header length (1) < payload (1 + 9): MCUboot drops the whole packet
    assert.deepEqual(dev.handle(p, 's').responses, []);
  });
});

describe('os group and the rest', () => {
  test('console echo control {"rc":0}; unsupported commands and groups {"rc":8}', () => {
    const dev = createMcubootDevice(MINIMAL);
    assert.equal(hexOf(one(dev, req(0, 1))), `bf${t('rc')}00ff`);
    assert.equal(hexOf(one(dev, req(0, 7))), `bf${t('rc')}08ff`);
    assert.equal(hexOf(one(dev, req(1, 5))), `bf${t('rc')}08ff`);
    assert.equal(hexOf(one(dev, req(8, 0))), `bf${t('rc')}08ff`);
    assert.equal(hexOf(one(dev, req(63, 0))), `bf${t('rc')}08ff`);
    assert.equal(hexOf(one(dev, req(0, 6, new OMap(), { op: Op.READ }))), `bf${t('rc')}08ff`);
  });

  test('echo: {"r": d}; missing d, a key after d, or non-text d → {"rc":3}; disabled → 8', () => {
    const dev = createMcubootDevice();
    assert.equal(hexOf(one(dev, req(0, 0, m(['d', 'hi'])))), `bf${t('r')}${t('hi')}ff`);
    assert.equal(call(dev, 0, 0, m(['x', 1], ['d', 'a'])).r, 'a');
    assert.deepEqual(call(dev, 0, 0, m(['x', 1])), { rc: 3 });
    assert.deepEqual(call(dev, 0, 0, m(['d', 'a'], ['x', 1])), { rc: 3 });
    assert.deepEqual(call(dev, 0, 0, m(['d', 5])), { rc: 3 });
    assert.deepEqual(call(createMcubootDevice({ echo: false }), 0, 0, m(['d', 'a'])), { rc: 8 });
  });

  test('reset {"rc":0} then reboot after 250 ms; a busy hook answers 10', () => {
    const dev = createMcubootDevice();
    const step = dev.handle(req(0, 5), 's');
    assert.equal(hexOf(step.responses[0]!), `bf${t('rc')}00ff`);
    assert.equal(step.resetAfterMs, 250);
    const busy = createMcubootDevice({ resetBusy: true }).handle(req(0, 5), 's');
    assert.deepEqual(body(busy.responses[0]!), { rc: 10 });
    assert.equal(busy.resetAfterMs, undefined);
  });

  test('mcumgr params when enabled: buf_size = receive size, buf_count 1', () => {
    const dev = createMcubootDevice({ mcumgrParams: true, maxReceive: 512 });
    assert.equal(hexOf(one(dev, req(0, 6, new OMap(), { op: Op.READ }))), `bf${t('buf_size')}190200${t('buf_count')}01ff`);
  });

  test('storage erase when enabled: {"rc":0}, {"rc":1} on flash failure; READ → 8', () => {
    const dev = createMcubootDevice({ storageErase: true });
    dev.flash.storage[0] = 0;
    assert.equal(hexOf(one(dev, req(63, 0))), `bf${t('rc')}00ff`);
    assert.equal(dev.flash.storage[0], 0xff);
    assert.deepEqual(call(dev, 63, 0, new OMap(), { op: Op.READ }), { rc: 8 });
    dev.flash.storageFault = 'erase';
    assert.deepEqual(call(dev, 63, 0), { rc: 1 });
  });
});

describe('image upload into the primary slot', () => {
  test('{"rc":0,"off":N}; short off on unaligned chunks; the final chunk is padded', () => {
    const dev = createMcubootDevice({ ...SMALL, initialImage: null });
    const img = buildImage({ version: '2.0.0', bodySize: 1003 - 32 - 40 });
    assert.equal(img.length, 1003);
    let r = one(dev, req(1, 1, m(['image', 0], ['len', img.length], ['off', 0], ['data', img.subarray(0, 101)])));
    assert.equal(hexOf(r), `bf${t('rc')}00${t('off')}1860ff`, 'off 96: 5 unaligned bytes dropped');
    let off = 96;
    while (off < img.length) {
      const chunk = img.subarray(off, off + 203);
      r = one(dev, req(1, 1, m(['off', off], ['data', chunk])));
      const want: number = off + chunk.length === img.length ? img.length : off + chunk.length - (chunk.length % 8);
      assert.deepEqual(body(r), { rc: 0, off: want });
      off = want;
    }
    assert.equal(off, 1003);
    const slot = dev.readSlot(0, 0);
    assert.ok(slot.subarray(0, img.length).equals(img));
    assert.ok(slot.subarray(img.length, 1008).every((b) => b === 0xff), 'padding with the erased value');
    assert.equal(dev.slots()[0]!.valid, true);
    assert.equal(dev.slots()[0]!.version, '2.0.0');
  });

  test('write alignment 4', () => {
    const dev = createMcubootDevice({ ...SMALL, writeAlign: 4 });
    assert.deepEqual(call(dev, 1, 1, m(['len', 1000], ['off', 0], ['data', Buffer.alloc(103, 1)])), { rc: 0, off: 100 });
  });

  test('wrong offset → {"rc":0,"off":expected}; overrun, len > slot, missing off/data → {"rc":3}', () => {
    const dev = createMcubootDevice(SMALL);
    assert.deepEqual(call(dev, 1, 1, m(['off', 64], ['data', Buffer.alloc(8)])), { rc: 0, off: 0 });
    call(dev, 1, 1, m(['len', 100], ['off', 0], ['data', Buffer.alloc(40)]));
    assert.deepEqual(call(dev, 1, 1, m(['off', 8], ['data', Buffer.alloc(8)])), { rc: 0, off: 40 });
    assert.deepEqual(call(dev, 1, 1, m(['off', 40], ['data', Buffer.alloc(61)])), { rc: 3 });
    assert.deepEqual(call(dev, 1, 1, m(['len', 32 * 1024 + 1], ['off', 0], ['data', Buffer.alloc(40)])), { rc: 3 });
    assert.deepEqual(call(dev, 1, 1, m(['off', 0], ['data', Buffer.alloc(40)])), { rc: 3 }, 'no len at off 0');
    assert.deepEqual(call(dev, 1, 1, m(['len', 100], ['data', Buffer.alloc(40)])), { rc: 3 });
    assert.deepEqual(call(dev, 1, 1, m(['len', 100], ['off', 0])), { rc: 3 });
    assert.deepEqual(call(dev, 1, 1, m(['len', 100], ['off', 0], ['image', 5], ['data', Buffer.alloc(8)])), { rc: 5 });
    assert.deepEqual(call(createMcubootDevice({ ...SMALL, validatePrimaryOnce: true }), 1, 1, m(['len', 32 * 1024], ['off', 0], ['data', Buffer.alloc(8)])), { rc: 3 });
  });

  test('no header check, sha/upgrade ignored; off 0 always restarts and erases the whole slot', () => {
    const dev = createMcubootDevice({ ...SMALL, eraseMsPerPage: 5 });
    const step = dev.handle(req(1, 1, m(['len', 64], ['off', 0], ['sha', Buffer.alloc(40)], ['upgrade', true], ['data', Buffer.alloc(64, 0x11)])), 's');
    assert.deepEqual(body(step.responses[0]!), { rc: 0, off: 64 });
    assert.ok(step.busyMs >= 40, 'eight 4 KiB pages erased');
    assert.equal(dev.slots()[0]!.valid, false);
    assert.ok(dev.readSlot(0, 0).subarray(64).every((b) => b === 0xff));
  });

  test('image list: only valid images, field order, flags only with the image-state option', () => {
    const dev = createMcubootDevice({ ...SMALL, ...MINIMAL });
    const hash = dev.slots()[0]!.hash!;
    assert.equal(hexOf(one(dev, req(1, 0, new OMap(), { op: Op.READ }))), `bf${t('images')}9fbf${t('slot')}00${t('hash')}5820${hash}${t('version')}${t('1.0.0')}ffffff`);
    const st = createMcubootDevice({ ...SMALL, imageState: true });
    assert.equal(
      hexOf(one(st, req(1, 0, new OMap(), { op: Op.READ }))),
      `bf${t('images')}9fbf${t('bootable')}f5${t('confirmed')}f5${t('active')}f5${t('slot')}00${t('hash')}5820${hash}${t('version')}${t('1.0.0')}ffffff`,
    );
    // an invalid image (bad hash) is not listed
    const bad = createMcubootDevice({ ...SMALL, initialImage: buildImage({ badHash: true, bodySize: 100 }) });
    assert.deepEqual(call(bad, 1, 0, new OMap(), { op: Op.READ }), { images: [] });
    assert.deepEqual(call(createMcubootDevice({ ...SMALL, ...MINIMAL, imageHash: false }), 1, 0, new OMap(), { op: Op.READ }), { images: [{ slot: 0, version: '1.0.0' }] });
  });

  test('set state: disabled → 8; hash length → 3; unknown hash → 5; any hash (even the primary\'s) schedules the secondary; a scheduled slot is left as it is', () => {
    assert.deepEqual(call(createMcubootDevice({ ...SMALL, ...MINIMAL }), 1, 0, m(['confirm', true])), { rc: 8 });
    const dev = createMcubootDevice({ ...SMALL, imageState: true });
    dev.flash.program(1, buildImage({ version: '2.0.0', bodySize: 500 }));
    assert.deepEqual(call(dev, 1, 0, m(['hash', Buffer.alloc(31)])), { rc: 3 });
    assert.deepEqual(call(dev, 1, 0, m(['hash', Buffer.alloc(32)])), { rc: 5 });
    // bs_set → boot_set_pending_multi: the primary's hash marks the secondary for a test swap
    const list = call(dev, 1, 0, m(['hash', Buffer.from(dev.slots()[0]!.hash!, 'hex')], ['confirm', false])).images as Array<Record<string, unknown>>;
    const flags = (l: Array<Record<string, unknown>>): unknown[] => l.map((e) => [e.slot, e.version, Object.keys(e).filter((k) => e[k] === true).join(',')]);
    assert.deepEqual(flags(list), [
      [0, '1.0.0', 'bootable,confirmed'],
      [1, '2.0.0', 'bootable,pending'],
    ]);
    const again = call(dev, 1, 0, m(['hash', Buffer.from(dev.slots()[1]!.hash!, 'hex')], ['confirm', true])).images as Array<Record<string, unknown>>;
    assert.deepEqual(flags(again), flags(list), 'magic already good: boot_set_next leaves the test request as it is');
  });

  test('slot info: sizes and upload_image_id; a WRITE gets the rc 8 answer and then a second packet', () => {
    const dev = createMcubootDevice({ ...SMALL, slotInfo: true, maxImageSize: 30000 });
    const expected = `bf${t('images')}9fbf${t('image')}00${t('slots')}9fbf${t('slot')}00${t('size')}19 8000ffbf${t('slot')}01${t('size')}198000${t('upload_image_id')}00ff ff${t('max_image_size')}197530ffffff`.replace(/ /g, '');
    assert.equal(hexOf(one(dev, req(1, 6, new OMap(), { op: Op.READ }))), expected);
    const step = dev.handle(req(1, 6, new OMap(), { op: Op.WRITE, seq: 3 }), 's');
    assert.equal(step.responses.length, 2);
    assert.equal(step.responses[0]!.toString('hex'), `030000060001030 6bf${t('rc')}08ff`.replace(/ /g, ''));
    const second = step.responses[1]!;
    assert.equal(second[0], 4, 'op incremented twice');
    assert.equal(second.readUInt16BE(4), 0x0100, 'group bytes swapped back');
    assert.equal(hexOf(second), `bf${t('rc')}08ff${expected}`);
    assert.deepEqual(call(createMcubootDevice({ ...SMALL, ...MINIMAL }), 1, 6, new OMap(), { op: Op.READ }), { rc: 8 }, 'off in a minimal build');
  });
});

describe('shared flash with the Zephyr personality', () => {
  test('an image uploaded in recovery boots when the application comes up', () => {
    const app = createZephyrDevice({ slotSize: 32 * 1024, appBodySize: 1000 });
    const boot = createMcubootDevice({ flash: app.flash });
    const img = buildImage({ version: '4.0.0', bodySize: 900 });
    let off = 0;
    while (off < img.length) {
      const b = off === 0 ? m(['len', img.length], ['off', 0], ['data', img.subarray(0, 250)]) : m(['off', off], ['data', img.subarray(off, off + 250)]);
      off = call(boot, 1, 1, b).off as number;
    }
    app.reboot();
    assert.equal(app.halted, false);
    assert.equal(app.slots()[0]!.version, '4.0.0');
  });

  test('a broken primary halts the application (MCUboot finds nothing to boot)', () => {
    const app = createZephyrDevice({ slotSize: 32 * 1024, appBodySize: 1000 });
    const boot = createMcubootDevice({ flash: app.flash });
    call(boot, 1, 1, m(['len', 64], ['off', 0], ['data', Buffer.alloc(64, 1)]));
    app.reboot();
    assert.equal(app.halted, true);
    assert.deepEqual(app.handle(req(0, 0, m(['d', 'x']), { ver: 1, op: Op.READ }), 'm').responses, []);
  });
});
