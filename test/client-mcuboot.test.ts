/**
 * The client against the simulated MCUboot board, as a production line meets it: serial recovery
 * built full-featured (the simulator's default) and minimal (no params, no slot info, no set
 * state), then the one-call update that uploads in recovery, resets, and finds the application
 * running the new image. Memory and a PTY (console, as `mcumgr flash` against `mcumgr sim
 * --personality mcuboot`).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MCUmgrClient } from '../src/client.js';
import { VerifyError } from '../src/errors.js';
import { startSimulator } from '../src/sim/simulator.js';
import { ptyAvailable } from '../src/sim/pty.js';
import type { McubootBoard, McubootBoardOptions } from '../src/sim/device/index.js';
import { buildImage } from '../src/image/build.js';
import { parseImage } from '../src/image/parse.js';

const SLOT = 64 * 1024;
const IMAGE = buildImage({ size: 6 * 1024, version: '4.5.6', seed: 3 });
const INFO = parseImage(IMAGE);

const BUILDS: Array<[string, McubootBoardOptions]> = [
  ['full build', { slotSize: SLOT }],
  ['minimal build (no params, slot info, set state, echo)', { slotSize: SLOT, mcumgrParams: false, slotInfo: false, imageState: false, echo: false }],
];

describe('the client against an MCUboot board', () => {
  for (const kind of ptyAvailable() ? (['memory', 'pty'] as const) : (['memory'] as const)) {
    for (const [name, device] of BUILDS) {
      // The PTY run shows the wire; the minimal build's differences show in memory already.
      if (kind === 'pty' && device.mcumgrParams === false) continue;
      test(`${kind}, ${name}: frame size, image list, then firmwareUpdate boots the new image`, async () => {
        const sim = await startSimulator({ personality: 'mcuboot', transport: kind, device, bootMs: 20, ...(kind === 'pty' ? { encoding: 'console', baudRate: 1_000_000 } : {}) });
        const client =
          kind === 'memory'
            ? MCUmgrClient.fromTransport(sim.transport!, { timeoutMs: 2000, version: 0 })
            : await MCUmgrClient.connect(sim.connection, { timeoutMs: 2000, version: 0 });
        try {
          const fit = await client.useAutoFrameSize();
          if (device.mcumgrParams === false) assert.equal(fit.source, 'fallback', 'no params in a minimal build');
          else assert.deepEqual([fit.source, fit.frameSize, fit.bufCount], ['device', 1024, 1]);
          assert.equal(await client.image.isSerialRecovery(), true);
          const before = await client.image.state();
          assert.equal(before[0]!.slot, 0);
          const r = await client.firmwareUpdate(IMAGE, { resetQuietMs: 300, reconnectTimeoutMs: 8000 });
          assert.equal(r.step, 'done');
          assert.equal(sim.personality, 'zephyr', 'MCUboot booted the application after the reset');
          const running = r.finalState.find((s) => s.slot === 0 && s.active);
          assert.ok(running?.hash.equals(INFO.hash), 'the application runs the new image');
          assert.equal((sim.device as McubootBoard).app.slots()[0]!.version, '4.5.6');
        } finally {
          await client.close();
          await sim.close();
        }
      });
    }
  }
});

describe('the client against an MCUboot board built with BOOT_SERIAL_WAIT_FOR_DFU', () => {
  test('the quiet period after the reset outlasts the wait: the application boots the new image', async () => {
    const sim = await startSimulator({ personality: 'mcuboot', transport: 'memory', device: { slotSize: SLOT, waitForDfuMs: 300 }, bootMs: 20 });
    // The reset comes 250 ms after its answer and the wait lasts 300 ms: the default quiet period (1500 ms) outlasts both.
    const client = MCUmgrClient.fromTransport(sim.transport!, { timeoutMs: 2000, version: 0 });
    try {
      const r = await client.firmwareUpdate(IMAGE, { reconnectTimeoutMs: 8000 });
      assert.equal(r.step, 'done');
      assert.equal(sim.personality, 'zephyr');
      assert.equal((sim.device as McubootBoard).recoveryReason, undefined);
    } finally {
      await client.close();
      await sim.close();
    }
  });

  test('a poll inside the wait keeps the board in recovery: a VerifyError that names the option, nothing confirmed', async () => {
    const sim = await startSimulator({ personality: 'mcuboot', transport: 'memory', device: { slotSize: SLOT, waitForDfuMs: 2000 }, bootMs: 20 });
    const client = MCUmgrClient.fromTransport(sim.transport!, { timeoutMs: 2000, version: 0 });
    try {
      await assert.rejects(client.firmwareUpdate(IMAGE, { resetQuietMs: 400, reconnectTimeoutMs: 8000 }), (e: unknown) => e instanceof VerifyError && /BOOT_SERIAL_WAIT_FOR_DFU/.test(e.message));
      const board = sim.device as McubootBoard;
      assert.equal(board.recoveryReason, 'dfu-request');
      await new Promise((r) => setTimeout(r, 1800));
      assert.equal(sim.personality, 'mcuboot', 'caught: the wait no longer ends');
      // The recovery upload itself landed in the primary slot, and nothing is marked for a swap.
      assert.equal(board.slots()[0]!.version, '4.5.6');
      assert.ok(!(await client.image.state()).some((s) => s.pending || s.permanent), 'nothing marked');
    } finally {
      await client.close();
      await sim.close();
    }
  });
});
