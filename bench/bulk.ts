/**
 * Bulk imaging on the worker-thread pool: how the aggregate throughput scales with the number of
 * devices when every link is throttled (the link, not the CPU, is the limit), and how quiet the
 * main thread's event loop stays while the pool works, against the same work done on the main
 * thread.
 *
 *   npm run bench:bulk [-- --transport pty --baud 115200 --size 64 --counts 1,2,4,8,16,32 --procs 2]
 *
 * The simulated Zephyr boards run in child processes of their own (`--procs`, the devices split
 * between them), so this process is only the host. For each N the first N boards get a full
 * `bulkFlash` update (upload, confirm, reset, verify) of an image they do not run yet:
 *
 * - aggregate throughput = image bytes of all N boards / wall time of the `bulkFlash` call;
 * - scaling efficiency = aggregate(N) / (N × aggregate(1)), so 1.00 at N = 1 by construction;
 * - "upload window" throughput = the same bytes over the time from the first board's upload
 *   start to the last board's upload end (no pool start, reset or verify in it).
 *
 * Then, with the largest N, the main thread's event-loop delay (`monitorEventLoopDelay`) during a
 * pool run (the N = max row above) and during the same N updates run concurrently on the main
 * thread (`MCUmgrClient.firmwareUpdate`, no pool). The histogram's samples are timer intervals
 * (resolution + delay); the figures given are the delay, i.e. the sample minus the resolution
 * (the raw p99 is printed too). CPU time of this process and of the simulator processes is given
 * per run, as a share of one core (the machine has `os.availableParallelism()` of them).
 *
 * The last line is one JSON object: `{"bench":"bulk","devices":32,"scaling_efficiency":…, …}`.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { bulkFlash, type BulkProgressEvent, type BulkReport } from '../src/bulk/index.js';
import { MCUmgrClient } from '../src/client.js';
import { buildImage } from '../src/image/index.js';
import { spawnSimulatorProcess, type SimulatorProcess } from '../src/sim/child.js';
import type { SimulatorOptions } from '../src/sim/simulator.js';

const { values } = parseArgs({
  options: {
    transport: { type: 'string', default: 'pty' },
    baud: { type: 'string', default: '115200' },
    latency: { type: 'string', default: '0' },
    size: { type: 'string', default: '64' },
    counts: { type: 'string', default: '1,2,4,8,16,32' },
    procs: { type: 'string', default: '2' },
    threads: { type: 'string' },
    resolution: { type: 'string', default: '10' },
    deadline: { type: 'string', default: '120' },
  },
});

const transport = values.transport === 'udp' ? 'udp' : 'pty';
const baud = Number(values.baud);
const latencyMs = Number(values.latency);
const sizeBytes = Math.round(Number(values.size) * 1024);
const counts = values.counts.split(',').map(Number);
const maxN = Math.max(...counts);
const procs = Math.max(1, Math.min(Number(values.procs), maxN));
const threads = values.threads !== undefined ? Number(values.threads) : undefined;
const resolutionMs = Number(values.resolution);
const deadlineMs = Number(values.deadline) * 1000;
for (const [k, v] of Object.entries({ baud, latencyMs, sizeBytes, maxN, procs, resolutionMs, deadlineMs })) {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`bad --${k}`);
}
if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 256)) throw new RangeError('--counts: integers 1..256');

/* ------------------------------------------------------------------------------------------ */
/* Measuring helpers                                                                          */
/* ------------------------------------------------------------------------------------------ */

/** CPU seconds (user + system) a process has used, from /proc (Linux); undefined elsewhere. */
function procCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

/** Whole-machine busy fraction between two /proc/stat readings. */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'latin1').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.reduce((a, b) => a + b, 0);
    const idle = cpu[3]! + (cpu[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

interface CpuMark {
  self: NodeJS.CpuUsage;
  sims: Array<number | undefined>;
  machine: ReturnType<typeof machineTicks>;
}

function cpuMark(sims: SimulatorProcess[]): CpuMark {
  return { self: process.cpuUsage(), sims: sims.map((s) => procCpuSeconds(s.child.pid)), machine: machineTicks() };
}

/** CPU use since `m`, as a share of one core (1.0 = one core busy all the time). */
function cpuSince(m: CpuMark, sims: SimulatorProcess[], wall: number): { self: number; sims: number[]; machine: number | undefined } {
  const d = process.cpuUsage(m.self);
  const now = machineTicks();
  return {
    self: (d.user + d.system) / 1e6 / wall,
    sims: sims.map((s, i) => {
      const a = m.sims[i];
      const b = procCpuSeconds(s.child.pid);
      return a !== undefined && b !== undefined ? (b - a) / wall : NaN;
    }),
    machine: m.machine && now ? (now.busy - m.machine.busy) / Math.max(1, now.total - m.machine.total) : undefined,
  };
}

interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
  rawP99: number;
  samples: number;
}

/** Event-loop delay of this thread while nothing but the idle simulators runs: the machine's own noise. */
async function idleLoop(seconds: number): Promise<LoopDelay> {
  const h = monitorEventLoopDelay({ resolution: resolutionMs });
  h.enable();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  h.disable();
  return loopDelay(h);
}

function loopDelay(h: IntervalHistogram): LoopDelay {
  if (h.count === 0) return { p50: NaN, p99: NaN, max: NaN, rawP99: NaN, samples: 0 };
  const ms = (ns: number): number => Math.max(0, ns / 1e6 - resolutionMs);
  return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), rawP99: h.percentile(99) / 1e6, samples: h.count };
}

/* ------------------------------------------------------------------------------------------ */
/* Runs                                                                                       */
/* ------------------------------------------------------------------------------------------ */

interface RunResult {
  n: number;
  ok: number;
  wall: number;
  bytes: number;
  aggregate: number;
  uploadWindow: number;
  perDeviceMean: number;
  perDeviceMin: number;
  cpu: ReturnType<typeof cpuSince>;
  loop?: LoopDelay;
  /** Loop delay while every device uploads (no pool start, no reset). */
  steady?: LoopDelay;
  failures: string[];
}

let imageSerial = 0;
/** A new image each run: every board already runs the previous one (and `force` is not used). */
function nextImage(): Buffer {
  imageSerial++;
  return buildImage({ size: sizeBytes, version: `2.${imageSerial}.0`, seed: 1000 + imageSerial });
}

const clientOptions = { timeoutMs: 3000, longTimeoutMs: 15000, retries: 2 };

/** Upload start/end per device from progress events (stamped where they were made). */
class UploadSpan {
  readonly start = new Map<number, number>();
  readonly end = new Map<number, number>();
  /**
   * Event-loop delay from the last device's upload start to the first device's upload end: every
   * device uploads then (no thread start, connect, reset or verify in it).
   */
  readonly steady: IntervalHistogram | undefined;
  constructor(
    readonly n: number,
    withLoop: boolean,
  ) {
    this.steady = withLoop ? monitorEventLoopDelay({ resolution: resolutionMs }) : undefined;
  }
  mark(i: number, step: string, at: number): void {
    if (step === 'upload') {
      if (!this.start.has(i)) {
        this.start.set(i, at);
        if (this.start.size === this.n && this.end.size === 0) this.steady?.enable();
      }
    } else if (this.start.has(i) && !this.end.has(i)) {
      if (this.end.size === 0) this.steady?.disable();
      this.end.set(i, at);
    }
  }
  seconds(): number {
    if (this.start.size === 0 || this.end.size === 0) return NaN;
    return (Math.max(...this.end.values()) - Math.min(...this.start.values())) / 1000;
  }
}

async function poolRun(conns: string[], sims: SimulatorProcess[], withLoop: boolean): Promise<RunResult> {
  const image = nextImage();
  const span = new UploadSpan(conns.length, withLoop);
  const h = withLoop ? monitorEventLoopDelay({ resolution: resolutionMs }) : undefined;
  const mark = cpuMark(sims);
  h?.enable();
  const t0 = performance.now();
  const report: BulkReport = await bulkFlash(conns, image, {
    concurrency: conns.length,
    ...(threads !== undefined ? { threads } : {}),
    mode: 'confirm',
    deadlineMs,
    client: clientOptions,
    onProgress: (e: BulkProgressEvent) => span.mark(e.index, e.step, e.at),
  });
  const wall = (performance.now() - t0) / 1000;
  h?.disable();
  span.steady?.disable();
  const cpu = cpuSince(mark, sims, wall);
  const bytes = report.devices.reduce((s, d) => s + d.bytes, 0);
  const tp = report.devices.filter((d) => d.ok).map((d) => d.throughput);
  return {
    n: conns.length,
    ok: report.devices.filter((d) => d.ok && d.verified).length,
    wall,
    bytes,
    aggregate: bytes / wall,
    uploadWindow: bytes / span.seconds(),
    perDeviceMean: tp.length ? tp.reduce((a, b) => a + b, 0) / tp.length : 0,
    perDeviceMin: tp.length ? Math.min(...tp) : 0,
    cpu,
    ...(h ? { loop: loopDelay(h) } : {}),
    ...(span.steady ? { steady: loopDelay(span.steady) } : {}),
    failures: report.devices.filter((d) => !d.ok).map((d) => `${d.name}: ${d.step} ${d.error?.name}: ${d.error?.message}`),
  };
}

/** The same N updates, each on its own client, all on this thread at once. */
async function inlineRun(conns: string[], sims: SimulatorProcess[]): Promise<RunResult> {
  const image = nextImage();
  const span = new UploadSpan(conns.length, true);
  const h = monitorEventLoopDelay({ resolution: resolutionMs });
  const mark = cpuMark(sims);
  h.enable();
  const t0 = performance.now();
  const results = await Promise.all(
    conns.map(async (c, i) => {
      let client: MCUmgrClient | undefined;
      try {
        client = await MCUmgrClient.connect(c, clientOptions);
        await client.useAutoFrameSize();
        const r = await client.firmwareUpdate(image, {
          mode: 'confirm',
          onStep: (step) => span.mark(i, step, performance.timeOrigin + performance.now()),
        });
        return { ok: r.step === 'done', bytes: r.upload?.bytes ?? 0, throughput: r.upload?.throughput ?? 0, error: undefined };
      } catch (e) {
        return { ok: false, bytes: 0, throughput: 0, error: `${c}: ${(e as Error).name}: ${(e as Error).message}` };
      } finally {
        await client?.close().catch(() => undefined);
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  h.disable();
  span.steady?.disable();
  const cpu = cpuSince(mark, sims, wall);
  const bytes = results.reduce((s, r) => s + r.bytes, 0);
  const tp = results.filter((r) => r.ok).map((r) => r.throughput);
  return {
    n: conns.length,
    ok: results.filter((r) => r.ok).length,
    wall,
    bytes,
    aggregate: bytes / wall,
    uploadWindow: bytes / span.seconds(),
    perDeviceMean: tp.length ? tp.reduce((a, b) => a + b, 0) / tp.length : 0,
    perDeviceMin: tp.length ? Math.min(...tp) : 0,
    cpu,
    loop: loopDelay(h),
    steady: loopDelay(span.steady!),
    failures: results.flatMap((r) => (r.error ? [r.error] : [])),
  };
}

/* ------------------------------------------------------------------------------------------ */
/* Main                                                                                       */
/* ------------------------------------------------------------------------------------------ */

const simOptions: SimulatorOptions = {
  personality: 'zephyr',
  transport,
  ...(transport === 'pty' ? { encoding: 'console' as const } : {}),
  ...(baud > 0 ? { baudRate: baud } : {}),
  ...(latencyMs > 0 ? { latencyMs } : {}),
  seed: 11,
};

const kb = (bps: number): string => (bps / 1024).toFixed(1);
const pct = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '—' : `${Math.round(100 * x)}%`);

async function main(): Promise<number> {
  const t0 = performance.now();
  const sims: SimulatorProcess[] = [];
  const killAll = (): void => {
    for (const s of sims) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  try {
    const per = Math.ceil(maxN / procs);
    const started = await Promise.all(
      Array.from({ length: procs }, (_, p) =>
        spawnSimulatorProcess({ count: Math.min(per, maxN - p * per), options: { ...simOptions, seed: 11 + 1000 * p } }, { timeoutMs: 60000 }),
      ),
    );
    sims.push(...started);
    // Interleave the processes' devices so every N spreads over all of them.
    const byProc = sims.map((s) => s.connections);
    const conns: string[] = [];
    for (let i = 0; conns.length < maxN; i++) for (const list of byProc) if (i < list.length) conns.push(list[i]!);

    const link =
      transport === 'pty'
        ? `PTY console framing at ${baud} baud`
        : `UDP${baud > 0 ? ` paced at ${baud} bit/s per device` : ''}${latencyMs > 0 ? `, ${latencyMs} ms each way` : ''}`;
    console.log(
      `bulk bench: ${sizeBytes} B image, ${link}; ${maxN} simulated Zephyr boards in ${procs} child process(es) ` +
        `(pids ${sims.map((s) => s.child.pid).join(', ')}), up in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
        `${availableParallelism()} cores (load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}); pool threads ${threads ?? 'default'}`,
    );

    const idle = await idleLoop(3);
    const runs: RunResult[] = [];
    for (const n of counts) {
      const r = await poolRun(conns.slice(0, n), sims, n === maxN);
      runs.push(r);
      console.log(`  pool N=${n}: ${r.ok}/${n} verified in ${r.wall.toFixed(1)} s${r.failures.length ? `; ${r.failures.join('; ')}` : ''}`);
    }
    const inline = await inlineRun(conns.slice(0, maxN), sims);
    console.log(`  inline N=${maxN}: ${inline.ok}/${maxN} verified in ${inline.wall.toFixed(1)} s${inline.failures.length ? `; ${inline.failures.join('; ')}` : ''}`);

    const one = runs.find((r) => r.n === 1) ?? runs[0]!;
    const base = one.aggregate / one.n;
    const baseUp = one.uploadWindow / one.n;
    const eff = (r: RunResult): number => r.aggregate / (r.n * base);
    const effUp = (r: RunResult): number => r.uploadWindow / (r.n * baseUp);

    const head = ['run', 'N', 'ok', 'wall s', 'KiB', 'aggr KB/s', 'efficiency', 'upload-window KB/s', 'eff (upload)', 'per-dev KB/s mean/min', 'host CPU', 'sims CPU', 'machine busy'];
    const row = (name: string, r: RunResult): string[] => [
      name,
      String(r.n),
      `${r.ok}/${r.n}`,
      r.wall.toFixed(2),
      (r.bytes / 1024).toFixed(0),
      kb(r.aggregate),
      eff(r).toFixed(2),
      kb(r.uploadWindow),
      effUp(r).toFixed(2),
      `${kb(r.perDeviceMean)}/${kb(r.perDeviceMin)}`,
      pct(r.cpu.self),
      r.cpu.sims.map(pct).join('+'),
      pct(r.cpu.machine),
    ];
    const rows = [...runs.map((r) => row('pool', r)), row('inline', inline)];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    console.log('');
    console.log(line(head));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const r of rows) console.log(line(r));

    const big = runs.find((r) => r.n === maxN)!;
    const lp = big.loop!;
    const li = inline.loop!;
    console.log('');
    console.log(`main-thread event-loop delay while ${maxN} boards are flashed (resolution ${resolutionMs} ms; delay = sample − resolution):`);
    const lhead = ['where', 'p50 ms', 'p99 ms', 'max ms', 'raw p99 ms', 'samples'];
    const lrow = (name: string, l: LoopDelay): string[] => [name, l.p50.toFixed(2), l.p99.toFixed(2), l.max.toFixed(2), l.rawP99.toFixed(2), String(l.samples)];
    const lrows = [
      lrow('idle (3 s, no job)', idle),
      lrow('pool, whole job', lp),
      lrow('pool, all uploading', big.steady!),
      lrow('inline, whole job', li),
      lrow('inline, all uploading', inline.steady!),
    ];
    const lw = lhead.map((h, i) => Math.max(h.length, ...lrows.map((r) => r[i]!.length)));
    const lline = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(lw[i]!) : c.padStart(lw[i]!))).join('  ');
    console.log(lline(lhead));
    for (const r of lrows) console.log(lline(r));
    console.log('');
    console.log(
      `targets: scaling efficiency at ${maxN} ≥ 0.8: ${eff(big).toFixed(2)} ${eff(big) >= 0.8 ? 'met' : 'MISSED'}; ` +
        `main-loop p99 with the pool ≤ 20 ms: ${lp.p99.toFixed(2)} ms ${lp.p99 <= 20 ? 'met' : 'MISSED'}`,
    );

    const r3 = (x: number): number => Math.round(x * 1000) / 1000;
    const json: Record<string, unknown> = {
      bench: 'bulk',
      devices: maxN,
      scaling_efficiency: r3(eff(big)),
      main_loop_p99_ms_pool: r3(lp.p99),
      main_loop_p99_ms_inline: r3(li.p99),
      main_loop_p50_ms_pool: r3(lp.p50),
      main_loop_p50_ms_inline: r3(li.p50),
      main_loop_max_ms_pool: r3(lp.max),
      main_loop_max_ms_inline: r3(li.max),
      main_loop_p99_ms_pool_uploading: r3(big.steady!.p99),
      main_loop_p99_ms_inline_uploading: r3(inline.steady!.p99),
      main_loop_p99_ms_idle: r3(idle.p99),
      main_loop_resolution_ms: resolutionMs,
      scaling_efficiency_upload_window: r3(effUp(big)),
      per_device_upload_Bps_1: Math.round(one.perDeviceMean),
      per_device_upload_Bps_mean: Math.round(big.perDeviceMean),
      per_device_upload_Bps_min: Math.round(big.perDeviceMin),
      efficiency_by_n: Object.fromEntries(runs.map((r) => [r.n, r3(eff(r))])),
      aggregate_Bps_by_n: Object.fromEntries(runs.map((r) => [r.n, Math.round(r.aggregate)])),
      one_device_Bps: Math.round(base),
      inline_aggregate_Bps: Math.round(inline.aggregate),
      inline_scaling_efficiency: r3(eff(inline)),
      verified: big.ok,
      inline_verified: inline.ok,
      image_bytes: sizeBytes,
      transport,
      baud,
      latency_ms: latencyMs,
      sim_processes: procs,
      threads: threads ?? Math.min(maxN, availableParallelism()),
      cores: availableParallelism(),
      host_cpu_pool: r3(big.cpu.self),
      host_cpu_inline: r3(inline.cpu.self),
      sims_cpu_pool: r3(big.cpu.sims.reduce((a, b) => a + b, 0)),
      load_average_1m_at_end: r3(loadavg()[0]!),
      total_seconds: r3((performance.now() - t0) / 1000),
    };
    console.log(JSON.stringify(json));
    return runs.every((r) => r.ok === r.n) && inline.ok === inline.n ? 0 : 1;
  } finally {
    await Promise.all(sims.map((s) => s.close().catch(() => undefined)));
    killAll();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`bench:bulk failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
  },
);
