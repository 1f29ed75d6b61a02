/**
 * The pipelined transfers against the simulated Zephyr device: in memory and over a real PTY,
 * with every injected link fault, fixed seeds.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import diagnostics_channel from 'node:diagnostics_channel';
import { REQUEST_CHANNELS } from '../src/session-diagnostics.js';
import { createZephyrDevice, type ZephyrDevice } from '../src/sim/device/zephyr.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../src/sim/simulator.js';
import { MCUmgrClient } from '../src/client.js';
import { buildImage, parseImage } from '../src/image/index.js';
import { uploadImage, uploadFile, downloadFile, type TransferProgress } from '../src/transfer/index.js';
import { McuMgrError, VerifyError, AbortError, SmpTimeoutError } from '../src/errors.js';
import type { DeviceStep } from '../src/sim/types.js';

const IMAGE = buildImage({ size: 40 * 1024, version: '2.0.0', seed: 7 });
const INFO = parseImage(IMAGE);

interface Rig {
  core: ZephyrDevice;
  sim: Simulator;
  client: MCUmgrClient;
  close(): Promise<void>;
}

async function rig(sim: Omit<SimulatorOptions, 'core'> = {}, device: Parameters<typeof createZephyrDevice>[0] = {}, client: { timeoutMs?: number } = {}): Promise<Rig> {
  const core = createZephyrDevice({ slotSize: 128 * 1024, ...device });
  const s = await startSimulator({ transport: 'memory', ...sim, core });
  // Fault-free rigs get generous deadlines (a loaded CI machine can stall for hundreds of ms);
  // fault tests pass short ones so that losses are noticed quickly.
  const c =
    s.kind === 'memory'
      ? MCUmgrClient.fromTransport(s.transport!, { timeoutMs: client.timeoutMs ?? 2000, retries: 5 })
      : await MCUmgrClient.connect(s.connection, { timeoutMs: client.timeoutMs ?? 2000, retries: 5 });
  await c.useAutoFrameSize(); // buf_count known: the window may grow
  return {
    core,
    sim: s,
    client: c,
    async close() {
      await c.close();
      await s.close();
    },
  };
}

function slotHolds(core: ZephyrDevice, image: Buffer): boolean {
  const slot = core.readSlot(0, 1);
  return slot.subarray(0, image.length).equals(image);
}

describe('image upload in memory', () => {
  test('auto window grows to buf_count − 1 and the slot holds the image byte for byte', async () => {
    const r = await rig();
    try {
      const windows: number[] = [];
      const res = await uploadImage(r.client.transferContext(), IMAGE, { onProgress: (p) => windows.push(p.window) });
      assert.ok(slotHolds(r.core, IMAGE));
      assert.equal(res.match, true);
      assert.equal(res.maxWindowUsed, 3, 'netbuf count 4 → window 3');
      assert.deepEqual(res.sha, createHash('sha256').update(IMAGE).digest());
      assert.equal(res.rewinds, 0);
      assert.equal(windows[0], 1, 'starts at 1 after the first chunk');
      assert.equal(windows.at(-1), 3);
    } finally {
      await r.close();
    }
  });

  test('window 1 is stop-and-wait: one request in flight at a time, same bytes', async () => {
    const r = await rig();
    try {
      // At every send, the request being sent is the only one in flight.
      let maxInFlight = 0;
      let starts = 0;
      const onStart = (m: unknown): void => {
        if ((m as { session: unknown }).session !== r.client.session) return;
        starts++;
        maxInFlight = Math.max(maxInFlight, r.client.session.inFlight);
      };
      diagnostics_channel.subscribe(REQUEST_CHANNELS.start, onStart);
      let res;
      try {
        res = await uploadImage(r.client.transferContext(), IMAGE, { window: 1 });
      } finally {
        diagnostics_channel.unsubscribe(REQUEST_CHANNELS.start, onStart);
      }
      assert.equal(res.maxWindowUsed, 1);
      assert.ok(starts > 20, `${starts} requests seen`);
      assert.equal(maxInFlight, 1, 'one request in flight at each send');
      assert.ok(slotHolds(r.core, IMAGE));
    } finally {
      await r.close();
    }
  });

  test('every request fits the frame: no request over netbuf − 4 even with odd frame sizes', async () => {
    for (const netbufSize of [128, 384, 1000, 2048]) {
      const r = await rig({}, { netbufSize });
      try {
        await uploadImage(r.client.transferContext(), IMAGE);
        assert.ok(slotHolds(r.core, IMAGE), `netbuf ${netbufSize}`);
        assert.equal(r.sim.stats().drops.oversize, 0);
      } finally {
        await r.close();
      }
    }
  });

  test('a file path source streams and uploads the same bytes', async () => {
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'mcumgr-'));
    const path = join(dir, 'app.bin');
    await writeFile(path, IMAGE);
    const r = await rig();
    try {
      await uploadImage(r.client.transferContext(), path);
      assert.ok(slotHolds(r.core, IMAGE));
    } finally {
      await r.close();
    }
  });

  test('an async iterable source (a read stream in odd-sized pieces) uploads the same bytes', async () => {
    const r = await rig();
    try {
      async function* odd(): AsyncGenerator<Uint8Array> {
        for (let off = 0, k = 1; off < IMAGE.length; k++) {
          const n = Math.min(IMAGE.length - off, 1 + ((k * 7919) % 5000));
          yield new Uint8Array(IMAGE.subarray(off, off + n)); // not a Buffer: any Uint8Array
          off += n;
        }
      }
      const res = await uploadImage(r.client.transferContext(), odd());
      assert.ok(slotHolds(r.core, IMAGE));
      assert.equal(res.match, true);
    } finally {
      await r.close();
    }
  });

  test('abort stops cleanly; a second upload resumes from the device offset by sha', async () => {
    const r = await rig();
    try {
      const ac = new AbortController();
      await assert.rejects(
        uploadImage(r.client.transferContext(), IMAGE, {
          signal: ac.signal,
          onProgress: (p) => {
            if (p.done > IMAGE.length / 2) ac.abort();
          },
        }),
        AbortError,
      );
      const progress = r.core.uploadProgress();
      assert.ok(progress && progress.off > IMAGE.length / 2 && progress.off < IMAGE.length, 'the device kept half the image');
      const first: TransferProgress[] = [];
      const res = await uploadImage(r.client.transferContext(), IMAGE, { onProgress: (p) => first.push(p) });
      assert.ok(first[0]!.done >= progress.off, `resumed at ${first[0]!.done}, device had ${progress.off}`);
      assert.ok(slotHolds(r.core, IMAGE));
      assert.equal(res.match, true);
    } finally {
      await r.close();
    }
  });

  test('over a PTY, a new client after the first one closed mid-upload resumes from the device offset', async () => {
    const r = await rig({ transport: 'pty', baudRate: 1_000_000, bootMs: 0 });
    try {
      const ac = new AbortController();
      await assert.rejects(
        uploadImage(r.client.transferContext(), IMAGE, {
          signal: ac.signal,
          onProgress: (p) => {
            if (p.done > IMAGE.length / 3) ac.abort();
          },
        }),
        AbortError,
      );
      await r.client.close(); // the port is closed, the session and its sequence numbers are gone
      const had = r.core.uploadProgress()!.off;
      assert.ok(had > IMAGE.length / 3 && had < IMAGE.length, `the device kept part of the image (${had})`);
      const second = await MCUmgrClient.connect(r.sim.connection, { timeoutMs: 2000, retries: 5 });
      try {
        await second.useAutoFrameSize();
        let received = 0;
        const handle = r.core.handle.bind(r.core);
        r.core.handle = (pkt: Buffer, via: string): DeviceStep => {
          received += pkt.length;
          return handle(pkt, via);
        };
        const first: TransferProgress[] = [];
        const res = await uploadImage(second.transferContext(), IMAGE, { onProgress: (p) => first.push(p) });
        assert.ok(first[0]!.done >= had, `resumed at ${first[0]!.done}, device had ${had}`);
        assert.ok(received < IMAGE.length - had + 8 * 1024, `sent ${received} bytes for the ${IMAGE.length - had} missing`);
        assert.ok(slotHolds(r.core, IMAGE));
        assert.equal(res.match, true);
      } finally {
        await second.close();
      }
    } finally {
      await r.sim.close();
    }
  });

  test('a device reset mid-transfer restarts the upload with a full first chunk and completes', async () => {
    const r = await rig({ faults: { resetAfterBytes: 20000 }, bootMs: 50, seed: 1 });
    try {
      const res = await uploadImage(r.client.transferContext(), IMAGE);
      assert.ok(slotHolds(r.core, IMAGE));
      assert.ok(res.timeouts + res.rewinds > 0, 'the reset was noticed');
      assert.equal(r.sim.stats().faults.resets, 1);
    } finally {
      await r.close();
    }
  });

  test('match:false from the device is a VerifyError and nothing is marked', async () => {
    const r = await rig();
    // A core whose flash corrupts one byte of the slot halfway: the device's own check fails.
    const handle = r.core.handle.bind(r.core);
    let corrupted = false;
    r.core.handle = (pkt: Buffer, via: string): DeviceStep => {
      const p = r.core.uploadProgress();
      if (p && p.off < IMAGE.length / 4) corrupted = false; // a new upload: corrupt it again
      if (!corrupted && p && p.off > IMAGE.length / 2) {
        r.core.flash.view(1)[100] ^= 0xff; // the live flash of image 0 slot 1
        corrupted = true;
      }
      return handle(pkt, via);
    };
    try {
      await assert.rejects(uploadImage(r.client.transferContext(), IMAGE), VerifyError);
      await assert.rejects(r.client.firmwareUpdate(IMAGE, { reset: false }), VerifyError);
      assert.equal(r.core.swapType(0), 'none', 'no image marked for boot');
    } finally {
      await r.close();
    }
  });
});

const FAULTS: Array<[string, SimulatorOptions['faults']]> = [
  ['drop', { toDevice: { drop: 0.02 }, toHost: { drop: 0.02 } }],
  ['bitFlip', { toDevice: { bitFlip: 0.02 }, toHost: { bitFlip: 0.02 } }],
  ['duplicate', { toDevice: { duplicate: 0.03 }, toHost: { duplicate: 0.03 } }],
  ['truncate', { toDevice: { truncate: 0.02 }, toHost: { truncate: 0.02 } }],
  ['garbage', { toDevice: { garbage: 0.2 }, toHost: { garbage: 0.2 } }],
  ['reset', { resetAfterBytes: [9000, 30000] }],
];

for (const transport of ['memory', 'pty'] as const) {
  describe(`image upload with injected faults (${transport})`, () => {
    for (const [name, faults] of FAULTS) {
      test(`${name}: completes with the device holding the image, or fails typed within its deadline`, async () => {
        const small = buildImage({ size: transport === 'pty' ? 12 * 1024 : 24 * 1024, version: '3.0.0', seed: 3 });
        let verified = 0;
        for (const seed of [11, 12]) {
          const r = await rig({ transport, faults, seed, bootMs: 50, baudRate: transport === 'pty' ? 1_000_000 : undefined }, {}, { timeoutMs: 400 });
          const t0 = performance.now();
          try {
            const res = await uploadImage(r.client.transferContext(), small, { maxTimeouts: 8, firstTimeoutMs: 3000 });
            assert.ok(slotHolds(r.core, small), `${name} seed ${seed}: slot content`);
            assert.notEqual(res.match, false);
            verified++;
          } catch (e) {
            assert.ok(e instanceof McuMgrError, `${name} seed ${seed}: typed error, got ${String(e)}`);
            assert.ok(performance.now() - t0 < 60000);
          } finally {
            await r.close();
          }
          assert.equal(r.core.swapType(0), 'none', 'an upload never marks anything');
        }
        // These fault rates are survivable: the engine must get through, not just fail politely.
        // In memory there is no CRC (UDP has its checksum, serial its CRC16), so a flipped bit
        // can reach the parser unnoticed: there a typed error is the right outcome.
        if (!(transport === 'memory' && name === 'bitFlip')) assert.equal(verified, 2, `${name}: both seeded runs verified`);
      });
    }
  });
}

describe('file transfers', () => {
  const FILE = Buffer.from(Array.from({ length: 20000 }, (_, i) => (i * 31 + 7) & 0xff));

  test('pipelined upload then pipelined download round-trips the bytes', async () => {
    const r = await rig();
    try {
      const up = await uploadFile(r.client.transferContext(), '/lfs/blob.bin', FILE);
      assert.ok(r.core.files.get('/lfs/blob.bin')!.equals(FILE));
      assert.ok(up.maxWindowUsed > 1);
      const down = await downloadFile(r.client.transferContext(), '/lfs/blob.bin');
      assert.ok(down.data.equals(FILE));
      assert.ok(down.maxWindowUsed > 1);
    } finally {
      await r.close();
    }
  });

  test('with drops both ways the bytes still round-trip (rewinds via FILE_OFFSET_NOT_VALID len)', async () => {
    const r = await rig({ faults: { toDevice: { drop: 0.08 }, toHost: { drop: 0.08 } }, seed: 5 });
    try {
      await uploadFile(r.client.transferContext(), '/lfs/blob.bin', FILE, { maxTimeouts: 10 });
      assert.ok(r.core.files.get('/lfs/blob.bin')!.equals(FILE));
      const down = await downloadFile(r.client.transferContext(), '/lfs/blob.bin', { maxTimeouts: 10 });
      assert.ok(down.data.equals(FILE));
    } finally {
      await r.close();
    }
  });

  test('an empty file uploads and downloads', async () => {
    const r = await rig();
    try {
      await uploadFile(r.client.transferContext(), '/lfs/empty', Buffer.alloc(0));
      assert.equal(r.core.files.get('/lfs/empty')!.length, 0);
      // Zephyr answers a download of an empty file at offset 0 with len 0 and empty data.
      const down = await downloadFile(r.client.transferContext(), '/lfs/empty');
      assert.equal(down.data.length, 0);
      assert.equal(down.bytes, 0);
    } finally {
      await r.close();
    }
  });

  test('an empty upload over an existing file is a VerifyError that says why (Zephyr does not truncate)', async () => {
    const r = await rig();
    try {
      await uploadFile(r.client.transferContext(), '/lfs/old', Buffer.from('hello'));
      await assert.rejects(uploadFile(r.client.transferContext(), '/lfs/old', Buffer.alloc(0)), (e: unknown) => {
        assert.ok(e instanceof VerifyError);
        assert.match(e.message, /holds 5 bytes, expected 0; an empty upload does not truncate/);
        return true;
      });
    } finally {
      await r.close();
    }
  });

  test('a lost answer to the last file chunk is resent after the normal deadline, not the first chunk one', async () => {
    const r = await rig({}, {}, { timeoutMs: 300 });
    try {
      const handle = r.core.handle.bind(r.core);
      let lastSeen = 0;
      r.core.handle = (pkt: Buffer, via: string): DeviceStep => {
        const step = handle(pkt, via);
        const up = r.core.files.get('/lfs/last.bin');
        // The answer to the chunk that completes the file is lost, once.
        if (pkt.readUInt16BE(4) === 8 && pkt[7] === 0 && up?.length === FILE.length && lastSeen++ === 0) return { ...step, responses: [] };
        return step;
      };
      // With the first chunk's 60 s deadline on the last chunk too, the abort would come first.
      await uploadFile(r.client.transferContext(), '/lfs/last.bin', FILE, { firstTimeoutMs: 60_000, signal: AbortSignal.timeout(15_000) });
      assert.ok(lastSeen >= 2, `the last chunk was sent again (${lastSeen} answers seen)`);
      assert.ok(r.core.files.get('/lfs/last.bin')!.equals(FILE));
    } finally {
      await r.close();
    }
  });

  test('bad names fail before anything is sent', async () => {
    const r = await rig();
    try {
      const sent = r.client.session.stats().sent;
      await assert.rejects(uploadFile(r.client.transferContext(), '', FILE), TypeError);
      await assert.rejects(downloadFile(r.client.transferContext(), 42 as unknown as string), TypeError);
      await assert.rejects(uploadImage(r.client.transferContext(), Buffer.alloc(10)), RangeError);
      await assert.rejects(uploadImage(r.client.transferContext(), IMAGE, { window: 0 }), RangeError);
      assert.equal(r.client.session.stats().sent, sent);
    } finally {
      await r.close();
    }
  });
});

describe('firmwareUpdate', () => {
  test('default (test, then confirm once it runs): the new image ends up running and confirmed', async () => {
    const r = await rig({ bootMs: 50 });
    try {
      const steps: string[] = [];
      const res = await r.client.firmwareUpdate(IMAGE, { onStep: (s) => steps.push(s) });
      assert.deepEqual(steps, ['validate', 'check', 'upload', 'mark', 'reset', 'reconnect', 'verify', 'confirm', 'done']);
      const active = res.finalState.find((s) => s.active)!;
      assert.ok(active.hash.equals(INFO.hash));
      assert.equal(active.confirmed, true);
      r.core.reboot();
      assert.ok((await r.client.image.state()).find((s) => s.active)!.hash.equals(INFO.hash), 'stays after another reset');
    } finally {
      await r.close();
    }
  });

  test('an image left pending by an interrupted run is not uploaded again: straight to the reset', async () => {
    const r = await rig({ bootMs: 50 });
    try {
      await r.client.firmwareUpdate(IMAGE, { reset: false });
      let uploads = 0;
      const handle = r.core.handle.bind(r.core);
      r.core.handle = (pkt: Buffer, via: string): DeviceStep => {
        if (pkt.readUInt16BE(4) === 1 && pkt[7] === 1) uploads++; // image upload requests
        return handle(pkt, via);
      };
      const steps: Array<[string, string | undefined]> = [];
      const res = await r.client.firmwareUpdate(IMAGE, { onStep: (s, d) => steps.push([s, d]) });
      assert.ok(!steps.some(([s]) => s === 'upload'), 'no upload step');
      assert.equal(uploads, 0, 'no image chunk sent');
      assert.ok(res.finalState.find((s) => s.active)!.hash.equals(INFO.hash));
    } finally {
      await r.close();
    }
  });

  test('confirm mode: uploads, marks permanent, resets, and the new image runs confirmed', async () => {
    const r = await rig({ bootMs: 50 });
    try {
      const steps: string[] = [];
      const res = await r.client.firmwareUpdate(IMAGE, { mode: 'confirm', onStep: (s) => steps.push(s) });
      assert.equal(res.alreadyInstalled, false);
      assert.deepEqual(steps, ['validate', 'check', 'upload', 'mark', 'reset', 'reconnect', 'verify', 'done']);
      const active = res.finalState.find((s) => s.active)!;
      assert.ok(active.hash.equals(INFO.hash));
      assert.equal(active.confirmed, true);
      const again = await r.client.firmwareUpdate(IMAGE);
      assert.equal(again.alreadyInstalled, true);
    } finally {
      await r.close();
    }
  });

  test('test mode: the new image runs unconfirmed and a second reset reverts it', async () => {
    const r = await rig({ bootMs: 50 });
    try {
      const res = await r.client.firmwareUpdate(IMAGE, { mode: 'test', confirmAfterTest: false });
      const active = res.finalState.find((s) => s.active)!;
      assert.ok(active.hash.equals(INFO.hash));
      assert.equal(active.confirmed, false);
      r.core.reboot();
      const after = await r.client.image.state();
      assert.ok(!after.find((s) => s.active)!.hash.equals(INFO.hash), 'reverted');
    } finally {
      await r.close();
    }
  });

  test('lost answers to the mark and reset writes: the state read decides, nothing is replayed', async () => {
    const r = await rig({ bootMs: 50 }, {}, { timeoutMs: 300 });
    // The device does the work but its answer to the first state write and first reset is lost.
    const handle = r.core.handle.bind(r.core);
    const lose = new Set(['1/0', '0/5']);
    const writes: string[] = [];
    r.core.handle = (pkt: Buffer, via: string): DeviceStep => {
      const step = handle(pkt, via);
      const key = `${pkt.readUInt16BE(4)}/${pkt[7]}`;
      if ((pkt[0]! & 7) === 2) writes.push(key);
      if ((pkt[0]! & 7) === 2 && lose.delete(key)) return { ...step, responses: [] };
      return step;
    };
    try {
      const res = await r.client.firmwareUpdate(IMAGE, { mode: 'confirm' });
      assert.ok(res.finalState.find((s) => s.active)!.hash.equals(INFO.hash));
      assert.equal(writes.filter((k) => k === '1/0').length, 1, 'the state write was sent once, never replayed');
      assert.equal(writes.filter((k) => k === '0/5').length, 1, 'the reset took, so it was not sent again');
    } finally {
      await r.close();
    }
  });

  test('a lost mark request (the state read shows it did not take) is sent once more; twice lost is a timeout', async () => {
    for (const lost of [1, 2]) {
      const r = await rig({ bootMs: 50 }, {}, { timeoutMs: 300 });
      // The device never sees the first `lost` state writes (the request itself is lost on the way).
      const handle = r.core.handle.bind(r.core);
      let dropped = 0;
      let marks = 0;
      r.core.handle = (pkt: Buffer, via: string): DeviceStep => {
        if ((pkt[0]! & 7) === 2 && pkt.readUInt16BE(4) === 1 && pkt[7] === 0) {
          marks++;
          if (dropped < lost) {
            dropped++;
            return { responses: [], busyMs: 0 };
          }
        }
        return handle(pkt, via);
      };
      try {
        if (lost === 1) {
          const res = await r.client.firmwareUpdate(IMAGE, { mode: 'test', reset: false });
          assert.equal(marks, 2, 'sent again once the state read showed it had not taken');
          assert.equal(res.finalState.find((s) => s.hash.equals(INFO.hash))!.pending, true);
        } else {
          await assert.rejects(r.client.firmwareUpdate(IMAGE, { mode: 'test', reset: false }), SmpTimeoutError);
          assert.equal(marks, 2, 'at most one resend');
          assert.ok(!(await r.client.image.state()).some((s) => s.pending), 'nothing marked');
        }
      } finally {
        await r.close();
      }
    }
  });

  test('an invalid image is refused before anything is sent', async () => {
    const r = await rig();
    try {
      const bad = Buffer.from(IMAGE);
      bad[40] ^= 1; // body byte: the hash TLV no longer matches
      const sent = r.client.session.stats().sent;
      await assert.rejects(r.client.firmwareUpdate(bad), (e: unknown) => (e as McuMgrError).code === 'IMAGE_ERR_FORMAT');
      assert.equal(r.client.session.stats().sent, sent);
    } finally {
      await r.close();
    }
  });
});

describe('what a real device needs (review findings)', () => {
  test('a file that is not an MCUboot image is refused before any byte is sent (MCUboot would erase its slot)', async () => {
    const r = await rig();
    try {
      const sent = r.client.session.stats().sent;
      const raw = Buffer.alloc(4096, 0x20);
      await assert.rejects(uploadImage(r.client.transferContext(), raw), (e: unknown) => (e as McuMgrError).code === 'IMAGE_ERR_FORMAT');
      assert.equal(r.client.session.stats().sent, sent);
    } finally {
      await r.close();
    }
  });

  test('the window never exceeds buf_count − 1, even when fixed; unknown buf_count means one in flight', async () => {
    const r = await rig({}, { netbufCount: 3 });
    try {
      const fixed = await uploadImage(r.client.transferContext(), IMAGE, { window: 8 });
      assert.equal(fixed.maxWindowUsed, 2, 'netbuf count 3 → at most 2 waiting');
      assert.equal(r.sim.stats().drops.netbufExhausted, 0);
    } finally {
      await r.close();
    }
    const core = createZephyrDevice({ slotSize: 128 * 1024, mcumgrParams: false });
    const sim = await startSimulator({ transport: 'memory', core });
    const c = MCUmgrClient.fromTransport(sim.transport!, { timeoutMs: 400 });
    try {
      const auto = await c.useAutoFrameSize();
      assert.equal(auto.source, 'fallback');
      const res = await uploadImage(c.transferContext(), IMAGE);
      assert.equal(res.maxWindowUsed, 1);
    } finally {
      await c.close();
      await sim.close();
    }
  });

  test('a file upload restarted while the device still holds the first one open gives the right file', async () => {
    // Zephyr keeps its offset when an open upload of the same path restarts at 0; the client
    // closes the device's file context first and insists on an exact first answer.
    const r = await rig();
    const FILE = Buffer.from(Array.from({ length: 9000 }, (_, i) => (i * 13) & 0xff));
    try {
      const ac = new AbortController();
      await assert.rejects(
        uploadFile(r.client.transferContext(), '/lfs/re.bin', FILE, { signal: ac.signal, onProgress: (p) => p.done > 3000 && ac.abort() }),
        AbortError,
      );
      const res = await uploadFile(r.client.transferContext(), '/lfs/re.bin', FILE);
      assert.ok(r.core.files.get('/lfs/re.bin')!.equals(FILE));
      assert.equal(res.verified, 'sha256');
    } finally {
      await r.close();
    }
  });

  test('a file the device holds differently from what was sent is a VerifyError, not a success', async () => {
    const r = await rig();
    const handle = r.core.handle.bind(r.core);
    r.core.handle = (pkt: Buffer, via: string): DeviceStep => {
      const step = handle(pkt, via);
      const f = r.core.files.get('/lfs/bad.bin');
      if (f && f.length > 100) f[50] ^= 0x01; // the flash flips a bit behind the device's back
      return step;
    };
    try {
      await assert.rejects(uploadFile(r.client.transferContext(), '/lfs/bad.bin', Buffer.alloc(2000, 7)), VerifyError);
    } finally {
      await r.close();
    }
  });

  test('raw SMP keeps one request in flight (no CRC, no resync)', async () => {
    const core = createZephyrDevice({ slotSize: 128 * 1024 });
    const sim = await startSimulator({ transport: 'pty', encoding: 'raw', baudRate: 1_000_000, core });
    const c = await MCUmgrClient.connect(sim.connection, { timeoutMs: 2000 });
    try {
      await c.useAutoFrameSize();
      const res = await uploadImage(c.transferContext(), IMAGE, { window: 3 });
      assert.equal(res.maxWindowUsed, 1);
      assert.ok(slotHolds(core, IMAGE));
    } finally {
      await c.close();
      await sim.close();
    }
  });
});

test('a device that takes long to check the image after the last chunk is waited for, not restarted', async () => {
  const r = await rig({}, {}, { timeoutMs: 300 });
  const handle = r.core.handle.bind(r.core);
  let firstChunks = 0;
  r.core.handle = (pkt: Buffer, via: string): DeviceStep => {
    const before = r.core.uploadProgress();
    const step = handle(pkt, via);
    if (pkt.readUInt16BE(4) === 1 && pkt[7] === 1) {
      if (before === undefined) firstChunks++;
      if (r.core.uploadProgress() === undefined && before !== undefined) return { ...step, busyMs: step.busyMs + 1200 }; // hashing the slot
    }
    return step;
  };
  try {
    const res = await uploadImage(r.client.transferContext(), IMAGE, { firstTimeoutMs: 5000 });
    assert.equal(res.match, true);
    assert.equal(firstChunks, 1, 'the upload was not restarted');
    assert.equal(res.timeouts, 0);
  } finally {
    await r.close();
  }
});

describe('the window against what a device reports', () => {
  test('a device with more net_bufs than the engine keeps in flight: the window stops at MAX_WINDOW', async () => {
    const { resolveWindow, MAX_WINDOW } = await import('../src/transfer/window-size.js');
    assert.equal(resolveWindow({}, 200, 'console').maxWindow, MAX_WINDOW);
    assert.equal(resolveWindow({ window: 'auto' }, MAX_WINDOW + 2, 'cobs').maxWindow, MAX_WINDOW);
    assert.equal(resolveWindow({}, 4, 'console').maxWindow, 3);
    assert.equal(resolveWindow({ window: 8 }, 200, 'console').fixedWindow, 8);
    assert.equal(resolveWindow({}, 200, 'raw').maxWindow, 1);
  });

  test('an upload to a device that reports 200 net_bufs runs (the window never outgrows its queues)', async () => {
    const r = await rig({ bootMs: 50 }, { netbufSize: 512, netbufCount: 200 });
    try {
      await r.client.useAutoFrameSize();
      const res = await r.client.image.upload(buildImage({ size: 96 * 1024, version: '3.3.3', seed: 9 }), { window: 'auto' });
      assert.ok(res.maxWindowUsed > 3);
      assert.ok(res.maxWindowUsed <= 64);
    } finally {
      await r.close();
    }
  });
});
