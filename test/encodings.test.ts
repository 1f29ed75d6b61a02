/**
 * The client over each serial encoding (console, raw, COBS) against the simulated device on a
 * real PTY: commands, an image upload, a file round trip and a full firmware update; and the
 * MCUboot personality in each of its encodings.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createZephyrDevice } from '../src/sim/device/zephyr.js';
import { startSimulator } from '../src/sim/simulator.js';
import { MCUmgrClient } from '../src/client.js';
import { buildImage, parseImage } from '../src/image/index.js';
import { nativeCodec } from '../src/codec/index.js';

const IMAGE = buildImage({ size: 16 * 1024, version: '1.4.0', seed: 21 });
const HASH = parseImage(IMAGE).hash;
const ptyAvailable = nativeCodec !== undefined;

for (const encoding of ['console', 'raw', 'cobs'] as const) {
  describe(`${encoding} encoding over a PTY`, { skip: !ptyAvailable && 'the PTY needs the native addon' }, () => {
    test('commands, upload, file round trip, firmware update', async () => {
      const core = createZephyrDevice({ slotSize: 128 * 1024, encodings: ['console', 'raw', 'cobs'] });
      const sim = await startSimulator({ transport: 'pty', encoding, baudRate: 1_000_000, core, bootMs: 20 });
      assert.match(sim.connection, new RegExp(`encoding=${encoding}`));
      const client = await MCUmgrClient.connect(sim.connection, { timeoutMs: 2000 });
      try {
        const auto = await client.useAutoFrameSize();
        assert.equal(auto.frameSize, 384);
        assert.equal(auto.maxRequest, encoding === 'console' ? 380 : 384, 'netbuf − 4 only over console framing');
        assert.equal(await client.os.echo('x'.repeat(200)), 'x'.repeat(200));
        const file = Buffer.from(Array.from({ length: 3000 }, (_, i) => i & 0xff));
        await client.fs.upload('/lfs/f.bin', file);
        assert.ok((await client.fs.download('/lfs/f.bin')).data.equals(file));
        const r = await client.firmwareUpdate(IMAGE, { mode: 'confirm' });
        assert.ok(r.finalState.find((s) => s.active)!.hash.equals(HASH));
        assert.equal(sim.stats().drops.oversize, 0);
      } finally {
        await client.close();
        await sim.close();
      }
    });
  });
}

describe('MCUboot serial recovery personality in each encoding', { skip: !ptyAvailable && 'the PTY needs the native addon' }, () => {
  for (const encoding of ['console', 'raw', 'cobs'] as const) {
    test(`${encoding}: upload to the primary slot with v1 rc answers`, async () => {
      const sim = await startSimulator({ personality: 'mcuboot', transport: 'pty', encoding, baudRate: 1_000_000, device: { mcumgrParams: true } });
      const client = await MCUmgrClient.connect(sim.connection, { timeoutMs: 3000, version: 0 });
      try {
        const auto = await client.useAutoFrameSize();
        const up = await client.image.upload(IMAGE, { window: 'auto' });
        assert.equal(auto.source, 'device');
        assert.equal(auto.bufCount, 1);
        assert.equal(auto.frameSize, 1024, 'BOOT_SERIAL_MAX_RECEIVE_SIZE');
        assert.equal(up.maxWindowUsed, 1, 'MCUboot handles one request at a time: buf_count 1 → window 1');
        const list = await client.image.state();
        assert.ok(list.some((s) => s.hash.equals(HASH) && s.slot === 0), 'the image is listed in the primary slot');
      } finally {
        await client.close();
        await sim.close();
      }
    });
  }
});
