/**
 * Bulk imaging on the worker-thread pool: how the aggregate throughput scales with the number of
 * devices when every link is throttled (the link, not the CPU, is the limit), and how quiet the
 * main thread's event loop stays while the pool works, against the same work done on the main
 * thread.
 *
 *   npm run bench:bulk [-- --transport pty --baud 115200 --size 96 --counts 1,2,4,8,16,32 --procs 2 --page on|off]
 *
 * The simulated Zephyr boards run in child processes of their own (`--procs`, the boards dealt
 * out between them), so this process is only the host. For each N the first N boards get a full
 * `bulkFlash` update (upload, confirm, reset, verify) of an image they do not run yet:
 *
 * - every board first gets a small unmarked upload (not measured), so that every measured run
 *   finds the same state: something in the secondary slot, which the update erases first;
 * - aggregate throughput = image bytes of all N boards / wall time of the `bulkFlash` call;
 * - scaling efficiency = aggregate(N) / (N × aggregate(1)), so 1.00 at N = 1 by construction;
 * - the wall time is split into ramp (call → the last board starts its upload: pool threads
 *   start, connect, state read), upload, and tail (the last upload ends → the call returns:
 *   confirm, reset, reconnect, verify, pool shutdown).
 *
 * Then, with the largest N, the main thread's event-loop delay (`monitorEventLoopDelay`) during
 * that pool run and during the same N updates run at once on the main thread
 * (`MCUmgrClient.firmwareUpdate`, no pool), each over the whole job and over the stretch where
 * every board uploads. The histogram's samples are timer intervals (resolution + delay); the
 * figures are the delay (sample − resolution; the raw p99 is shown too). Next to them: the main
 * thread's event-loop utilisation (the share of time it ran JavaScript or native callbacks) and,
 * from /proc (Linux), its CPU time and the time it sat runnable on the scheduler's queue waiting
 * for a core: a delay with a low utilisation and a long queue wait comes from CPU contention on
 * the machine, not from work on the main thread. An idle stretch (no job) gives the machine's
 * own noise. CPU use of this process and of the simulator processes is given per run as a share
 * of one core.
 *
 * With `--page on` (default), the largest N runs once more with the station page served
 * (`servePage` + `pageBulkRun`) and a headless Chromium following it: its efficiency should stay
 * within 5 % of the plain pool run's.
 *
 * The last line is one JSON object: `{"bench":"bulk","devices":32,"scaling_efficiency":…, …}`.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { bulkFlash } from '../src/bulk/index.js';
import { MCUmgrClient } from '../src/client.js';
import { buildImage } from '../src/image/index.js';
import { spawnSimulatorProcess, type SimulatorProcess } from '../src/sim/child.js';
import type { SimulatorOptions } from '../src/sim/simulator.js';
import type { PageBulkRun } from '../src/page/index.js';

const { values } = parseArgs({
  options: {
    transport: { type: 'string', default: 'pty' },
    baud: { type: 'string', default: '115200' },
    latency: { type: 'string', default: '0' },
    size: { type: 'string', default: '96' },
    counts: { type: 'string', default: '1,2,4,8,16,32' },
    procs: { type: 'string', default: '2' },
    threads: { type: 'string' },
    resolution: { type: 'string', default: '10' },
    idle: { type: 'string', default: '3' },
    deadline: { type: 'string', default: '180' },
    page: { type: 'string', default: 'on' },
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
const idleSeconds = Number(values.idle);
const deadlineMs = Number(values.deadline) * 1000;
for (const [k, v] of Object.entries({ baud, latency: latencyMs, size: sizeBytes, procs, threads: threads ?? 1, resolution: resolutionMs, idle: idleSeconds, deadline: deadlineMs })) {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`bench:bulk: bad --${k}`);
}
if (resolutionMs < 1) throw new RangeError('bench:bulk: --resolution must be at least 1 ms');
if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 256)) throw new RangeError('bench:bulk: --counts takes integers 1..256');

/* ------------------------------------------------------------------------------------------ */
/* Measuring helpers                                                                          */
/* ------------------------------------------------------------------------------------------ */

const USER_HZ = 100;

/** CPU seconds (user + system) a process has used, from /proc (Linux); undefined elsewhere. */
function procCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / USER_HZ; // utime, stime
  } catch {
    return undefined;
  }
}

/** Busy and total ticks of the whole machine (/proc/stat). */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'latin1').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.reduce((a, b) => a + b, 0);
    return { busy: total - cpu[3]! - (cpu[4] ?? 0), total };
  } catch {
    return undefined;
  }
}

/** The main thread's scheduler counters (/proc/self/task/<pid>/schedstat): ns on a CPU, ns waiting on a run queue, timeslices. */
function mainSchedstat(): [number, number, number] | undefined {
  try {
    const [run, wait, slices] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'latin1').trim().split(/\s+/).map(Number);
    return [run!, wait!, slices!];
  } catch {
    return undefined;
  }
}

/** What the main thread and the machine did over a stretch of time. */
interface Usage {
  /** CPU of this whole process (main thread + pool threads), share of one core. */
  self: number;
  /** CPU of each simulator process, share of one core. */
  sims: number[];
  /** Busy share of every core of the machine (everyone's processes). */
  machine: number | undefined;
  /** Event-loop utilisation of the main thread, 0..1. */
  elu: number;
  /** Main thread: CPU ms, ms waiting for a core, and timeslices (Linux). */
  mainCpuMs: number;
  mainWaitMs: number;
  mainSlices: number;
}

class UsageMeter {
  readonly #self = process.cpuUsage();
  readonly #sims: Array<number | undefined>;
  readonly #machine = machineTicks();
  readonly #elu: EventLoopUtilization = performance.eventLoopUtilization();
  readonly #sched = mainSchedstat();
  readonly #t0 = performance.now();

  constructor(private readonly simProcs: SimulatorProcess[]) {
    this.#sims = simProcs.map((s) => procCpuSeconds(s.child.pid));
  }

  stop(): Usage {
    const wall = (performance.now() - this.#t0) / 1000;
    const d = process.cpuUsage(this.#self);
    const m = machineTicks();
    const s = mainSchedstat();
    return {
      self: (d.user + d.system) / 1e6 / wall,
      sims: this.simProcs.map((p, i) => {
        const a = this.#sims[i];
        const b = procCpuSeconds(p.child.pid);
        return a !== undefined && b !== undefined ? (b - a) / wall : NaN;
      }),
      machine: this.#machine && m ? (m.busy - this.#machine.busy) / Math.max(1, m.total - this.#machine.total) : undefined,
      elu: performance.eventLoopUtilization(this.#elu).utilization,
      mainCpuMs: s && this.#sched ? (s[0] - this.#sched[0]) / 1e6 : NaN,
      mainWaitMs: s && this.#sched ? (s[1] - this.#sched[1]) / 1e6 : NaN,
      mainSlices: s && this.#sched ? s[2] - this.#sched[2] : NaN,
    };
  }
}

interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
  rawP99: number;
  samples: number;
}

function loopDelay(h: IntervalHistogram): LoopDelay {
  if (h.count === 0) return { p50: NaN, p99: NaN, max: NaN, rawP99: NaN, samples: 0 };
  const ms = (ns: number): number => Math.max(0, ns / 1e6 - resolutionMs);
  return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), rawP99: h.percentile(99) / 1e6, samples: h.count };
}

/** The main thread's event-loop delay and usage while nothing runs but the idle simulators. */
async function idleStretch(seconds: number, sims: SimulatorProcess[]): Promise<{ loop: LoopDelay; usage: Usage }> {
  const h = monitorEventLoopDelay({ resolution: resolutionMs });
  const meter = new UsageMeter(sims);
  h.enable();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  h.disable();
  return { loop: loopDelay(h), usage: meter.stop() };
}

/**
 * Upload start and end per board, from progress events (their `at` stamps, on the Date.now()
 * scale), and a second event-loop histogram over the stretch where every board uploads: from the
 * last board's upload start to the first board's upload end.
 */
class UploadSpans {
  readonly start = new Map<number, number>();
  readonly end = new Map<number, number>();
  readonly steady = monitorEventLoopDelay({ resolution: resolutionMs });
  constructor(readonly n: number) {}

  mark(i: number, step: string, at: number): void {
    if (step === 'upload') {
      if (this.start.has(i)) return;
      this.start.set(i, at);
      if (this.start.size === this.n && this.end.size === 0) this.steady.enable();
    } else if (this.start.has(i) && !this.end.has(i)) {
      if (this.end.size === 0) this.steady.disable();
      this.end.set(i, at);
    }
  }

  /** Seconds from `t0` (Date.now() scale) to the last board's upload start, and from the last upload end to `t1`. */
  phases(t0: number, t1: number): { ramp: number; tail: number } {
    if (this.start.size < this.n || this.end.size < this.n) return { ramp: NaN, tail: NaN };
    return { ramp: (Math.max(...this.start.values()) - t0) / 1000, tail: (t1 - Math.max(...this.end.values())) / 1000 };
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Runs                                                                                       */
/* ------------------------------------------------------------------------------------------ */

interface DeviceOutcome {
  ok: boolean;
  bytes: number;
  throughput: number;
  error?: string;
}

interface RunResult {
  how: 'pool' | 'inline' | 'page';
  n: number;
  ok: number;
  wall: number;
  ramp: number;
  tail: number;
  bytes: number;
  aggregate: number;
  perDeviceMean: number;
  perDeviceMin: number;
  usage: Usage;
  /** Event-loop delay over the whole job. */
  loop: LoopDelay;
  /** … and while every board uploads. */
  steady: LoopDelay;
  failures: string[];
}

let imageSerial = 0;
/** A new image for each run: every board already runs the previous one (and `force` is not used). */
function nextImage(): Buffer {
  imageSerial++;
  return buildImage({ size: sizeBytes, version: `2.${imageSerial}.0`, seed: 1000 + imageSerial });
}

/** Client settings of both ways: quick deadlines, two resends of a lost read. */
const clientOptions = { timeoutMs: 3000, longTimeoutMs: 15000, retries: 2 };

/** Runs one job against `conns` and measures it. */
async function measure(
  how: 'pool' | 'inline' | 'page',
  conns: string[],
  sims: SimulatorProcess[],
  job: (image: Buffer, spans: UploadSpans) => Promise<DeviceOutcome[]>,
): Promise<RunResult> {
  const image = nextImage();
  const spans = new UploadSpans(conns.length);
  const h = monitorEventLoopDelay({ resolution: resolutionMs });
  const meter = new UsageMeter(sims);
  h.enable();
  const t0 = performance.now();
  const d0 = performance.timeOrigin + t0;
  const outcomes = await job(image, spans);
  const t1 = performance.now();
  h.disable();
  spans.steady.disable();
  const usage = meter.stop();
  const wall = (t1 - t0) / 1000;
  const bytes = outcomes.reduce((s, d) => s + d.bytes, 0);
  const tp = outcomes.filter((d) => d.ok).map((d) => d.throughput);
  return {
    how,
    n: conns.length,
    ok: outcomes.filter((d) => d.ok).length,
    wall,
    ...spans.phases(d0, performance.timeOrigin + t1),
    bytes,
    aggregate: bytes / wall,
    perDeviceMean: tp.length ? tp.reduce((a, b) => a + b, 0) / tp.length : 0,
    perDeviceMin: tp.length ? Math.min(...tp) : 0,
    usage,
    loop: loopDelay(h),
    steady: loopDelay(spans.steady),
    failures: outcomes.flatMap((d) => (d.error ? [d.error] : [])),
  };
}

/** N boards updated by `bulkFlash` on its worker pool; with `follow`, a station page shows the run. */
function poolRun(conns: string[], sims: SimulatorProcess[], follow?: () => PageBulkRun): Promise<RunResult> {
  return measure(follow ? 'page' : 'pool', conns, sims, async (image, spans) => {
    const run = follow?.();
    const report = await bulkFlash(conns, image, {
      concurrency: conns.length,
      ...(threads !== undefined ? { threads } : {}),
      mode: 'confirm',
      deadlineMs,
      client: clientOptions,
      ...(run ? { signal: run.signal } : {}),
      onProgress: (e) => {
        spans.mark(e.index, e.step, e.at);
        run?.onProgress(e);
      },
    });
    run?.finish(report);
    return report.devices.map((d) => ({
      ok: d.ok && d.verified,
      bytes: d.bytes,
      throughput: d.throughput,
      ...(d.ok ? {} : { error: `${d.name}: ${d.step} ${d.error?.name}: ${d.error?.message}` }),
    }));
  });
}

/** The same N updates, each on its own client, all on this thread at once (no pool). */
function inlineRun(conns: string[], sims: SimulatorProcess[]): Promise<RunResult> {
  return measure('inline', conns, sims, (image, spans) =>
    Promise.all(
      conns.map(async (c, i): Promise<DeviceOutcome> => {
        let client: MCUmgrClient | undefined;
        try {
          client = await MCUmgrClient.connect(c, clientOptions);
          await client.useAutoFrameSize();
          const r = await client.firmwareUpdate(image, {
            mode: 'confirm',
            onStep: (step) => spans.mark(i, step, performance.timeOrigin + performance.now()),
          });
          return { ok: r.step === 'done', bytes: r.upload?.bytes ?? 0, throughput: r.upload?.throughput ?? 0 };
        } catch (e) {
          return { ok: false, bytes: 0, throughput: 0, error: `${c}: ${(e as Error).name}: ${(e as Error).message}` };
        } finally {
          await client?.close().catch(() => undefined);
        }
      }),
    ),
  );
}

/** The largest N again, with the station page served and a real browser following it. */
async function pageRun(conns: string[], sims: SimulatorProcess[]): Promise<RunResult & { rowsShown: number; browserCpu: number | undefined }> {
  const { servePage, pageBulkRun } = await import('../src/page/index.js');
  const { launchChromium } = await import('../test/chromium.js');
  const page = await servePage();
  const browser = await launchChromium();
  try {
    const tab = await browser.newPage();
    await tab.goto(page.url, { waitUntil: 'domcontentloaded' });
    while (page.clients === 0) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 2000)); // the browser's own start-up work settles first
    const pid = browser.process()?.pid;
    const cpu0 = procCpuSeconds(pid);
    const r = await poolRun(conns, sims, () => pageBulkRun(page, conns, { title: `bench:bulk N=${conns.length}` }));
    const cpu1 = procCpuSeconds(pid);
    page.flush();
    const seq = page.snapshot().seq;
    await tab.waitForFunction((s: number) => Number((globalThis as unknown as { document: { body: { dataset: { seq?: string } } } }).document.body.dataset.seq) >= s, { timeout: 10_000 }, seq);
    const rowsShown = await tab.$$eval('#rows tr[data-state="ok"]', (rows: unknown[]) => rows.length);
    const browserCpu = cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - cpu0) / r.wall : undefined;
    return { ...r, rowsShown, browserCpu };
  } finally {
    await browser.close();
    await page.close();
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Output                                                                                     */
/* ------------------------------------------------------------------------------------------ */

const kb = (bps: number): string => (bps / 1024).toFixed(1);
const pct = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '—' : `${Math.round(100 * x)}%`);
const fix = (x: number, d = 2): string => (Number.isNaN(x) ? '—' : x.toFixed(d));
const r3 = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);

function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
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
};

async function main(): Promise<number> {
  const t0 = performance.now();
  const sims: SimulatorProcess[] = [];
  const killAll = (): void => {
    for (const s of sims) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  try {
    const per = Math.ceil(maxN / procs);
    const started = await Promise.allSettled(
      Array.from({ length: procs }, (_, p) =>
        spawnSimulatorProcess({ count: Math.min(per, maxN - p * per), options: { ...simOptions, seed: 11 + 1000 * p } }, { timeoutMs: 60000 }),
      ),
    );
    for (const s of started) if (s.status === 'fulfilled') sims.push(s.value);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    // Deal the boards out so that every N spreads over every simulator process.
    const conns: string[] = [];
    for (let i = 0; conns.length < maxN; i++) for (const s of sims) if (i < s.connections.length) conns.push(s.connections[i]!);

    const link =
      transport === 'pty'
        ? `PTY, console framing at ${baud} baud`
        : `UDP${baud > 0 ? `, paced at ${baud} bit/s per board` : ''}${latencyMs > 0 ? `, ${latencyMs} ms each way` : ''}`;
    console.log(
      `bench:bulk: ${sizeBytes} B image, update (upload, confirm, reset, verify) over ${link}; ${maxN} simulated Zephyr boards ` +
        `in ${procs} child process(es), up in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${availableParallelism()} cores, ` +
        `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; pool threads: ${threads ?? 'bulkFlash default'}`,
    );

    // Every measured run must find its boards in the same state. A board whose secondary slot is
    // erased takes its first chunk without erasing; one that holds anything there (the image an
    // earlier run swapped out) erases the image's pages first (~1 s for 96 KiB at 40 ms a page).
    // So before measuring, every board gets a small unmarked upload: from then on each run erases.
    const prime = await bulkFlash(conns, buildImage({ size: 2048, version: '1.0.1', seed: 1 }), {
      job: 'upload',
      concurrency: maxN,
      ...(threads !== undefined ? { threads } : {}),
      deadlineMs,
      client: clientOptions,
    });
    if (!prime.ok) throw new Error(`priming the boards failed: ${prime.devices.filter((d) => !d.ok).map((d) => `${d.name}: ${d.error?.message}`).join('; ')}`);
    const idle = await idleStretch(idleSeconds, sims);
    const runs: RunResult[] = [];
    for (const n of counts) {
      const r = await poolRun(conns.slice(0, n), sims);
      runs.push(r);
      console.log(`  pool   N=${String(n).padStart(2)}: ${r.ok}/${n} verified in ${r.wall.toFixed(1)} s${r.failures.length ? `; ${r.failures.join('; ')}` : ''}`);
    }
    const paged = values.page === 'off' ? undefined : await pageRun(conns.slice(0, maxN), sims);
    if (paged) console.log(`  page   N=${String(maxN).padStart(2)}: ${paged.ok}/${maxN} verified in ${paged.wall.toFixed(1)} s, ${paged.rowsShown} rows ok in the browser, browser CPU ${pct(paged.browserCpu)}${paged.failures.length ? `; ${paged.failures.join('; ')}` : ''}`);
    // The same run without the page once more, right after: the page row is compared with the
    // mean of the two plain runs around it, so a drift in the machine's load does not count.
    const again = paged ? await poolRun(conns.slice(0, maxN), sims) : undefined;
    if (again) console.log(`  pool   N=${String(maxN).padStart(2)}: ${again.ok}/${maxN} verified in ${again.wall.toFixed(1)} s (again, after the page run)`);
    const inline = await inlineRun(conns.slice(0, maxN), sims);
    console.log(`  inline N=${String(maxN).padStart(2)}: ${inline.ok}/${maxN} verified in ${inline.wall.toFixed(1)} s${inline.failures.length ? `; ${inline.failures.join('; ')}` : ''}`);

    const one = runs.find((r) => r.n === 1) ?? runs[0]!;
    const base = one.aggregate / one.n;
    const eff = (r: RunResult): number => r.aggregate / (r.n * base);
    const big = runs.find((r) => r.n === maxN)!;

    console.log('');
    table(
      ['run', 'N', 'verified', 'wall s', 'ramp s', 'tail s', 'KiB', 'aggregate KB/s', 'efficiency', 'per-board KB/s mean/min', 'host CPU', 'sims CPU', 'machine busy'],
      [...runs, ...(paged ? [paged] : []), ...(again ? [again] : []), inline].map((r) => [
        r.how,
        String(r.n),
        `${r.ok}/${r.n}`,
        fix(r.wall),
        fix(r.ramp),
        fix(r.tail),
        (r.bytes / 1024).toFixed(0),
        kb(r.aggregate),
        eff(r).toFixed(2),
        `${kb(r.perDeviceMean)}/${kb(r.perDeviceMin)}`,
        pct(r.usage.self),
        r.usage.sims.map(pct).join('+'),
        pct(r.usage.machine),
      ]),
    );
    console.log('(efficiency = aggregate / (N × aggregate at N=1); ramp = call → last board starts uploading; tail = last upload ends → call returns)');

    console.log('');
    console.log(`main thread while ${maxN} boards are updated (event-loop delay = sample − ${resolutionMs} ms resolution; queue wait = time runnable without a core):`);
    const loopRow = (name: string, l: LoopDelay, u: Usage | undefined): string[] => [
      name,
      fix(l.p50),
      fix(l.p99),
      fix(l.max),
      fix(l.rawP99),
      String(l.samples),
      u ? pct(u.elu) : '',
      u ? fix(u.mainCpuMs, 0) : '',
      u ? fix(u.mainWaitMs, 0) : '',
      u ? pct(u.machine) : '',
    ];
    table(
      ['stretch', 'p50 ms', 'p99 ms', 'max ms', 'raw p99 ms', 'samples', 'loop util', 'main CPU ms', 'queue wait ms', 'machine busy'],
      [
        loopRow(`idle, no job (${idleSeconds} s)`, idle.loop, idle.usage),
        loopRow('pool, whole job', big.loop, big.usage),
        loopRow('pool, all uploading', big.steady, undefined),
        loopRow('inline, whole job', inline.loop, inline.usage),
        loopRow('inline, all uploading', inline.steady, undefined),
      ],
    );

    const effBig = eff(big);
    console.log('');
    console.log(
      `targets: scaling efficiency at ${maxN} boards ≥ 0.8: ${effBig.toFixed(2)} ${effBig >= 0.8 ? 'met' : 'MISSED'}; ` +
        `main-loop p99 with the pool ≤ 20 ms: ${big.loop.p99.toFixed(2)} ms ${big.loop.p99 <= 20 ? 'met' : 'MISSED'}`,
    );

    const without = again ? (effBig + eff(again)) / 2 : effBig;
    const rel = paged ? eff(paged) / without : NaN;
    if (paged) {
      console.log(`targets: with the page served and a browser connected, efficiency within 5% of without: ${eff(paged).toFixed(2)} vs ${without.toFixed(2)} (mean of the plain runs before and after; ${pct(rel)}) ${rel >= 0.95 ? 'met' : 'MISSED'}`);
    }

    const json: Record<string, unknown> = {
      bench: 'bulk',
      devices: maxN,
      scaling_efficiency: r3(effBig),
      main_loop_p99_ms_pool: r3(big.loop.p99),
      main_loop_p99_ms_inline: r3(inline.loop.p99),
      main_loop_p50_ms_pool: r3(big.loop.p50),
      main_loop_p50_ms_inline: r3(inline.loop.p50),
      main_loop_max_ms_pool: r3(big.loop.max),
      main_loop_max_ms_inline: r3(inline.loop.max),
      main_loop_p99_ms_pool_all_uploading: r3(big.steady.p99),
      main_loop_p99_ms_inline_all_uploading: r3(inline.steady.p99),
      main_loop_p99_ms_idle: r3(idle.loop.p99),
      main_loop_resolution_ms: resolutionMs,
      main_loop_utilization_pool: r3(big.usage.elu),
      main_loop_utilization_inline: r3(inline.usage.elu),
      main_thread_queue_wait_ms_pool: r3(big.usage.mainWaitMs),
      main_thread_queue_wait_ms_inline: r3(inline.usage.mainWaitMs),
      efficiency_by_n: Object.fromEntries(runs.map((r) => [r.n, r3(eff(r))])),
      aggregate_Bps_by_n: Object.fromEntries(runs.map((r) => [r.n, Math.round(r.aggregate)])),
      wall_s_by_n: Object.fromEntries(runs.map((r) => [r.n, r3(r.wall)])),
      ramp_s_by_n: Object.fromEntries(runs.map((r) => [r.n, r3(r.ramp)])),
      tail_s_by_n: Object.fromEntries(runs.map((r) => [r.n, r3(r.tail)])),
      one_device_Bps: Math.round(base),
      per_device_upload_Bps_n1: Math.round(one.perDeviceMean),
      per_device_upload_Bps_mean: Math.round(big.perDeviceMean),
      per_device_upload_Bps_min: Math.round(big.perDeviceMin),
      inline_aggregate_Bps: Math.round(inline.aggregate),
      inline_scaling_efficiency: r3(eff(inline)),
      inline_wall_s: r3(inline.wall),
      inline_ramp_s: r3(inline.ramp),
      verified: big.ok,
      inline_verified: inline.ok,
      image_bytes: sizeBytes,
      transport,
      baud,
      latency_ms: latencyMs,
      sim_processes: procs,
      threads: threads ?? Math.min(maxN, availableParallelism()),
      cores: availableParallelism(),
      host_cpu_pool: r3(big.usage.self),
      host_cpu_inline: r3(inline.usage.self),
      sims_cpu_pool: r3(big.usage.sims.reduce((a, b) => a + b, 0)),
      machine_busy_pool: r3(big.usage.machine ?? NaN),
      load_average_1m: r3(loadavg()[0]!),
      ...(paged
        ? {
            page_scaling_efficiency: r3(eff(paged)),
            page_pool_efficiency_around: r3(without),
            page_over_pool: r3(rel),
            page_verified: paged.ok,
            page_rows_ok_in_browser: paged.rowsShown,
            host_cpu_page: r3(paged.usage.self),
            browser_cpu_page: r3(paged.browserCpu ?? NaN),
          }
        : {}),
      total_seconds: r3((performance.now() - t0) / 1000),
    };
    console.log(JSON.stringify(json));
    return runs.every((r) => r.ok === r.n) && inline.ok === inline.n && (!paged || paged.ok === paged.n) && (!again || again.ok === again.n) ? 0 : 1;
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
