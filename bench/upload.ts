/**
 * Image upload and file download, stop-and-wait vs the adaptive window, on two simulated links,
 * side by side in one run; and the memory a 64 MiB image streamed from a file costs.
 *
 *   npm run bench:upload [-- --uart-kib 32 --usb-kib 512 --mem-mib 64 --usb-netbuf 4096]
 *
 * (a) a 115200-baud UART (8N1) with Zephyr's default line buffers (128 × 2) and net_bufs (384 × 4),
 *     device processing 1 ms per request, flash writing at 64 KiB/s;
 * (b) a USB-CDC-like link: 1 MB/s each way with flow control (no line-buffer drops), 1 ms latency
 *     each way, 4 net_bufs of 4096 bytes, device processing 2 ms per request, flash at 1 MB/s.
 * Both use console framing over a real PTY. The bound of a link is the smaller of its framing bound
 * (data bytes / wire bytes of a full chunk × bytes per second) and the device's flash rate.
 * Throughput is the streaming rate, between the answers to the first and to the next-to-last chunk:
 * the slot erase before the first answer and the whole-image hash before the last one are one-off
 * costs, not part of the stream; the total rate including them is printed too.
 */
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createZephyrDevice } from '../src/sim/device/zephyr.js';
import { startSimulator, type SimulatorOptions } from '../src/sim/simulator.js';
import { MCUmgrClient } from '../src/client.js';
import { buildImage } from '../src/image/index.js';
import { uploadImage, downloadFile, fitChunk } from '../src/transfer/index.js';
import { SerialFraming } from '../src/transport/framing.js';

const { values } = parseArgs({
  options: {
    'uart-kib': { type: 'string', default: '32' },
    'usb-kib': { type: 'string', default: '512' },
    'mem-mib': { type: 'string', default: '64' },
    'usb-netbuf': { type: 'string', default: '4096' },
  },
});

interface Link {
  name: string;
  bytesPerSec: number;
  sim: Omit<SimulatorOptions, 'core'>;
  device: Parameters<typeof createZephyrDevice>[0];
  flashBytesPerSec: number;
  requestMs: number;
  imageKiB: number;
  describe: string;
}

const UART: Link = {
  name: 'uart',
  bytesPerSec: 11520,
  sim: { transport: 'pty', encoding: 'console', baudRate: 115200 },
  device: { requestMs: 1, writeBytesPerMs: 65.536 },
  flashBytesPerSec: 65536,
  requestMs: 1,
  imageKiB: Number(values['uart-kib']),
  describe: '115200 baud 8N1, line buffers 128×2, netbuf 384×4, 1 ms/request, flash 64 KiB/s',
};
const USB: Link = {
  name: 'usb',
  bytesPerSec: 1_000_000,
  sim: { transport: 'pty', encoding: 'console', baudRate: 10_000_000, latencyMs: 1 },
  device: { netbufSize: Number(values['usb-netbuf']), netbufCount: 4, lineBufCount: 1024, requestMs: 2, writeBytesPerMs: 1000 },
  flashBytesPerSec: 1_000_000,
  requestMs: 2,
  imageKiB: Number(values['usb-kib']),
  describe: `1 MB/s each way, flow control (1024 line buffers), 1 ms latency each way, netbuf ${values['usb-netbuf']}×4, 2 ms/request, flash 1 MB/s`,
};

interface Run {
  steadyBps: number;
  totalBps: number;
  window: number;
  rewinds: number;
  maxRequest: number;
}

/**
 * The simulator paces the PTY itself; a PTY ignores the host's termios speed, and 10 Mbaud is not
 * a standard rate termios accepts, so the client opens it at a standard one.
 */
function hostSide(connection: string): string {
  return connection.replace(/baud=\d+/, 'baud=115200');
}

async function upload(link: Link, window: 1 | 'auto'): Promise<Run> {
  const image = buildImage({ size: link.imageKiB * 1024, version: '5.0.0', seed: 17 });
  const core = createZephyrDevice({ slotSize: Math.ceil((image.length + 64 * 1024) / 4096) * 4096, ...link.device });
  const sim = await startSimulator({ ...link.sim, core, bootMs: 0 });
  const client = await MCUmgrClient.connect(hostSide(sim.connection), { timeoutMs: 5000 });
  try {
    await client.useAutoFrameSize();
    const acks: { t: number; done: number }[] = [];
    const ctx = client.transferContext();
    const r = await uploadImage(ctx, image, { window, onProgress: (p) => acks.push({ t: performance.now(), done: p.done }) });
    const steady = streamingRate(acks);
    if (!core.readSlot(0, 1).subarray(0, image.length).equals(image)) throw new Error(`${link.name}: slot content differs`);
    return { steadyBps: steady, totalBps: r.throughput, window: r.maxWindowUsed, rewinds: r.rewinds, maxRequest: ctx.maxRequest };
  } finally {
    await client.close();
    await sim.close();
  }
}

async function download(link: Link, window: 1 | 'auto'): Promise<{ Bps: number; window: number }> {
  const file = buildImage({ size: 256 * 1024, version: '1.0.0', seed: 3 });
  const core = createZephyrDevice({ ...link.device, files: { '/lfs/big.bin': file } });
  const sim = await startSimulator({ ...link.sim, core, bootMs: 0 });
  const client = await MCUmgrClient.connect(hostSide(sim.connection), { timeoutMs: 5000 });
  try {
    await client.useAutoFrameSize();
    const r = await downloadFile(client.transferContext(), '/lfs/big.bin', { window });
    if (!r.data.equals(file)) throw new Error('download differs');
    return { Bps: r.throughput, window: r.maxWindowUsed };
  } finally {
    await client.close();
    await sim.close();
  }
}

/**
 * The streaming rate: from the answer to the first chunk (the device erased the slot before it) to
 * the answer before the last one (Zephyr hashes the whole slot before it answers the last chunk:
 * 131 ms for 512 KiB at the simulated 4 MB/s read rate). Both one-off costs are in the total rate.
 */
function streamingRate(acks: { t: number; done: number }[]): number {
  if (acks.length < 3) throw new Error(`too few answers to measure a rate (${acks.length})`);
  const a = acks[0]!;
  const b = acks[acks.length - 2]!;
  return ((b.done - a.done) * 1000) / (b.t - a.t);
}

function framingBound(link: Link, maxRequest: number): number {
  const data = fitChunk({ off: 1_000_000 }, maxRequest, Infinity);
  const wire = new SerialFraming({ encoding: 'console' }).wireSize(maxRequest);
  return (data / wire) * link.bytesPerSec;
}

/** Peak RSS growth of a process that streams a large image from a file to a device in another process. */
async function memory(mib: number): Promise<{ baselineMiB: number; peakMiB: number; growthMiB: number; seconds: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'mcumgr-bench-'));
  try {
    const probe = fileURLToPath(new URL('./upload-memory.ts', import.meta.url));
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', probe, String(mib), join(dir, 'big.bin')], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`memory probe exited ${code}`))));
    });
    return JSON.parse(out.trim().split('\n').at(-1)!);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const results: Record<string, number> = {};
const lines: string[] = [];
for (const link of [UART, USB]) {
  const stop = await upload(link, 1);
  const win = await upload(link, 'auto');
  const bound = Math.min(framingBound(link, win.maxRequest), link.flashBytesPerSec);
  // What the device itself can take: each full chunk costs its processing time plus its flash write.
  const chunk = fitChunk({ off: 1_000_000 }, win.maxRequest, Infinity);
  const deviceBound = chunk / (link.requestMs / 1000 + chunk / link.flashBytesPerSec);
  const bound2 = Math.min(bound, deviceBound);
  lines.push(
    `${link.name.padEnd(4)}  ${link.describe}\n` +
      `      image ${link.imageKiB} KiB, requests ≤ ${win.maxRequest} B, bound ${(bound / 1024).toFixed(1)} KiB/s ` +
      `(framing ${(framingBound(link, win.maxRequest) / 1024).toFixed(1)}, flash ${(link.flashBytesPerSec / 1024).toFixed(1)})\n` +
      `      stop-and-wait ${(stop.steadyBps / 1024).toFixed(1)} KiB/s (${((100 * stop.steadyBps) / bound).toFixed(0)}% of bound, ${(stop.totalBps / 1024).toFixed(1)} with the erase and the final check)\n` +
      `      window        ${(win.steadyBps / 1024).toFixed(1)} KiB/s (${((100 * win.steadyBps) / bound).toFixed(0)}% of bound, ${(win.totalBps / 1024).toFixed(1)} with the erase and the final check), ` +
      `window ${win.window}, rewinds ${win.rewinds}; speedup ${(win.steadyBps / stop.steadyBps).toFixed(2)}×\n` +
      `      with the device's ${link.requestMs} ms per request counted, the bound is ${(bound2 / 1024).toFixed(1)} KiB/s: window at ${((100 * win.steadyBps) / bound2).toFixed(0)}%`,
  );
  results[`${link.name}_fraction_of_device_bound`] = Number((win.steadyBps / bound2).toFixed(3));
  results[`${link.name}_fraction_of_bound`] = Number((win.steadyBps / bound).toFixed(3));
  results[`${link.name}_stop_fraction_of_bound`] = Number((stop.steadyBps / bound).toFixed(3));
  results[`${link.name}_window_speedup`] = Number((win.steadyBps / stop.steadyBps).toFixed(3));
  results[`${link.name}_window_Bps`] = Math.round(win.steadyBps);
  results[`${link.name}_stop_Bps`] = Math.round(stop.steadyBps);
  results[`${link.name}_bound_Bps`] = Math.round(bound);
}
const dStop = await download(USB, 1);
const dWin = await download(USB, 'auto');
lines.push(
  `download (usb link, 256 KiB file): stop-and-wait ${(dStop.Bps / 1024).toFixed(1)} KiB/s, window ${(dWin.Bps / 1024).toFixed(1)} KiB/s ` +
    `(window ${dWin.window}); speedup ${(dWin.Bps / dStop.Bps).toFixed(2)}×`,
);
results.download_window_speedup = Number((dWin.Bps / dStop.Bps).toFixed(3));
const mib = Number(values['mem-mib']);
if (mib > 0) {
  const m = await memory(mib);
  lines.push(
    `memory: a ${mib} MiB image streamed from a file over UDP (device in another process): RSS ${m.baselineMiB.toFixed(1)} → peak ` +
      `${m.peakMiB.toFixed(1)} MiB, growth ${m.growthMiB.toFixed(1)} MiB, ${m.seconds.toFixed(1)} s`,
  );
  results.memory_image_mib = mib;
  results.memory_peak_rss_growth_mib = Number(m.growthMiB.toFixed(1));
}
for (const l of lines) console.log(l);
console.log(JSON.stringify({ bench: 'upload', ...results }));
