/**
 * One request script, run against the simulator over memory, UDP and a PTY (console encoding):
 * each step sends SMP request bytes and asserts the answer's header, its decoded CBOR and its
 * encoding style (indefinite maps, as zcbor writes them without ZCBOR_CANONICAL). It covers every
 * MCUboot serial-recovery option on and off (mcu-tools/mcuboot 2d4bacc3, boot/boot_serial) and the
 * Zephyr points of issue #15 (os datetime, fs supported hash, settings/enum/stat errors in v2 and
 * their v1 translations, a full file system, buffer knobs reaching `os mcumgr params`).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import dgram from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildPacket, Op, SMP_HEADER_SIZE } from '../src/codec/header.js';
import { decodeCbor } from '../src/codec/cbor.js';
import { createConsoleDecoder, encodeConsole, encodeRaw } from '../src/codec/index.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../src/sim/simulator.js';
import { ptyAvailable } from '../src/sim/pty.js';
import { encodeCborValue, omap, buildImage, type McubootBoard, type McubootBoardOptions } from '../src/sim/device/index.js';

/** Sends one request and returns the answer packets that arrive for it (none when the device is silent). */
interface Wire {
  ask(pkt: Buffer, waitMs?: number): Promise<Buffer[]>;
  close(): Promise<void>;
}

function collector(): { push(p: Buffer): void; take(n: number, ms: number): Promise<Buffer[]> } {
  const got: Buffer[] = [];
  let wake: (() => void) | undefined;
  return {
    push(p) {
      got.push(p);
      wake?.();
    },
    async take(n, ms) {
      const until = Date.now() + ms;
      while (got.length < n && Date.now() < until) {
        await Promise.race([new Promise<void>((r) => (wake = r)), sleep(Math.max(1, until - Date.now()))]);
      }
      return got.splice(0, got.length);
    },
  };
}

async function open(kind: 'memory' | 'udp' | 'pty', opts: SimulatorOptions): Promise<{ sim: Simulator; wire: Wire }> {
  const sim = await startSimulator({ transport: kind, bootMs: 20, ...(kind === 'pty' ? { encoding: 'console', baudRate: 0 } : {}), ...opts });
  const c = collector();
  let send: (p: Buffer) => void;
  let close: () => Promise<void>;
  if (kind === 'memory') {
    const t = sim.transport!;
    t.on('packet', (p) => c.push(Buffer.from(p)));
    send = (p) => void t.send(p);
    close = () => t.close();
  } else if (kind === 'udp') {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const [host, port] = /^udp:([^:]+):(\d+)$/.exec(sim.connection)!.slice(1) as [string, string];
    sock.on('message', (m) => c.push(m));
    send = (p) => sock.send(p, Number(port), host);
    close = () => new Promise<void>((r) => sock.close(() => r()));
  } else {
    const path = /^serial:([^?]+)\?/.exec(sim.connection)![1]!;
    const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
    const dec = createConsoleDecoder();
    let open = true;
    void (async () => {
      const b = Buffer.alloc(4096);
      while (open) {
        const n = await new Promise<number>((res) => fs.read(fd, b, 0, b.length, null, (e, k) => res(e ? 0 : k)));
        if (n === 0) await sleep(2);
        else for (const p of dec.push(b.subarray(0, n))) c.push(Buffer.from(p));
      }
    })();
    send = (p) => fs.writeSync(fd, encodeConsole(p, 'plain'));
    close = async () => {
      open = false;
      await sleep(5);
      fs.closeSync(fd);
    };
  }
  return {
    sim,
    wire: {
      async ask(pkt, waitMs) {
        send(pkt);
        return c.take(waitMs === undefined ? 1 : Infinity, waitMs ?? 3000);
      },
      async close() {
        await close();
        await sim.close();
      },
    },
  };
}

let seq = 0;
/** A request: v1 (version 0) or v2, map encoded definite as clients do. */
function req(op: number, group: number, id: number, body: Record<string, unknown> = {}, version: 0 | 1 = 1): Buffer {
  const m = omap(...(Object.entries(body) as Array<[string, never]>));
  return buildPacket({ op, version, flags: 0, group, seq: seq++ & 0xff, id }, encodeCborValue(m, { definite: true }));
}

/** The answer's body, checked for op + 1, version, group/id, and an indefinite-length top map. */
function body(rsp: Buffer | undefined, q: Buffer): unknown {
  assert.ok(rsp, 'an answer');
  assert.equal(rsp[0]! & 7, (q[0]! & 7) + 1, 'op + 1');
  assert.equal((rsp[0]! >> 3) & 3, (q[0]! >> 3) & 3, 'the request\'s version');
  assert.equal(rsp.readUInt16BE(4), q.readUInt16BE(4), 'group');
  assert.equal(rsp[7], q[7], 'command id');
  const payload = rsp.subarray(SMP_HEADER_SIZE);
  assert.equal(payload.length, rsp.readUInt16BE(2), 'length field');
  if (payload.length === 0) return undefined;
  assert.equal(payload[0], 0xbf, `an indefinite-length map (zcbor without ZCBOR_CANONICAL), got ${payload.toString('hex')}`);
  return decodeCbor(payload);
}

async function ask(wire: Wire, q: Buffer): Promise<unknown> {
  const r = await wire.ask(q);
  assert.equal(r.length, 1, 'one answer');
  return body(r[0], q);
}

const KINDS = ptyAvailable() ? (['memory', 'udp', 'pty'] as const) : (['memory', 'udp'] as const);
const SLOT = 32 * 1024;

// ------------------------------------------------------------------ MCUboot serial recovery

const FULL: McubootBoardOptions = { slotSize: SLOT };
const MINIMAL: McubootBoardOptions = { slotSize: SLOT, echo: false, mcumgrParams: false, slotInfo: false, imageState: false, imageHash: false };

/** The MCUboot steps: each names the option it shows and what a full and a minimal build answer. */
async function mcubootScript(wire: Wire, board: McubootBoard, full: boolean): Promise<void> {
  const hash = Buffer.from(board.slots()[0]!.hash!, 'hex');
  // BOOT_MGMT_ECHO (boot_serial.c bs_echo)
  assert.deepEqual(await ask(wire, req(Op.READ, 0, 0, { d: 'hi' }, 0)), full ? { r: 'hi' } : { rc: 8 });
  // An echo that does not fit bs_obuf (BOOT_SERIAL_OUT_MAX: 212 bytes full, 128 minimal) → ENOMEM
  assert.deepEqual(await ask(wire, req(Op.READ, 0, 0, { d: 'x'.repeat(150) }, 0)), full ? { r: 'x'.repeat(150) } : { rc: 8 });
  if (full) assert.deepEqual(await ask(wire, req(Op.READ, 0, 0, { d: 'x'.repeat(210) }, 0)), { rc: 2 });
  // BOOT_MGMT_MCUMGR_PARAMS (bs_mcumgr_params): the receive size, one buffer
  assert.deepEqual(await ask(wire, req(Op.READ, 0, 6, {}, 0)), full ? { buf_size: 1024, buf_count: 1 } : { rc: 8 });
  // Console echo control is always answered (how clients tell recovery from an application)
  assert.deepEqual(await ask(wire, req(Op.WRITE, 0, 1, {}, 0)), { rc: 0 });
  // BOOT_SERIAL_IMG_GRP_SLOT_INFO (bs_slot_info)
  assert.deepEqual(
    await ask(wire, req(Op.READ, 1, 6, {}, 0)),
    full ? { images: [{ image: 0, slots: [{ slot: 0, size: SLOT }, { slot: 1, size: SLOT, upload_image_id: 0 }] }] } : { rc: 8 },
  );
  // Image list: flags with BOOT_SERIAL_IMG_GRP_IMAGE_STATE, hash with BOOT_SERIAL_IMG_GRP_HASH
  const entry = full ? { bootable: true, confirmed: true, active: true, slot: 0, hash: new Uint8Array(hash), version: '1.0.0' } : { slot: 0, version: '1.0.0' };
  const list = (await ask(wire, req(Op.READ, 1, 0, {}, 0))) as { images: Array<Record<string, unknown>> };
  assert.deepEqual(list.images.map((e) => ({ ...e, ...(e.hash ? { hash: new Uint8Array(e.hash as Uint8Array) } : {}) })), [entry]);
  // Set state (bs_set): wrong hash length → EINVAL, unknown hash → ENOENT; without the option ENOTSUP
  assert.deepEqual(await ask(wire, req(Op.WRITE, 1, 0, { hash: Buffer.alloc(31), confirm: true }, 0)), full ? { rc: 3 } : { rc: 8 });
  assert.deepEqual(await ask(wire, req(Op.WRITE, 1, 0, { hash: Buffer.alloc(32), confirm: true }, 0)), full ? { rc: 5 } : { rc: 8 });
}

describe('MCUboot serial recovery: every option on (the default) and off', () => {
  for (const kind of KINDS) {
    for (const full of [true, false]) {
      test(`${kind}, ${full ? 'full build' : 'minimal build'}`, async () => {
        const { sim, wire } = await open(kind, { personality: 'mcuboot', device: full ? FULL : MINIMAL });
        try {
          await mcubootScript(wire, sim.device as McubootBoard, full);
        } finally {
          await wire.close();
        }
      });
    }
  }

  test('BOOT_SERIAL_MAX_RECEIVE_SIZE: one knob, answered by params and enforced by the link', async () => {
    const { wire } = await open('memory', { personality: 'mcuboot', limits: { netbufSize: 512 } });
    try {
      assert.deepEqual(await ask(wire, req(Op.READ, 0, 6, {}, 0)), { buf_size: 512, buf_count: 1 });
      assert.deepEqual(await wire.ask(req(Op.READ, 0, 0, { d: 'y'.repeat(520) }, 0), 300), [], 'a packet above the receive size gets no answer');
    } finally {
      await wire.close();
    }
  });

  const ptyTest = ptyAvailable() ? test : test.skip;
  ptyTest('BOOT_SERIAL_RAW_PROTOCOL_INPUT_TIMEOUT: a stalled partial packet is dropped with it, kept without it', async () => {
    for (const on of [true, false]) {
      const sim = await startSimulator({
        personality: 'mcuboot',
        transport: 'pty',
        encoding: 'raw',
        baudRate: 0,
        bootMs: 0,
        device: { slotSize: SLOT, rawInputTimeout: on, rawInputTimeoutMs: 40 },
      });
      const fd = fs.openSync(/^serial:([^?]+)\?/.exec(sim.connection)![1]!, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
      try {
        const q = buildPacket({ op: Op.WRITE, version: 0, flags: 0, group: 0, seq: 0x77, id: 1 }, Buffer.from([0xa0]));
        fs.writeSync(fd, Buffer.from([0x02, 0x00, 0x00])); // a stray start of a header
        await sleep(150);
        fs.writeSync(fd, encodeRaw(q));
        const got: Buffer[] = [];
        const b = Buffer.alloc(256);
        for (let i = 0; i < 100 && got.length === 0; i++) {
          const n = await new Promise<number>((res) => fs.read(fd, b, 0, b.length, null, (e, k) => res(e ? 0 : k)));
          if (n > 0) got.push(Buffer.from(b.subarray(0, n)));
          else await sleep(3);
        }
        const all = Buffer.concat(got);
        if (on) assert.deepEqual(body(all, q), { rc: 0 }, 'the stray bytes expired; the request is answered');
        else assert.ok(all.length < 8 || all[6] !== 0x77, 'the stray bytes stay in front of the request, which is misread: no answer to it');
      } finally {
        fs.closeSync(fd);
        await sim.close();
      }
    }
  });
});

describe('a board: MCUboot recovery, then the application in the primary slot after a reset', () => {
  test('a recovery upload and a reset bring up the Zephyr application running that image', async () => {
    const { sim, wire } = await open('memory', { personality: 'mcuboot', device: { slotSize: SLOT } });
    try {
      const board = sim.device as McubootBoard;
      const img = buildImage({ version: '2.3.4', bodySize: 3000 });
      for (let off = 0; off < img.length; off += 512) {
        const chunk = img.subarray(off, off + 512);
        const r = (await ask(wire, req(Op.WRITE, 1, 1, { ...(off === 0 ? { len: img.length } : {}), off, data: chunk }, 0))) as { off: number };
        assert.ok(r.off > off);
      }
      assert.equal(sim.personality, 'mcuboot');
      assert.deepEqual(await ask(wire, req(Op.WRITE, 0, 5, {}, 0)), { rc: 0 });
      await sleep(400); // reset after 250 ms, then boot silence
      assert.equal(sim.personality, 'zephyr');
      assert.equal(board.inRecovery, false);
      const st = (await ask(wire, req(Op.READ, 1, 0))) as { images: Array<{ version: string; active?: boolean; hash: Uint8Array }> };
      assert.equal(st.images[0]!.version, '2.3.4');
      assert.equal(st.images[0]!.active, true);
      assert.equal(Buffer.from(st.images[0]!.hash).toString('hex'), board.slots()[0]!.hash);
      // The application's own knobs: Zephyr's params and console echo control it lacks.
      assert.deepEqual(await ask(wire, req(Op.WRITE, 0, 1)), { rc: 8 });
    } finally {
      await wire.close();
    }
  });

  test('held recovery, a boot-mode request and an invalid primary keep or bring the board in recovery', async () => {
    const { sim, wire } = await open('memory', { personality: 'mcuboot', device: { slotSize: SLOT, holdRecovery: true, app: { resetBootMode: true } } });
    try {
      const board = sim.device as McubootBoard;
      sim.link.resetNow();
      await sleep(60);
      assert.equal(sim.personality, 'mcuboot', 'the button is held');
      board.holdRecovery = false;
      sim.link.resetNow();
      await sleep(60);
      assert.equal(sim.personality, 'zephyr');
      assert.deepEqual(await ask(wire, req(Op.WRITE, 0, 5, { boot_mode: 1 })), {});
      await sleep(400);
      assert.equal(sim.personality, 'mcuboot', 'the application asked for the bootloader (retained boot mode)');
      assert.equal(board.recoveryReason, 'boot-mode');
      sim.link.resetNow();
      await sleep(60);
      assert.equal(sim.personality, 'zephyr');
      board.flash.write(0, 40, Buffer.alloc(8, 0)); // break the primary image
      sim.link.resetNow();
      await sleep(60);
      assert.equal(sim.personality, 'mcuboot', 'nothing valid to boot: MCUboot stays in recovery');
      assert.equal(board.recoveryReason, 'no-image');
    } finally {
      await wire.close();
    }
  });
});

describe('a board built with BOOT_SERIAL_WAIT_FOR_DFU (boot/zephyr/main.c, boot_serial_check_start)', () => {
  // WRITE os 1 (console echo control): MCUboot answers rc 0, the application (without the shell) rc 8.
  const ECHO_CTRL = (): Buffer => req(Op.WRITE, 0, 1);

  test('silence through the wait starts the application; a request in it keeps recovery for good; a bad header does not', async () => {
    const { sim, wire } = await open('memory', { personality: 'mcuboot', device: { slotSize: SLOT, waitForDfuMs: 800 } });
    try {
      const board = sim.device as McubootBoard;
      assert.equal(board.bootWaitMs, undefined, 'power-up state is recovery, not a wait');
      // Checks come 60 ms into the 800 ms wait and well after its end: margins for a loaded machine.
      sim.link.resetNow();
      await sleep(60);
      assert.equal(sim.personality, 'mcuboot');
      assert.equal(board.recoveryReason, 'wait-for-dfu');
      assert.equal(board.bootWaitMs, 800);
      await sleep(950);
      assert.equal(sim.personality, 'zephyr', 'nothing came: MCUboot started the application');
      assert.deepEqual(await ask(wire, ECHO_CTRL()), { rc: 8 });

      sim.link.resetNow();
      await sleep(60);
      assert.deepEqual(await ask(wire, ECHO_CTRL()), { rc: 0 }, 'MCUboot answers inside the wait');
      assert.equal(board.recoveryReason, 'dfu-request');
      await sleep(950);
      assert.equal(sim.personality, 'mcuboot', 'the request kept it in recovery');
      assert.deepEqual(await ask(wire, ECHO_CTRL()), { rc: 0 });

      sim.link.resetNow();
      await sleep(60);
      const bad = req(Op.WRITE, 0, 1);
      bad[0] = (bad[0]! & ~0x07) | 1; // a read answer's op: boot_serial_input drops it
      assert.deepEqual(await wire.ask(bad, 80), []);
      assert.equal(board.recoveryReason, 'wait-for-dfu');
      await sleep(950);
      assert.equal(sim.personality, 'zephyr');
    } finally {
      await wire.close();
    }
  });

  test('an invalid primary: the wait ends in recovery all the same (BOOT_SERIAL_NO_APPLICATION)', async () => {
    const { sim, wire } = await open('memory', { personality: 'mcuboot', device: { slotSize: SLOT, waitForDfuMs: 100 } });
    try {
      const board = sim.device as McubootBoard;
      board.flash.write(0, 40, Buffer.alloc(8, 0));
      sim.link.resetNow();
      await sleep(250);
      assert.equal(sim.personality, 'mcuboot');
      assert.equal(board.recoveryReason, 'no-image');
      assert.equal(board.bootWaitMs, undefined);
    } finally {
      await wire.close();
    }
  });

  test('the retained boot mode is read after boot_go: a test image is swapped in, then recovery', async () => {
    const { sim, wire } = await open('memory', { personality: 'mcuboot', device: { slotSize: SLOT, startInApp: true, app: { resetBootMode: true } } });
    try {
      const board = sim.device as McubootBoard;
      assert.equal(sim.personality, 'zephyr');
      const img = buildImage({ version: '7.0.1', bodySize: 2000 });
      for (let off = 0; off < img.length; off += 256) {
        const r = (await ask(wire, req(Op.WRITE, 1, 1, { ...(off === 0 ? { image: 0, len: img.length } : {}), off, data: img.subarray(off, off + 256) }))) as { off: number };
        assert.ok(r.off > off);
      }
      const hash = Buffer.from(board.slots().find((s) => s.slot === 1)!.hash!, 'hex');
      const st = (await ask(wire, req(Op.WRITE, 1, 0, { hash, confirm: false }))) as { images: Array<{ slot: number; pending?: boolean }> };
      assert.equal(st.images.find((i) => i.slot === 1)!.pending, true);
      assert.deepEqual(await ask(wire, req(Op.WRITE, 0, 5, { boot_mode: 1 })), {});
      await sleep(400);
      assert.equal(sim.personality, 'mcuboot');
      assert.equal(board.recoveryReason, 'boot-mode');
      assert.equal(board.slots()[0]!.version, '7.0.1', 'the swap ran before the boot mode was read');
    } finally {
      await wire.close();
    }
  });
});

// ------------------------------------------------------------------ Zephyr points

const FIXED = Date.UTC(2030, 0, 2, 3, 4, 5, 7);

describe('Zephyr points, in v2 and v1', () => {
  for (const kind of KINDS) {
    test(`${kind}: datetime, fs supported hash, settings/enum/stat errors, a full file system`, async () => {
      const { wire } = await open(kind, { personality: 'zephyr', device: { now: () => FIXED, datetimeMs: true, fsSize: 500, settingsRoots: ['app'] } });
      try {
        // os datetime (os_mgmt.c os_mgmt_datetime_read): "%4d-%02d-%02dT%02d:%02d:%02d" + ".%d" with DATETIME_MS
        assert.deepEqual(await ask(wire, req(Op.READ, 0, 4)), { err: { group: 0, rc: 4 } }, 'RTC not set');
        assert.deepEqual(await ask(wire, req(Op.READ, 0, 4, {}, 0)), { rc: 5 }, 'v1: RTC_NOT_SET → ENOENT');
        assert.deepEqual(await ask(wire, req(Op.WRITE, 0, 4, { datetime: '2031-02-03T04:05:06.9' })), {});
        const q = req(Op.READ, 0, 4, {}, 0);
        assert.deepEqual(await ask(wire, q), { datetime: '2031-02-03T04:05:06.9' }, 'a v1 get after a v2 set: v1 header, ms unpadded');
        // fs supported hash/checksum (fs_mgmt_supported_hash_checksum)
        assert.deepEqual(await ask(wire, req(Op.READ, 8, 3)), { types: { crc32: { format: 0, size: 4 }, sha256: { format: 1, size: 32 } } });
        // settings (settings_mgmt.c): key not found, too long, no handler for the root
        assert.deepEqual(await ask(wire, req(Op.READ, 3, 0, { name: 'app/none' })), { err: { group: 3, rc: 3 } });
        assert.deepEqual(await ask(wire, req(Op.READ, 3, 0, { name: 'app/none' }, 0)), { rc: 5 });
        assert.deepEqual(await ask(wire, req(Op.WRITE, 3, 0, { name: 'a'.repeat(40), val: Buffer.from('x') })), { err: { group: 3, rc: 2 } });
        assert.deepEqual(await ask(wire, req(Op.WRITE, 3, 0, { name: 'a'.repeat(40), val: Buffer.from('x') }, 0)), { rc: 3 });
        assert.deepEqual(await ask(wire, req(Op.WRITE, 3, 1, { name: 'a'.repeat(40) }, 0)), { rc: 3 });
        assert.deepEqual(await ask(wire, req(Op.READ, 3, 0, { name: 'nope/x' })), { err: { group: 3, rc: 5 } });
        assert.deepEqual(await ask(wire, req(Op.READ, 3, 0, { name: 'nope/x' }, 0)), { rc: 1 }, 'ROOT_KEY_NOT_FOUND has no v1 case: EUNKNOWN');
        // enum single out of range (enum_mgmt.c): INDEX_TOO_LARGE, v1 EUNKNOWN
        assert.deepEqual(await ask(wire, req(Op.READ, 10, 2, { index: 99 })), { err: { group: 10, rc: 4 } });
        assert.deepEqual(await ask(wire, req(Op.READ, 10, 2, { index: 99 }, 0)), { rc: 1 });
        // stat of an unknown group (stat_mgmt.c tags it with group 63, whose translation gives EOK:
        // smp.c then sends the response header alone)
        assert.deepEqual(await ask(wire, req(Op.READ, 2, 0, { name: 'nope' })), { err: { group: 63, rc: 3 } });
        const bare = req(Op.READ, 2, 0, { name: 'nope' }, 0);
        assert.equal(body((await wire.ask(bare))[0], bare), undefined, 'v1: a bare 8-byte header');
        // A full file system (fs_mgmt_file_upload: fs_write fails → FILE_WRITE_FAILED, file closed)
        assert.deepEqual(await ask(wire, req(Op.WRITE, 8, 0, { name: '/lfs/a', off: 0, len: 600, data: Buffer.alloc(300, 1) })), { off: 300 });
        assert.deepEqual(await ask(wire, req(Op.WRITE, 8, 0, { name: '/lfs/a', off: 300, data: Buffer.alloc(300, 2) })), { err: { group: 8, rc: 10 } });
        assert.deepEqual(await ask(wire, req(Op.WRITE, 8, 0, { name: '/lfs/b', off: 0, len: 300, data: Buffer.alloc(300, 3) }, 0)), { rc: 1 });
        assert.deepEqual(await ask(wire, req(Op.READ, 8, 1, { name: '/lfs/a' })), { len: 300 }, 'what was written before stays');
      } finally {
        await wire.close();
      }
    });
  }

  test('datetime without DATETIME_MS: no fraction in the answer, a fraction in a set is ignored', async () => {
    const { wire } = await open('memory', { personality: 'zephyr', device: { now: () => FIXED } });
    try {
      assert.deepEqual(await ask(wire, req(Op.WRITE, 0, 4, { datetime: '2031-02-03T04:05:06.9' })), {});
      assert.deepEqual(await ask(wire, req(Op.READ, 0, 4)), { datetime: '2031-02-03T04:05:06' });
    } finally {
      await wire.close();
    }
  });

  test('--netbuf-size 2048 --netbuf-count 4 reach the device: params says so, and 1 KiB chunks written back to back are answered', async () => {
    const kind = ptyAvailable() ? 'pty' : 'memory';
    // Written at 1 Mbaud into the default two 128-byte line buffers, as a client writes a chunk.
    const o = await open(kind, { personality: 'zephyr', limits: { netbufSize: 2048, netbufCount: 4 }, ...(kind === 'pty' ? { baudRate: 1_000_000 } : {}) });
    try {
      assert.equal(o.sim.link.limits.netbufSize, 2048, 'the link takes the device\'s buffers');
      assert.deepEqual(await ask(o.wire, req(Op.READ, 0, 6)), { buf_size: 2048, buf_count: 4 });
      const img = buildImage({ version: '1.2.3', bodySize: 3000 });
      const chunk = img.subarray(0, 1024);
      const q = req(Op.WRITE, 1, 1, { image: 0, len: img.length, off: 0, data: chunk, sha: Buffer.alloc(32, 1) });
      assert.ok(q.length > 1024 && q.length < 2048 - 4, `one ${q.length}-byte request: ${Math.ceil(((q.length + 4) * 4) / 3 / 124)} console lines`);
      const r = (await ask(o.wire, q)) as { off: number };
      assert.equal(r.off, 1024);
    } finally {
      await o.wire.close();
    }
  });
});
