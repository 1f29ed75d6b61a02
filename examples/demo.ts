/**
 * `npm run demo`: a production line in a box.
 *
 * Starts N simulated Zephyr boards on real PTYs in a child process of their own, builds a valid
 * MCUboot image, and images every board at once on the worker-thread pool (upload, confirm, reset,
 * verify) with a live progress bar per board and a total; then prints a summary table. Exits 0
 * only when every board runs and has confirmed the new image.
 *
 *   npm run demo -- [--devices 8] [--baud 115200] [--size 96] [--window auto] [--encoding console]
 *
 * On a terminal the bars redraw in place; elsewhere (CI logs, pipes) each step prints as a line.
 */
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { bulkFlash, BulkProgressTally, type BulkProgressEvent, type BulkReport } from '../src/bulk/index.js';
import { buildImage, parseImage } from '../src/image/index.js';
import { spawnSimulatorProcess, type SimulatorProcess } from '../src/sim/child.js';
import { deviceLabel } from '../src/cli/labels.js';

interface DemoArgs {
  devices: number;
  baud: number;
  sizeKiB: number;
  window: number | 'auto';
  encoding: 'console' | 'raw' | 'cobs';
  deadlineS: number;
}

const USAGE = `usage: npm run demo -- [options]
  --devices N      simulated boards (default 8)
  --baud B         UART speed of each board (default 115200)
  --size KiB       image body size (default 96)
  --window W       upload window: auto or 1..16 (default auto)
  --encoding E     serial framing: console, raw or cobs (default console)
  --deadline S     give up after S seconds (default 180)`;

function parseArgs(argv: string[]): DemoArgs {
  const a: DemoArgs = { devices: 8, baud: 115200, sizeKiB: 96, window: 'auto', encoding: 'console', deadlineS: 180 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const [name, inline] = flag.includes('=') ? (flag.split('=', 2) as [string, string]) : [flag, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) fail(`${name} needs a value`);
      return v;
    };
    const int = (lo: number, hi: number): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < lo || n > hi) fail(`${name} must be an integer ${lo}..${hi}, got ${v}`);
      return n;
    };
    switch (name) {
      case '--devices':
        a.devices = int(1, 64);
        break;
      case '--baud':
        a.baud = int(1200, 4_000_000);
        break;
      case '--size':
        a.sizeKiB = int(1, 1024);
        break;
      case '--window': {
        const v = inline ?? argv[i + 1];
        if (v === 'auto') {
          if (inline === undefined) i++;
          a.window = 'auto';
        } else a.window = int(1, 16);
        break;
      }
      case '--encoding': {
        const v = value();
        if (v !== 'console' && v !== 'raw' && v !== 'cobs') fail(`--encoding must be console, raw or cobs, got ${v}`);
        a.encoding = v;
        break;
      }
      case '--deadline':
        a.deadlineS = int(5, 3600);
        break;
      case '-h':
      case '--help':
        console.log(USAGE);
        process.exit(0);
      default:
        fail(`unknown option ${flag}`);
    }
  }
  return a;
}

function fail(msg: string): never {
  console.error(`demo: ${msg}\n${USAGE}`);
  process.exit(2);
}

const kb = (bytesPerSec: number): string => (bytesPerSec / 1024).toFixed(1);
const kib = (bytes: number): string => (bytes / 1024).toFixed(1).padStart(5);

/** Live bars on a terminal: one per board and a total. */
function barsView(names: string[], total: number): { onEvent: (e: BulkProgressEvent) => void; stop: () => void } {
  const multi = new MultiBar(
    {
      format: ' {name} |{bar}| {percentage}% {kib} KiB {kbs} KB/s w{window} {step}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      barsize: 20,
      fps: 10,
      autopadding: true,
    },
    Presets.shades_classic,
  );
  const width = Math.max(5, ...names.map((n) => n.length));
  const pad = (s: string): string => s.padEnd(width);
  const bars: SingleBar[] = names.map((n) => multi.create(total, 0, { name: pad(n), kib: kib(0), kbs: '0.0', window: '-', step: 'queued' }));
  const tally = new BulkProgressTally(names.length);
  const sum = multi.create(total * names.length, 0, { name: pad('TOTAL'), kib: kib(0), kbs: '0.0', window: '-', step: '' });
  return {
    onEvent: (e) => {
      if (!tally.update(e)) return;
      const step = e.state === 'failed' ? `FAILED in ${e.step}: ${e.error?.name ?? ''}` : e.state === 'ok' ? 'verified' : e.step;
      bars[e.index]!.setTotal(e.total || total);
      const value = e.state === 'ok' ? e.total || total : e.bytes;
      bars[e.index]!.update(value, {
        kib: kib(value),
        kbs: kb(e.rate),
        window: e.window ? String(e.window) : '-',
        step,
      });
      const t = tally.totals();
      sum.setTotal(Math.max(1, t.total));
      // While boards upload, the sum of their rates; after the last upload, the average over the run.
      sum.update(t.bytes, { kib: kib(t.bytes), kbs: kb(t.rate > 0 ? t.rate : t.averageRate), step: `${t.succeeded} ok ${t.failed} failed ${t.devices - t.finished} busy` });
    },
    stop: () => multi.stop(),
  };
}

/** Plain lines off a terminal: one per step change, and the upload at each quarter. */
function linesView(t0: number): { onEvent: (e: BulkProgressEvent) => void; stop: () => void } {
  const seen = new Map<number, string>();
  return {
    onEvent: (e) => {
      const quarter = e.step === 'upload' && e.total ? Math.floor((4 * e.bytes) / e.total) : -1;
      const key = `${e.state}/${e.step}/${e.attempt}/${quarter}`;
      if (seen.get(e.index) === key) return;
      seen.set(e.index, key);
      const at = ((performance.now() - t0) / 1000).toFixed(1).padStart(6);
      let what: string = e.step;
      if (e.state === 'ok') what = `ok (${e.detail ?? 'verified'})`;
      else if (e.state === 'failed') what = `FAILED in ${e.step}: ${e.error?.name}: ${e.error?.message}`;
      else if (e.state === 'retrying') what = `retrying: ${e.detail ?? ''}`;
      else if (e.step === 'upload') what = `upload ${Math.round((100 * e.bytes) / (e.total || 1))}% ${kb(e.rate)} KB/s window ${e.window}`;
      console.log(`${at}s ${e.name}: ${what}`);
    },
    stop: () => {},
  };
}

function printSummary(report: BulkReport): void {
  const rows = report.devices.map((d) => [
    d.name,
    d.ok ? 'ok' : `FAILED (${d.step}: ${d.error?.name ?? 'Error'})`,
    d.seconds.toFixed(1),
    kb(d.throughput),
    String(d.window),
    String(d.rewinds),
    String(d.attempts),
    d.verified ? 'yes' : 'no',
  ]);
  const head = ['device', 'result', 'time s', 'KB/s', 'window', 'rewinds', 'attempts', 'verified'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i >= 2 && i <= 6 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  console.log('');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  const okCount = report.devices.filter((d) => d.ok && d.verified).length;
  const bytes = report.devices.reduce((s, d) => s + (d.sent ?? d.bytes), 0); // what crossed the links
  console.log('');
  console.log(
    `${okCount}/${report.devices.length} boards verified in ${report.seconds.toFixed(1)} s; ` +
      `${(bytes / 1024).toFixed(0)} KiB sent, ${kb(bytes / report.seconds)} KB/s aggregate` +
      (report.stopped ? `; stopped by ${report.stopped}` : ''),
  );
  for (const d of report.devices) if (d.error) console.log(`  ${d.name}: ${d.error.name} (${(d.error as { code?: string }).code ?? '-'}): ${d.error.message}`);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();

  const image = buildImage({ size: args.sizeKiB * 1024, version: '1.1.0', seed: 2024 });
  const info = parseImage(image);
  console.log(
    `image: ${info.size} bytes, version ${info.versionString}, hash ${info.hash.toString('hex').slice(0, 16)}…; ` +
      `${args.devices} simulated Zephyr boards at ${args.baud} baud (${args.encoding} framing), window ${args.window}`,
  );

  let sims: SimulatorProcess | undefined;
  const killSims = (): void => {
    const c = sims?.child;
    if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  process.once('exit', killSims);
  const controller = new AbortController();
  const onSignal = (): void => {
    controller.abort(new Error('interrupted'));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    sims = await spawnSimulatorProcess({
      count: args.devices,
      options: { personality: 'zephyr', transport: 'pty', encoding: args.encoding, baudRate: args.baud, seed: 7 },
    });
    console.log(`boards up in ${((performance.now() - t0) / 1000).toFixed(1)} s (child process ${sims.child.pid})`);
    // Each board's name says which PTY it is on (what `mcumgr -c serial:…` would open).
    const names = sims.connections.map((c, i) => `board-${String(i + 1).padStart(2, '0')} ${deviceLabel(c).replace(/^\/dev\//, '')}`);
    const view = process.stdout.isTTY ? barsView(names, info.size) : linesView(t0);
    let report: BulkReport;
    try {
      report = await bulkFlash(
        sims.connections.map((connection, i) => ({ connection, name: names[i]! })),
        image,
        {
          concurrency: args.devices,
          mode: 'confirm',
          reset: true,
          verify: true,
          window: args.window,
          deadlineMs: args.deadlineS * 1000,
          signal: controller.signal,
          onProgress: view.onEvent,
        },
      );
    } finally {
      view.stop();
    }
    printSummary(report);
    const allVerified = report.devices.every((d) => d.ok && d.verified);
    return allVerified ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await sims?.close().catch(() => killSims());
    killSims();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`demo failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    process.exitCode = 1;
  },
);
