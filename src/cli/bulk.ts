/**
 * `mcumgr bulk flash <image> --conn … --conn … | --devices <file>`: a firmware update on many
 * devices at once (worker threads), with a progress bar per device on a terminal, a table (or one
 * JSON document) of results, and exit code 0 only when every device finished (verified, or
 * already running the image).
 *
 * A `sim` / `sim:mcuboot` target starts a simulated device on a UDP port of this process (the
 * workers reach it like any UDP device).
 * @module
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { readFile, writeFile } from 'node:fs/promises';
import type { BulkDeviceResult, BulkOptions, BulkProgressEvent, BulkTarget } from '../bulk/index.js';
import type { Simulator } from '../sim/index.js';
import { parseImage } from '../image/index.js';
import { serializeError } from '../errors.js';
import { clientOptionsOf, parseTarget, RAW_WINDOW_NOTICE } from './connect.js';
import { action, checkLocalInput, parseUint, readLocal, type CliContext } from './context.js';
import { CliExitError, CliUsageError, ExitCode, exitCodeFor, fmtBytes, fmtRate, table, type Output } from './output.js';
import { barLabels } from './labels.js';
import { addServeOptions, checkServeFlags, serveBulk, type ServeFlags, type ServedBulk } from './page-serve.js';

/**
 * Reads a devices file: one connection string per line (blank lines and `#` comments skipped,
 * an optional name after whitespace), or a JSON array of connection strings or
 * `{connection, name?, options?}` objects.
 */
export async function readDevicesFile(path: string): Promise<BulkTarget[]> {
  await checkLocalInput('--devices', path);
  const text = path === '-' ? (await readLocal('--devices', '-')).toString('utf8') : await readFile(path, 'utf8');
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(trimmed);
    } catch (e) {
      throw new CliUsageError(`--devices ${path}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!Array.isArray(v)) throw new CliUsageError(`--devices ${path}: the JSON must be an array of connection strings or {connection, name?} objects`);
    return v.map((t, i) => {
      if (typeof t === 'string') return t;
      if (t && typeof t === 'object' && typeof (t as { connection?: unknown }).connection === 'string') return t as BulkTarget;
      throw new CliUsageError(`--devices ${path}: item ${i} must be a connection string or {connection, name?, options?}`);
    });
  }
  const out: BulkTarget[] = [];
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const [connection, ...rest] = line.split(/\s+/);
    const name = rest.join(' ');
    if (!connection) throw new CliUsageError(`--devices ${path}:${n + 1}: no connection string`);
    out.push(name ? { connection, name } : connection);
  }
  return out;
}

function targetConnection(t: BulkTarget): string {
  return typeof t === 'string' ? t : t.connection;
}

/** Registers `bulk flash`. */
export function registerBulk(program: Command, ctx: CliContext): void {
  const bulk = program.command('bulk').description('many devices at once');

  bulk
    .command('flash')
    .description('firmware update on every --conn device (or those of --devices), in parallel; exit 0 only if all succeed')
    .argument('<image>', 'image file (- for stdin)')
    .option('--devices <file>', 'file with one connection string per line (optional name after it), or a JSON array')
    .option('--mode <test|confirm>', 'test (default): boot once, confirm when it runs; confirm: permanent before the reset', 'test')
    .option('--no-reset', 'do not reset after marking')
    .option('--no-verify', 'do not check after the reset that the new image runs')
    .option('--force', 'upload even when a device already runs this image')
    .option('--concurrency <n>', 'devices worked on at once (default: all, up to 4 per CPU core)')
    .option('--device-retries <n>', 'attempts after the first, per device, for failures before the image was marked', '1')
    .option('--deadline <s>', 'give up on unfinished devices after this many seconds')
    .option('--report <file>', 'write a report of the results (.json, .csv, .xml = JUnit)')
    .action(
      action(
        ctx,
        async (
          env,
          o: ServeFlags & {
            devices?: string;
            mode: string;
            reset: boolean;
            verify: boolean;
            force?: boolean;
            concurrency?: string;
            deviceRetries: string;
            deadline?: string;
            report?: string;
          },
          image: string,
        ) => {
          if (o.mode !== 'test' && o.mode !== 'confirm') throw new CliUsageError(`--mode must be test or confirm, got ${JSON.stringify(o.mode)}`);
          const concurrency = o.concurrency !== undefined ? parseUint('--concurrency', o.concurrency, 1, 1024) : undefined;
          const retries = parseUint('--device-retries', o.deviceRetries, 0, 100);
          const deadlineMs = o.deadline !== undefined ? parseUint('--deadline', o.deadline, 1, 2 ** 31 / 1000 - 1) * 1000 : undefined;
          const serve = await checkServeFlags(o);
          if (image === '-' && o.devices === '-') throw new CliUsageError('the image and --devices cannot both come from stdin');
          const targets: BulkTarget[] = [...env.g.conn];
          if (o.devices !== undefined) targets.push(...(await readDevicesFile(o.devices)));
          if (targets.length === 0) throw new CliUsageError('no devices: pass --conn <string> once per device, or --devices <file>');
          // Check every connection string (and sim spellings) before anything starts.
          const kinds = targets.map((t) => parseTarget(targetConnection(t), '--conn'));
          const raw = kinds.some((k) => k.kind === 'conn' && (k.connection.kind === 'serial' || k.connection.kind === 'usb') && (k.connection.encoding ?? env.g.encoding) === 'raw');
          if (raw && typeof env.g.window === 'number' && env.g.window > 1) env.out.note(RAW_WINDOW_NOTICE(env.g.window));
          await checkLocalInput('image', image);
          const bytes = await readLocal('image', image);
          const info = parseImage(bytes); // ImageFormatError (exit 4) before any device is touched

          const sims: Simulator[] = [];
          const names = new Map<number, string>();
          let served: ServedBulk | undefined;
          try {
            if (kinds.some((k) => k.kind === 'sim')) {
              const { startSimulator } = await import('../sim/index.js');
              let n = 0;
              for (const [i, k] of kinds.entries()) {
                if (k.kind !== 'sim') continue;
                const sim = await startSimulator({ personality: k.personality, transport: 'udp' });
                sims.push(sim);
                const t = targets[i]!;
                const name = typeof t === 'object' && t.name ? t.name : `sim#${++n}`;
                names.set(i, name);
                targets[i] = { connection: sim.connection, name, ...(typeof t === 'object' && t.options ? { options: t.options } : {}) };
                env.out.debug(`${name}: simulated ${k.personality} device at ${sim.connection}`);
              }
            }
            const client = clientOptionsOf(env.g);
            const opts: BulkOptions = {
              mode: o.mode,
              reset: o.reset,
              verify: o.verify,
              retries,
              ...(o.force ? { force: true } : {}),
              ...(concurrency !== undefined ? { concurrency } : {}),
              ...(deadlineMs !== undefined ? { deadlineMs } : {}),
              ...(env.g.window !== undefined ? { window: env.g.window } : {}),
              ...(env.g.frameSize !== undefined ? { autoFrameSize: false } : {}),
              ...(Object.keys(client).length ? { client } : {}),
            };
            const { bulkFlash } = await import('../bulk/index.js');
            const view = progressView(env.out, barLabels(targets.map((t) => (typeof t === 'object' ? (t.name ?? t.connection) : t))), info.size);
            const abort = new AbortController();
            const stop = ctx.waitForStop().then((sig) => {
              env.out.note(`${sig}: stopping; unfinished devices will be reported as aborted`);
              abort.abort(new Error(sig));
            });
            void stop;
            if (serve) served = await serveBulk(ctx, env.out, serve, targets, { version: info.versionString, hash: info.hash.toString('hex'), size: info.size }, abort.signal);
            let report;
            try {
              report = await bulkFlash(targets, bytes, {
                ...opts,
                signal: served?.run.signal ?? abort.signal,
                onProgress: served ? (e) => (view.onProgress(e), served!.run.onProgress(e)) : view.onProgress,
              });
              served?.run.finish(report);
            } finally {
              view.stop();
            }
            if (o.report) {
              const { bulkReportRows, formatOfFile, formatReport } = await import('../fleet/reports.js');
              await writeFile(o.report, formatReport(bulkReportRows(report), formatOfFile(o.report)));
            }
            const devices = report.devices.map((d) => deviceJson(d));
            env.out.result(
              {
                ok: report.ok,
                image: { version: info.versionString, hash: info.hash, size: info.size },
                seconds: report.seconds,
                stopped: report.stopped,
                devices,
              },
              () => resultsTable(report.devices, report.seconds),
            );
            if (!report.ok) {
              const failed = report.devices.filter((d) => !d.ok);
              throw new CliExitError(
                report.stopped === 'abort' ? ExitCode.INTERRUPTED : bulkExitCode(failed),
                'BULK_FAILED',
                `${failed.length} of ${report.devices.length} devices failed: ${failed.map((d) => d.name).join(', ')}`,
              );
            }
          } finally {
            await served?.linger();
            await Promise.all(sims.map((s) => s.close().catch(() => {})));
          }
        },
      ),
    );
  // The station page (--serve, --linger, --token): src/cli/page-serve.ts.
  addServeOptions(bulk.commands.find((c) => c.name() === 'flash')!);
}

/** The exit code of a bulk job with failures: 1 if any device/link error, else 4 if any verification failed, else 3 (timeouts). */
export function bulkExitCode(failed: readonly BulkDeviceResult[]): number {
  const codes = failed.map((d) => (d.error ? exitCodeFor(d.error) : ExitCode.DEVICE));
  if (codes.some((c) => c !== ExitCode.TIMEOUT && c !== ExitCode.VERIFY)) return ExitCode.DEVICE;
  if (codes.includes(ExitCode.VERIFY)) return ExitCode.VERIFY;
  return ExitCode.TIMEOUT;
}

function deviceJson(d: BulkDeviceResult): Record<string, unknown> {
  const { error, ...rest } = d;
  if (!error) return rest;
  const s = serializeError(error);
  return { ...rest, error: { name: s.name, code: s.code ?? 'ERR_UNKNOWN', message: s.message } };
}

function resultsTable(devices: readonly BulkDeviceResult[], seconds: number): string {
  const ok = devices.filter((d) => d.ok).length;
  return (
    table(
      ['device', 'result', 'step', 'sent', 'time', 'throughput', 'detail'],
      devices.map((d) => [
        d.name,
        d.ok ? (d.alreadyInstalled ? 'ok (already)' : d.verified ? 'ok (verified)' : 'ok') : 'FAILED',
        d.step,
        sentText(d),
        `${d.seconds.toFixed(1)} s`,
        fmtRate(d.throughput),
        d.error ? `${d.error.message} (${(d.error as { code?: string }).code ?? d.error.name})` : d.attempts > 1 ? `${d.attempts} attempts` : '',
      ]),
    ) + `\n${ok}/${devices.length} devices ok in ${seconds.toFixed(1)} s`
  );
}

interface ProgressView {
  onProgress(e: BulkProgressEvent): void;
  stop(): void;
}

/** One bar per device on a terminal; otherwise a line per finished device at -v. */
function progressView(out: Output, labels: readonly string[], size: number): ProgressView {
  if (!out.progressEnabled) {
    return {
      onProgress: (e) => {
        if (e.state === 'ok' || e.state === 'failed') out.debug(`${e.name}: ${e.state} at ${e.step}${e.error ? `: ${e.error.message}` : ''}`);
        else if (e.state === 'retrying') out.debug(`${e.name}: retrying (attempt ${e.attempt})`);
      },
      stop: () => {},
    };
  }
  const multi = new cliProgress.MultiBar(
    {
      stream: out.streams.stderr,
      format: '{name} [{bar}] {percentage}% | {step} | {speed}',
      hideCursor: true,
      clearOnComplete: false,
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<number, cliProgress.SingleBar>();
  return {
    onProgress: (e) => {
      let bar = bars.get(e.index);
      const name = labels[e.index] ?? e.name;
      const step = e.state === 'ok' ? 'ok' : e.state === 'failed' ? `FAILED (${e.step})` : e.state === 'retrying' ? `retry ${e.attempt}` : e.step;
      const payload = { name, step: step.padEnd(12), speed: e.rate > 0 ? fmtRate(e.rate) : '' };
      if (!bar) {
        bar = multi.create(Math.max(e.total || size, 1), e.bytes, payload);
        bars.set(e.index, bar);
      } else bar.update(e.bytes, payload);
    },
    stop: () => multi.stop(),
  };
}

/** Bytes that crossed the link, and what the device already held (`already in slot`, `resumed at offset N`). */
function sentText(d: BulkDeviceResult): string {
  const sent = fmtBytes(d.sent ?? d.bytes);
  if (d.alreadyInSlot) return `${sent} (already in slot)`;
  if (d.resumedAt !== undefined) return `${sent} (resumed at offset ${d.resumedAt})`;
  return sent;
}
