/**
 * Pipelined (window buf_count − 1) vs stop-and-wait image upload over the simulated BLE link,
 * side by side in one run: 7.5 ms connection interval, ATT MTU 247, 4 link-layer packets per
 * event each way, Zephyr net_bufs 2475 × 4, reassembly on.
 *
 *   npm run bench:ble [-- --size 262144]
 *
 * Throughput is measured from the answer to the first chunk (which also erases the slot, the same
 * for both) to the end. The bound is the link model's ceiling for the same requests:
 *   per chunk, T = max(T_radio, T_device), where
 *   T_radio  = link-layer packets the central sent per request / packets per event × interval
 *              (the central writes back to back across requests; answers go the other way);
 *   T_device = D + one exchange (interval / packets per event), D = the flash write of one
 *              chunk (chunk bytes / write speed): Zephyr's SMP thread takes the next request
 *              only once its notification has gone out and been acknowledged, at best one
 *              exchange after the work ends;
 *   bound = data bytes per chunk / T.
 */
import { parseArgs } from 'node:util';
import { MCUmgrClient } from '../src/client.js';
import { buildImage } from '../src/image/index.js';
import { startBleSimulator } from '../src/sim/ble/index.js';
import { createZephyrDevice } from '../src/sim/device/zephyr.js';

const { values } = parseArgs({ options: { size: { type: 'string', default: String(192 * 1024) } } });
const size = Number(values.size);
const image = buildImage({ size, version: '9.9.9', seed: 42 });
const LINK = { connIntervalMs: 7.5, attMtu: 247, packetsPerEvent: 4 };

interface Profile {
  name: string;
  writeBytesPerMs: number;
}
const profiles: Profile[] = [
  { name: 'flash 100 B/ms (nRF52840-like)', writeBytesPerMs: 100 },
  { name: 'flash 1000 B/ms (radio-bound)', writeBytesPerMs: 1000 },
];

interface Run {
  Bps: number;
  boundBps: number;
  maxWindow: number;
  rewinds: number;
  chunks: number;
}

async function once(p: Profile, window: number | 'auto'): Promise<Run> {
  const core = createZephyrDevice({ netbufSize: 2475, netbufCount: 4, slotSize: 1024 * 1024, writeBytesPerMs: p.writeBytesPerMs, eraseMsPerPage: 10 });
  const sim = startBleSimulator({ ...LINK, core });
  const client = await MCUmgrClient.ble(sim.target, { adapter: sim.adapter, timeoutMs: 5000 });
  try {
    await client.useAutoFrameSize();
    let t1 = 0;
    let b1 = 0;
    let before = sim.stats();
    const r = await client.image.upload(image, {
      window,
      onProgress: (pr) => {
        if (t1 === 0 && pr.done > 0) {
          t1 = performance.now();
          b1 = pr.done;
          before = sim.stats();
        }
      },
    });
    const t2 = performance.now();
    const after = sim.stats();
    if (!core.readSlot(0, 1).subarray(0, image.length).equals(image)) throw new Error(`${p.name}: slot content differs`);
    const chunks = after.handled - before.handled;
    const data = (image.length - b1) / chunks;
    const tRadio = ((after.llUp - before.llUp) / chunks / LINK.packetsPerEvent) * LINK.connIntervalMs;
    const tDevice = data / p.writeBytesPerMs + LINK.connIntervalMs / LINK.packetsPerEvent;
    return { Bps: (image.length - b1) / ((t2 - t1) / 1000), boundBps: data / (Math.max(tRadio, tDevice) / 1000), maxWindow: r.maxWindowUsed, rewinds: r.rewinds, chunks };
  } finally {
    await client.close();
    await sim.close();
  }
}

const rows: string[][] = [];
const figures: Array<{ ratio: number; fraction: number }> = [];
for (const p of profiles) {
  const stop = await once(p, 1);
  const win = await once(p, 'auto');
  const ratio = win.Bps / stop.Bps;
  const fraction = win.Bps / win.boundBps;
  figures.push({ ratio, fraction });
  rows.push([p.name, (stop.Bps / 1024).toFixed(1), (win.Bps / 1024).toFixed(1), String(win.maxWindow), String(win.rewinds), ratio.toFixed(2), (win.boundBps / 1024).toFixed(1), fraction.toFixed(3)]);
}
const head = ['device', 'stop KiB/s', 'window KiB/s', 'W', 'rewinds', 'window/stop', 'bound KiB/s', 'of bound'];
const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (r: string[]): string => r.map((c, i) => c.padEnd(width[i]!)).join('  ');
console.log(`BLE upload of ${size} bytes: interval ${LINK.connIntervalMs} ms, ATT MTU ${LINK.attMtu}, ${LINK.packetsPerEvent} packets/event, netbuf 2475 × 4`);
console.log(line(head));
for (const r of rows) console.log(line(r));
const r3 = (n: number): number => Number(n.toFixed(3));
// The headline figures are the first profile's (a device like most BLE boards); the radio-bound ones follow.
console.log(
  JSON.stringify({
    bench: 'ble',
    window_over_stop: r3(figures[0]!.ratio),
    fraction_of_bound: r3(figures[0]!.fraction),
    radio_bound_window_over_stop: r3(figures[1]!.ratio),
    radio_bound_fraction_of_bound: r3(figures[1]!.fraction),
  }),
);
