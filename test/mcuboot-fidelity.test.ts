/**
 * The client against what MCUboot's serial recovery really does (mcu-tools/mcuboot
 * `boot/boot_serial/src/boot_serial.c`, `boot/bootutil/src/bootutil_public.c`,
 * `boot/zephyr/main.c`):
 * - set state (`bs_set`) always schedules the SECONDARY slot through `boot_set_pending_multi`,
 *   so a confirm without a hash asks for a permanent swap to what the secondary slot holds;
 * - uploads (`bs_upload`) write whole flash write blocks and answer a shorter `off`;
 * - an update of a device in recovery (nothing to mark), and a device that comes back in
 *   recovery after the reset (button, BOOT_SERIAL_WAIT_FOR_DFU).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildPacket, Op, SMP_HEADER_SIZE } from '../src/codec/header.js';
import { decodeCbor } from '../src/codec/cbor.js';
import {
  createMcubootDevice,
  createZephyrDevice,
  buildImage as simBuildImage,
  encodeCborValue,
  omap,
  type McubootDevice,
  type ZephyrDevice,
  type DeviceLimits,
  type DeviceStep,
  type SimDeviceCore,
} from '../src/sim/device/index.js';
import { startSimulator, type Simulator } from '../src/sim/simulator.js';
import { MCUmgrClient } from '../src/client.js';
import { buildImage, parseImage } from '../src/image/index.js';
import { uploadImage } from '../src/transfer/index.js';
import { ImageStateError, McuMgrError, VerifyError } from '../src/errors.js';

const SLOT = 64 * 1024;
const NEW = buildImage({ size: 12 * 1024, version: '3.0.0', seed: 11 });
const NEW_INFO = parseImage(NEW);

/** A set-state request, as the client sends it (SMP v1 WRITE, group 1, id 0). */
function stateWrite(body: Record<string, unknown>): Buffer {
  const m = omap(...(Object.entries(body) as Array<[string, Buffer | boolean]>));
  return buildPacket({ op: Op.WRITE, version: 0, flags: 0, group: 1, seq: 4, id: 0 }, encodeCborValue(m, { definite: true }));
}

/**
 * MCUboot with its application on one flash: a reboot runs MCUboot's boot decision and starts the
 * application, unless the button is held (serial recovery before `boot_go`: no swap) or the
 * bootloader waits for DFU and a request reached it (recovery after `boot_go`: swap done).
 */
class BootloaderAndApp implements SimDeviceCore {
  readonly personality = 'zephyr' as const;
  readonly app: ZephyrDevice;
  readonly boot: McubootDevice;
  inRecovery: boolean;
  /** What the next reboot does. */
  nextBoot: 'app' | 'button' | 'dfu-trap' = 'app';
  /** Set-state writes that reached the bootloader. */
  readonly recoveryStateWrites: Buffer[] = [];
  constructor(startInRecovery: boolean, imageState = true) {
    this.app = createZephyrDevice({ slotSize: SLOT, appBodySize: 2000 });
    this.boot = createMcubootDevice({ flash: this.app.flash, imageState });
    this.inRecovery = startInRecovery;
  }
  get limits(): DeviceLimits {
    return this.app.limits;
  }
  handle(pkt: Buffer, via: string): DeviceStep {
    if (!this.inRecovery) return this.app.handle(pkt, via);
    if (pkt.readUInt16BE(4) === 1 && pkt[7] === 0 && (pkt[0]! & 7) === Op.WRITE) this.recoveryStateWrites.push(Buffer.from(pkt));
    return this.boot.handle(pkt, via);
  }
  reboot(): void {
    if (this.nextBoot === 'button') {
      this.inRecovery = true;
      this.boot.reboot();
      return;
    }
    this.app.reboot(); // MCUboot's boot_go: swap if scheduled, then the application
    this.inRecovery = this.nextBoot === 'dfu-trap';
    if (this.inRecovery) this.boot.reboot();
  }
}

async function memoryRig(core: SimDeviceCore): Promise<{ sim: Simulator; client: MCUmgrClient; close(): Promise<void> }> {
  const sim = await startSimulator({ transport: 'memory', core, bootMs: 50 });
  const client = MCUmgrClient.fromTransport(sim.transport!, { timeoutMs: 2000, retries: 3 });
  return {
    sim,
    client,
    async close() {
      await client.close();
      await sim.close();
    },
  };
}

async function ptyRig(core: SimDeviceCore, version: 0 | 1 = 0): Promise<{ sim: Simulator; client: MCUmgrClient; close(): Promise<void> }> {
  const sim = await startSimulator({ transport: 'pty', core, bootMs: 50, baudRate: 1_000_000 });
  const client = await MCUmgrClient.connect(sim.connection, { timeoutMs: 2000, retries: 3, version });
  return {
    sim,
    client,
    async close() {
      await client.close();
      await sim.close();
    },
  };
}

describe('set state without a hash (bs_set → boot_set_pending_multi)', () => {
  test('the simulated recovery schedules a permanent swap of the SECONDARY slot and answers the list saying so', () => {
    const dev = createMcubootDevice({ slotSize: SLOT, imageState: true, initialImage: simBuildImage({ version: '2.0.0', bodySize: 900 }) });
    dev.flash.program(1, simBuildImage({ version: '1.0.0', bodySize: 800 })); // the previous firmware, left by a swap
    const rsp = dev.handle(stateWrite({ confirm: true }), 'serial').responses[0]!;
    const t = (s: string): string => (0x60 + s.length).toString(16) + Buffer.from(s).toString('hex');
    const [p, s] = dev.slots();
    assert.equal(
      rsp.subarray(SMP_HEADER_SIZE).toString('hex'),
      `bf${t('images')}9f` +
        `bf${t('bootable')}f5${t('confirmed')}f5${t('slot')}00${t('hash')}5820${p!.hash}${t('version')}${t('2.0.0')}ff` +
        `bf${t('bootable')}f5${t('pending')}f5${t('permanent')}f5${t('slot')}01${t('hash')}5820${s!.hash}${t('version')}${t('1.0.0')}ff` +
        'ffff',
    );
    assert.deepEqual(s!.trailer, { magic: 'good', imageOk: 'set', copyDone: 'unset' });
    assert.deepEqual(p!.trailer, { magic: 'unset', imageOk: 'unset', copyDone: 'unset' }, 'the primary is never touched');
    // A second request finds the magic already written: boot_set_next leaves it as it is.
    const again = dev.handle(stateWrite({ confirm: false }), 'serial').responses[0]!;
    assert.ok(again.subarray(SMP_HEADER_SIZE).equals(rsp.subarray(SMP_HEADER_SIZE)), 'still permanent, not turned into a test');
    dev.flash.boot();
    assert.equal(dev.slots()[0]!.version, '1.0.0', 'the next boot swaps the old firmware in, for good');
  });

  test('an empty secondary is scheduled just the same (no error); a bad trailer magic answers rc 3 (BOOT_EBADIMAGE)', () => {
    const dev = createMcubootDevice({ slotSize: SLOT, imageState: true });
    const r = decodeCbor(dev.handle(stateWrite({ confirm: false }), 'serial').responses[0]!.subarray(SMP_HEADER_SIZE)) as { images: unknown[] };
    assert.equal(r.images.length, 1, 'only the primary is listed');
    assert.equal(dev.slots()[1]!.trailer.magic, 'good');
    const bad = createMcubootDevice({ slotSize: SLOT, imageState: true });
    bad.flash.write(1, bad.flash.slotSize - 16, Buffer.alloc(16, 0)); // trailer magic area
    assert.deepEqual(decodeCbor(bad.handle(stateWrite({ confirm: true }), 'serial').responses[0]!.subarray(SMP_HEADER_SIZE)), { rc: 3 });
  });

  test('client.image.confirm() over serial refuses a device in recovery (typed, names hash), and nothing is written', async () => {
    const core = createMcubootDevice({ slotSize: SLOT, imageState: true });
    core.flash.program(1, simBuildImage({ version: '0.9.0', bodySize: 700 }));
    const writes: Buffer[] = [];
    const handle = core.handle.bind(core);
    core.handle = (pkt: Buffer, via: string): DeviceStep => {
      if (pkt.readUInt16BE(4) === 1 && pkt[7] === 0 && (pkt[0]! & 7) === Op.WRITE) writes.push(pkt);
      return handle(pkt, via);
    };
    const r = await ptyRig(core);
    try {
      await assert.rejects(
        r.client.image.confirm(),
        (e: unknown) => e instanceof ImageStateError && e.code === 'IMAGE_ERR_HASH_REQUIRED' && /hash is required/.test(e.message) && /reset the device/.test(e.message),
      );
      assert.equal(writes.length, 0, 'no set-state request reached the bootloader');
      assert.equal(core.slots()[1]!.trailer.magic, 'unset');
      assert.equal(await r.client.image.isSerialRecovery(), true);
    } finally {
      await r.close();
    }
  });

  test('client.image.confirm() over serial still confirms the running image of a Zephyr application', async () => {
    const core = createZephyrDevice({ slotSize: SLOT, appBodySize: 2000 });
    const r = await ptyRig(core, 1);
    try {
      assert.equal(await r.client.image.isSerialRecovery(), false);
      const list = await r.client.image.confirm();
      assert.equal(list.find((s) => s.active)!.confirmed, true);
    } finally {
      await r.close();
    }
  });
});

describe('upload write alignment (bs_upload: whole write blocks, shorter off)', () => {
  test('16- and 32-byte write blocks (STM32H7-like): short offsets, no rewind, the primary holds the image', async () => {
    for (const writeAlign of [16, 32]) {
      const core = createMcubootDevice({ slotSize: SLOT, writeAlign, initialImage: null });
      const answered: Array<{ sent: number; off: number }> = [];
      const handle = core.handle.bind(core);
      core.handle = (pkt: Buffer, via: string): DeviceStep => {
        const step = handle(pkt, via);
        const req = decodeCbor(pkt.subarray(SMP_HEADER_SIZE)) as { off?: number; data?: Buffer };
        const rsp = decodeCbor(step.responses[0]!.subarray(SMP_HEADER_SIZE)) as { off?: number };
        if (req.data && rsp.off !== undefined) answered.push({ sent: req.off! + req.data.length, off: rsp.off });
        return step;
      };
      const r = await ptyRig(core);
      try {
        const res = await uploadImage(r.client.transferContext(), NEW);
        assert.equal(res.rewinds, 0, `align ${writeAlign}: a short write is not a rewind`);
        assert.ok(answered.some((a) => a.off < a.sent), `align ${writeAlign}: the device answered a shorter off`);
        assert.ok(answered.every((a) => a.off % writeAlign === 0 || a.off === NEW.length));
        assert.ok(core.readSlot(0, 0).subarray(0, NEW.length).equals(NEW));
      } finally {
        await r.close();
      }
    }
  });
});

/**
 * Runs an update that must end, well before its 20 s deadline, with the VerifyError of a device
 * answering as serial recovery after the reset (`why` matches its message), with no set-state
 * request reaching the bootloader. The caller checks the flash afterwards.
 */
async function updateEndsInRecovery(core: BootloaderAndApp, why: RegExp, mode?: 'test'): Promise<void> {
  const r = await memoryRig(core);
  try {
    const t0 = performance.now();
    await assert.rejects(
      r.client.firmwareUpdate(NEW, { ...(mode ? { mode } : {}), resetQuietMs: 600, reconnectTimeoutMs: 20_000 }),
      (e: unknown) => e instanceof VerifyError && why.test(e.message),
    );
    assert.ok(performance.now() - t0 < 10_000, 'well within the deadline');
    assert.equal(core.recoveryStateWrites.length, 0, 'no set-state request reached the bootloader');
  } finally {
    await r.close();
  }
}

describe('firmwareUpdate against MCUboot serial recovery', () => {
  for (const imageState of [false, true]) {
    test(`in recovery (image state ${imageState ? 'on' : 'off'}): upload, nothing marked, reset, the application runs the image`, async () => {
      const core = new BootloaderAndApp(true, imageState);
      core.boot.flash.program(1, simBuildImage({ version: '0.5.0', bodySize: 600 })); // an old image the secondary still holds
      const r = await memoryRig(core);
      try {
        const steps: Array<[string, string | undefined]> = [];
        const res = await r.client.firmwareUpdate(NEW, { resetQuietMs: 600, reconnectTimeoutMs: 10_000, onStep: (s, d) => steps.push([s, d]) });
        assert.deepEqual(
          steps.map(([s]) => s),
          ['validate', 'check', 'upload', 'mark', 'reset', 'reconnect', 'verify', 'done'],
        );
        assert.match(steps.find(([s]) => s === 'mark')![1]!, /nothing to mark/);
        assert.equal(core.recoveryStateWrites.length, 0, 'no set-state request: it would schedule the secondary slot');
        assert.equal(core.inRecovery, false);
        const active = res.finalState.find((s) => s.active)!;
        assert.ok(active.hash.equals(NEW_INFO.hash));
        assert.equal(active.slot, 0);
        assert.equal(core.app.slots()[1]!.version, '0.5.0', 'the secondary is left alone');
      } finally {
        await r.close();
      }
    });
  }

  test('in recovery with a swap already scheduled in the secondary: refused before any byte is written', async () => {
    const core = new BootloaderAndApp(true);
    core.boot.flash.program(1, simBuildImage({ version: '0.5.0', bodySize: 600 }));
    core.boot.handle(stateWrite({ confirm: false }), 'serial'); // a test swap of the secondary, as bs_set does
    const primaryBefore = core.app.slots()[0]!.hash;
    const r = await memoryRig(core);
    try {
      await assert.rejects(
        r.client.firmwareUpdate(NEW, { resetQuietMs: 600, reconnectTimeoutMs: 10_000 }),
        (e: unknown) => e instanceof ImageStateError && e.code === 'IMAGE_ERR_SWAP_SCHEDULED' && /slot 1/.test(e.message) && /pending/.test(e.message),
      );
      assert.equal(core.app.slots()[0]!.hash, primaryBefore, 'the primary slot is untouched');
      assert.equal(core.inRecovery, true, 'no reset was sent');
    } finally {
      await r.close();
    }
  });

  test('in recovery, an image number other than 0 is refused before any byte is written (direct-upload numbering)', async () => {
    const core = new BootloaderAndApp(true);
    const primaryBefore = core.app.slots()[0]!.hash;
    const r = await memoryRig(core);
    try {
      await assert.rejects(
        r.client.firmwareUpdate(NEW, { image: 1, resetQuietMs: 600 }),
        (e: unknown) => e instanceof ImageStateError && e.code === 'IMAGE_ERR_RECOVERY_IMAGE' && /image 1/.test(e.message),
      );
      assert.equal(core.app.slots()[0]!.hash, primaryBefore, 'the primary slot is untouched');
      assert.equal(core.inRecovery, true);
    } finally {
      await r.close();
    }
  });

  test('in recovery, a reset request lost on the way: sent once more, then the application runs the image', async () => {
    const core = new BootloaderAndApp(true);
    let lost = 0;
    const handle = core.handle.bind(core);
    core.handle = (pkt: Buffer, via: string): DeviceStep => {
      if (pkt.readUInt16BE(4) === 0 && pkt[7] === 5 && lost++ === 0) return { responses: [], busyMs: 0 };
      return handle(pkt, via);
    };
    const r = await memoryRig(core);
    try {
      const res = await r.client.firmwareUpdate(NEW, { resetQuietMs: 600, reconnectTimeoutMs: 15_000 });
      assert.equal(lost, 2, 'two resets sent');
      assert.ok(res.finalState.find((s) => s.active)!.hash.equals(NEW_INFO.hash));
    } finally {
      await r.close();
    }
  });

  test('in recovery with the button still held at the reset: a typed error right away, not a wait until the deadline', async () => {
    const core = new BootloaderAndApp(true);
    core.nextBoot = 'button';
    await updateEndsInRecovery(core, /serial recovery after the reset[\s\S]*resetQuietMs/);
    assert.ok(core.app.readSlot(0, 0).subarray(0, NEW.length).equals(NEW), 'the image is in the primary slot, ready for the next boot');
  });

  test('from the application, the device comes back in recovery (button held, no swap yet): typed error, not a timeout', async () => {
    const core = new BootloaderAndApp(false);
    core.nextBoot = 'button';
    await updateEndsInRecovery(core, /serial recovery after the reset/);
  });

  test('from the application, the test swap ran but BOOT_SERIAL_WAIT_FOR_DFU caught a request: no confirm reaches the bootloader', async () => {
    const core = new BootloaderAndApp(false);
    core.nextBoot = 'dfu-trap';
    await updateEndsInRecovery(core, /BOOT_SERIAL_WAIT_FOR_DFU/, 'test');
    // A confirm here would schedule the secondary slot, which now holds the OLD firmware.
    assert.equal(core.app.slots()[1]!.trailer.magic, 'unset');
    assert.equal(core.app.slots()[1]!.version, '1.0.0');
  });

  test('the application path is unchanged: test, reset, confirm once it runs', async () => {
    const core = new BootloaderAndApp(false);
    const r = await memoryRig(core);
    try {
      const steps: string[] = [];
      const res = await r.client.firmwareUpdate(NEW, { resetQuietMs: 600, reconnectTimeoutMs: 10_000, onStep: (s) => steps.push(s) });
      assert.deepEqual(steps, ['validate', 'check', 'upload', 'mark', 'reset', 'reconnect', 'verify', 'confirm', 'done']);
      const active = res.finalState.find((s) => s.active)!;
      assert.ok(active.hash.equals(NEW_INFO.hash));
      assert.equal(active.confirmed, true);
    } finally {
      await r.close();
    }
  });
});
