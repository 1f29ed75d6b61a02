/**
 * The three serial encodings side by side: the same image uploaded to a simulated 115200-baud UART
 * device on a real PTY in console (base64 lines), raw SMP, and COBS + CRC16 framing, each
 * stop-and-wait and windowed.
 *
 *   npm run bench:encodings [-- --size 32768 --baud 115200]
 *
 * The device is the Zephyr personality with its default buffers (netbuf 384 × 4). Real Zephyr
 * speaks console and raw; COBS is MCUboot's draft framing, which the simulated Zephyr core also
 * accepts here (its `encodings` knob) so that the three compare on equal terms. Over console a
 * request may be at most netbuf − 4 bytes (the length prefix and CRC share the buffer); raw and
 * COBS requests may fill the netbuf.
 */
import { parseArgs } from 'node:util';
import { createZephyrDevice } from '../src/sim/device/zephyr.js';
import { startSimulator } from '../src/sim/simulator.js';
import { MCUmgrClient } from '../src/client.js';
import { buildImage } from '../src/image/index.js';
import { uploadImage } from '../src/transfer/index.js';
import type { SerialEncoding } from '../src/transport/framing.js';

const { values } = parseArgs({
  options: { size: { type: 'string', default: String(32 * 1024) }, baud: { type: 'string', default: '115200' } },
});
const size = Number(values.size);
const baud = Number(values.baud);
const image = buildImage({ size, version: '4.5.6', seed: 9 });

async function once(encoding: SerialEncoding, window: 1 | 'auto'): Promise<{ Bps: number; maxWindow: number }> {
  const core = createZephyrDevice({ slotSize: 512 * 1024, encodings: ['console', 'raw', 'cobs'] });
  const sim = await startSimulator({ transport: 'pty', encoding, baudRate: baud, core, bootMs: 0 });
  const client = await MCUmgrClient.connect(sim.connection, { timeoutMs: 5000 });
  try {
    await client.useAutoFrameSize();
    const r = await uploadImage(client.transferContext(), image, { window });
    if (!core.readSlot(0, 1).subarray(0, image.length).equals(image)) throw new Error(`${encoding}: slot content differs`);
    return { Bps: r.throughput, maxWindow: r.maxWindowUsed };
  } finally {
    await client.close();
    await sim.close();
  }
}

const results: Record<SerialEncoding, { stop: number; win: number; w: number }> = {} as never;
for (const enc of ['console', 'raw', 'cobs'] as const) {
  const stop = await once(enc, 1);
  const win = await once(enc, 'auto');
  results[enc] = { stop: stop.Bps, win: win.Bps, w: win.maxWindow };
}

const rows = (['console', 'raw', 'cobs'] as const).map((e) => [
  e,
  (results[e].stop / 1024).toFixed(2),
  (results[e].win / 1024).toFixed(2),
  String(results[e].w),
  (results[e].win / results.console.win).toFixed(2) + '×',
]);
const head = ['encoding', 'stop-and-wait KB/s', 'window KB/s', 'window', 'vs console (window)'];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
console.log(`image ${size} bytes, ${baud} baud 8N1, Zephyr netbuf 384×4`);
console.log(head.map((h, i) => h.padEnd(w[i]!)).join('  '));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i]!)).join('  '));
console.log(
  JSON.stringify({
    bench: 'encodings',
    baud,
    image_bytes: size,
    console_Bps: Math.round(results.console.win),
    raw_Bps: Math.round(results.raw.win),
    cobs_Bps: Math.round(results.cobs.win),
    console_stop_Bps: Math.round(results.console.stop),
    raw_stop_Bps: Math.round(results.raw.stop),
    cobs_stop_Bps: Math.round(results.cobs.stop),
    raw_over_console: Number((results.raw.win / results.console.win).toFixed(3)),
    cobs_over_console: Number((results.cobs.win / results.console.win).toFixed(3)),
  }),
);
