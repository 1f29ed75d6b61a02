/**
 * Pipelined vs stop-and-wait image upload, side by side in one run, against the simulated Zephyr
 * device on a real PTY (console framing at a given baud rate) and on UDP loopback with latency.
 *
 *   npm run bench:transfer [-- --size 49152 --quick]
 *
 * For serial links the table also gives the theoretical bound of the link: data bytes per chunk
 * over the wire bytes of that chunk × baud/10 (8N1), and the fraction of it achieved.
 */
import { parseArgs } from 'node:util';
import { createZephyrDevice } from '../src/sim/device/zephyr.js';
import { startSimulator, type SimulatorOptions } from '../src/sim/simulator.js';
import { MCUmgrClient } from '../src/client.js';
import { buildImage } from '../src/image/index.js';
import { uploadImage } from '../src/transfer/index.js';
import { fitChunk } from '../src/transfer/chunking.js';
import { SerialFraming } from '../src/transport/framing.js';

const { values } = parseArgs({
  options: { size: { type: 'string', default: String(48 * 1024) }, quick: { type: 'boolean', default: false } },
});
const size = Number(values.size);
const image = buildImage({ size, version: '9.9.9', seed: 42 });

interface Scenario {
  name: string;
  sim: Omit<SimulatorOptions, 'core'>;
  device: Parameters<typeof createZephyrDevice>[0];
  baud?: number;
}

const scenarios: Scenario[] = [
  { name: 'serial console 115200, netbuf 384×4', sim: { transport: 'pty', encoding: 'console', baudRate: 115200 }, device: {}, baud: 115200 },
  { name: 'serial console 1000000, netbuf 384×4', sim: { transport: 'pty', encoding: 'console', baudRate: 1_000_000 }, device: {}, baud: 1_000_000 },
  { name: 'serial console 1000000, netbuf 2048×4', sim: { transport: 'pty', encoding: 'console', baudRate: 1_000_000 }, device: { netbufSize: 2048 }, baud: 1_000_000 },
  { name: 'UDP, 5 ms each way, netbuf 1024×4', sim: { transport: 'udp', latencyMs: 5 }, device: { netbufSize: 1024 } },
];
if (values.quick) scenarios.splice(0, 1);

async function once(s: Scenario, window: number | 'auto'): Promise<{ Bps: number; maxWindow: number; rewinds: number; maxRequest: number }> {
  const core = createZephyrDevice({ slotSize: 512 * 1024, ...s.device });
  const sim = await startSimulator({ ...s.sim, core, bootMs: 0 });
  const client = await MCUmgrClient.connect(sim.connection, { timeoutMs: 3000 });
  try {
    await client.useAutoFrameSize();
    const ctx = client.transferContext();
    const r = await uploadImage(ctx, image, { window });
    if (!core.readSlot(0, 1).subarray(0, image.length).equals(image)) throw new Error(`${s.name}: slot content differs`);
    return { Bps: r.throughput, maxWindow: r.maxWindowUsed, rewinds: r.rewinds, maxRequest: ctx.maxRequest };
  } finally {
    await client.close();
    await sim.close();
  }
}

/** Data bytes per second a serial console link can carry at most, for requests of `maxRequest` bytes. */
function serialBound(baud: number, maxRequest: number): number {
  const data = fitChunk({ off: 100000 }, maxRequest, Infinity);
  const wire = new SerialFraming({ encoding: 'console' }).wireSize(maxRequest);
  return (data / wire) * (baud / 10);
}

const rows: Array<Record<string, string>> = [];
const json: Record<string, number | string> = { bench: 'transfer', image_bytes: size };
for (const s of scenarios) {
  const stop = await once(s, 1);
  const win = await once(s, 'auto');
  const bound = s.baud ? serialBound(s.baud, win.maxRequest) : undefined;
  rows.push({
    scenario: s.name,
    'stop-and-wait KB/s': (stop.Bps / 1024).toFixed(1),
    'window KB/s': (win.Bps / 1024).toFixed(1),
    window: String(win.maxWindow),
    speedup: (win.Bps / stop.Bps).toFixed(2) + '×',
    'bound KB/s': bound ? (bound / 1024).toFixed(1) : '—',
    'window/bound': bound ? ((100 * win.Bps) / bound).toFixed(0) + '%' : '—',
    'stop/bound': bound ? ((100 * stop.Bps) / bound).toFixed(0) + '%' : '—',
  });
  const key = s.name.replace(/[^a-z0-9]+/gi, '_').replace(/_+$/, '').toLowerCase();
  json[`${key}_stop_Bps`] = Math.round(stop.Bps);
  json[`${key}_window_Bps`] = Math.round(win.Bps);
  json[`${key}_speedup`] = Number((win.Bps / stop.Bps).toFixed(3));
}

const cols = Object.keys(rows[0]!);
const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c]!.length)));
console.log(cols.map((c, i) => c.padEnd(width[i]!)).join('  '));
for (const r of rows) console.log(cols.map((c, i) => r[c]!.padEnd(width[i]!)).join('  '));
console.log(JSON.stringify(json));
