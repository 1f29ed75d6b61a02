/**
 * `mcumgr bench`: measures a device's transfer throughput. Uploads sweep the frame size (the
 * request size the client uses, up to the device's `buf_size`) and the window (requests in
 * flight); downloads sweep the window. Prints a table with each run's throughput relative to
 * stop-and-wait at the same frame size, and, when the device's SMP buffer is what limits it, the
 * Zephyr Kconfig options to raise.
 * @module
 */
import type { Command } from 'commander';
import type { MCUmgrClient } from '../client.js';
import { SmpDeviceError } from '../errors.js';
import { buildImage, deterministicBytes } from '../image/index.js';
import type { TransferResult } from '../transfer/index.js';
import { action, parseRemotePath, parseUint, type CliContext } from './context.js';
import { CliUsageError, errorCode, errorMessage, fmtBytes, fmtRate, table } from './output.js';

/** One measured run. */
export interface BenchRun {
  direction: 'upload' | 'download';
  /** Frame size used (upload), or undefined for downloads (the device picks the read size). */
  frameSize: number | undefined;
  window: number | 'auto';
  bytes: number;
  seconds: number;
  /** Bytes per second; 0 when the run failed. */
  throughput: number;
  maxWindowUsed: number;
  rewinds: number;
  timeouts: number;
  /** Throughput relative to window 1 at the same frame size (1 = same). */
  relative?: number;
  /** Why the run failed. */
  error?: { code: string; message: string };
}

const DEFAULT_FRAME_SIZES = [128, 256, 384, 512, 1024, 2048, 4096];
/** The frame size Zephyr's defaults give (MCUMGR_TRANSPORT_NETBUF_SIZE). */
const ZEPHYR_DEFAULT_NETBUF = 384;
/** Where throughput stops growing much with the buffer on typical MCUs (toolkit README). */
const RECOMMENDED_NETBUF = 4096;

/** Parses a comma-separated list of numbers (and `auto` when allowed). */
export function parseList(name: string, text: string, min: number, max: number, allowAuto: boolean): Array<number | 'auto'> {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new CliUsageError(`${name} must be a comma-separated list, e.g. ${allowAuto ? '1,2,4,auto' : '256,1024,4096'}`);
  const out: Array<number | 'auto'> = [];
  for (const s of items) {
    if (allowAuto && s === 'auto') out.push('auto');
    else out.push(parseUint(name, s, min, max));
  }
  return [...new Set(out)];
}

/**
 * The Kconfig advice for a device whose SMP buffer limits the throughput, or `[]`.
 * @param bufSize the device's `buf_size`, or undefined when it does not report it.
 * @param limited the fastest upload used the largest frame size the device accepts.
 */
export function kconfigAdvice(bufSize: number | undefined, bufCount: number | undefined, limited: boolean, serial: boolean): string[] {
  const lines: string[] = [];
  if (bufSize === undefined) {
    lines.push(
      'The device does not report its SMP buffer (os params answered "not supported"); enable',
      '  CONFIG_MCUMGR_GRP_OS_MCUMGR_PARAMS=y',
      `so clients can use frames as large as its buffer (now assumed: ${ZEPHYR_DEFAULT_NETBUF} bytes, Zephyr's default).`,
    );
    return lines;
  }
  if (!limited || bufSize >= RECOMMENDED_NETBUF) return lines;
  lines.push(
    `The device's SMP buffer (buf_size ${bufSize}) limits throughput: uploads still speed up with the frame size at the largest frame it accepts.`,
    'Raise it in the application\'s prj.conf, e.g.:',
    `  CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE=${RECOMMENDED_NETBUF}`,
    '  CONFIG_MCUMGR_TRANSPORT_WORKQUEUE_STACK_SIZE=8192   (the SMP work queue stack must grow with the buffer, or it overflows)',
  );
  if (bufCount !== undefined && bufCount < 3) {
    lines.push(`  CONFIG_MCUMGR_TRANSPORT_NETBUF_COUNT=4                (buf_count ${bufCount}: room for pipelined requests needs at least 3)`);
  }
  if (serial) {
    lines.push(
      'Over UART, SMP frames also pass through the UART line buffers (128 bytes x 2 by default); with pipelining raise them too:',
      '  CONFIG_UART_MCUMGR_RX_BUF_SIZE=512    (CONFIG_MCUMGR_TRANSPORT_UART_RX_BUF_SIZE in newer Zephyr)',
      '  CONFIG_UART_MCUMGR_RX_BUF_COUNT=8',
    );
  }
  return lines;
}

/** Registers `bench`. */
export function registerBench(program: Command, ctx: CliContext): void {
  program
    .command('bench')
    .description('measure upload (frame size x window) and download (window) throughput, with Kconfig advice')
    .option('--size <bytes>', 'bytes per run', '16384')
    .option('--target <fs|image>', 'upload a file (fs) or an image to the free slot (image; erased afterwards)', 'fs')
    .option('--path <remote>', 'device file used by the fs runs', '/lfs/mcumgr-bench.bin')
    .option('--frame-sizes <list>', 'frame sizes to try (default: 128..4096 up to the device\'s buf_size)')
    .option('--windows <list>', 'windows to try', '1,2,4,auto')
    .option('--no-download', 'skip the download runs')
    .action(
      action(
        ctx,
        async (
          env,
          o: { size: string; target: string; path: string; frameSizes?: string; windows: string; download: boolean },
        ) => {
          const size = parseUint('--size', o.size, 64, 64 * 1024 * 1024);
          if (o.target !== 'fs' && o.target !== 'image') throw new CliUsageError(`--target must be fs or image, got ${JSON.stringify(o.target)}`);
          const path = parseRemotePath('--path', o.path);
          const frameList = o.frameSizes !== undefined ? (parseList('--frame-sizes', o.frameSizes, 64, 65535, false) as number[]) : undefined;
          const windows = parseList('--windows', o.windows, 1, 64, true);
          if (env.g.frameSize !== undefined && frameList === undefined) env.out.debug('--frame-size is ignored by bench; use --frame-sizes');

          const report = await env.device(async (client) => {
            let bufSize: number | undefined;
            let bufCount: number | undefined;
            try {
              const p = await client.os.mcumgrParams();
              bufSize = p.bufSize;
              bufCount = p.bufCount;
            } catch (e) {
              if (!(e instanceof SmpDeviceError)) throw e;
            }
            const cap = bufSize ?? ZEPHYR_DEFAULT_NETBUF;
            let frames = frameList ?? DEFAULT_FRAME_SIZES.filter((f) => f <= cap);
            if (frameList === undefined && !frames.includes(cap)) frames = [...frames, cap];
            for (const f of frames) if (f > cap) env.out.note(`frame size ${f} is larger than the device's buffer (${cap}); trying anyway`);
            const winList = windows.filter((w) => {
              if (w !== 'auto' && bufCount !== undefined && w > Math.max(1, bufCount - 1)) {
                env.out.note(`window ${w} skipped: the device has buf_count ${bufCount}, so at most ${Math.max(1, bufCount - 1)} requests fit`);
                return false;
              }
              return true;
            });
            // Each image run sends a different image: the same one would be resumed (its upload sha matches), not sent.
            let seed = 7;
            const payload = (): Buffer =>
              o.target === 'image' ? buildImage({ size: Math.max(0, size - 64), seed: seed++, version: '0.0.0+1' }) : deterministicBytes(size, 7);
            const data = payload();
            const runs: BenchRun[] = [];
            const serial = client.transport.kind === 'serial';

            env.out.line(
              `device buf_size ${bufSize ?? 'unknown'}, buf_count ${bufCount ?? 'unknown'}; ${fmtBytes(data.length)} per run over ${client.transport.kind}`,
            );
            for (const f of frames) {
              client.setFrameSize(f);
              for (const w of winList) {
                const run = await measure(client, 'upload', f, w, () =>
                  o.target === 'fs'
                    ? client.fs.upload(path, data, { window: w, maxTimeouts: 2 })
                    : client.image.upload(payload(), { window: w, maxTimeouts: 2 }),
                );
                runs.push(run);
                env.out.debug(`upload frame ${f} window ${w}: ${run.error ? run.error.message : fmtRate(run.throughput)}`);
              }
            }
            if (o.download && o.target === 'fs' && runs.some((r) => r.direction === 'upload' && !r.error)) {
              client.setFrameSize(Math.max(...frames.filter((f) => f <= cap), 64));
              for (const w of winList) {
                const run = await measure(client, 'download', undefined, w, () => client.fs.download(path, { window: w, maxTimeouts: 2 }));
                runs.push(run);
                env.out.debug(`download window ${w}: ${run.error ? run.error.message : fmtRate(run.throughput)}`);
              }
            }
            if (o.target === 'image') await client.image.erase().catch(() => {});
            // Relative to stop-and-wait at the same frame size.
            for (const r of runs) {
              const base = runs.find((b) => b.direction === r.direction && b.frameSize === r.frameSize && b.window === 1 && !b.error);
              if (base && !r.error) r.relative = r.throughput / base.throughput;
            }
            const uploads = runs.filter((r) => r.direction === 'upload' && !r.error);
            const best = uploads.reduce<BenchRun | undefined>((a, r) => (!a || r.throughput > a.throughput ? r : a), undefined);
            const limited = bufferLimited(uploads, cap);
            const advice = kconfigAdvice(bufSize, bufCount, limited, serial);
            return { device: { bufSize, bufCount, transport: client.transport.kind }, bytes: data.length, target: o.target, runs, best, advice };
          });

          env.out.result(report, (v) => {
            const rows = v.runs.map((r) => [
              r.direction,
              r.frameSize ?? '-',
              String(r.window),
              r.error ? 'failed' : fmtRate(r.throughput),
              r.error ? '-' : `${r.seconds.toFixed(2)} s`,
              r.relative !== undefined ? `${(r.relative * 100).toFixed(0)}%` : '-',
              r.error ? '-' : r.maxWindowUsed,
              r.error ? r.error.code : `${r.rewinds}/${r.timeouts}`,
            ]);
            let text = table(['dir', 'frame', 'window', 'throughput', 'time', 'vs w=1', 'max w', 'rewinds/timeouts'], rows);
            if (v.best) text += `\nbest upload: frame ${v.best.frameSize}, window ${v.best.window}: ${fmtRate(v.best.throughput)}`;
            if (v.advice.length) text += '\n\n' + v.advice.join('\n');
            return text;
          });
        },
      ),
    );
}

/**
 * Whether the device's buffer is what limits uploads: the best upload at the largest frame it
 * accepts is within 10% of the best overall, and larger frames clearly helped (at least 20% over
 * the smallest frame tried).
 */
export function bufferLimited(uploads: readonly BenchRun[], cap: number): boolean {
  const bestAt = (f: number): number => Math.max(0, ...uploads.filter((r) => r.frameSize === f).map((r) => r.throughput));
  const sizes = [...new Set(uploads.map((r) => r.frameSize ?? 0))].filter((f) => f > 0 && f <= cap).sort((a, b) => a - b);
  if (sizes.length < 2) return false;
  const best = Math.max(...uploads.map((r) => r.throughput));
  const atCap = bestAt(sizes[sizes.length - 1]!);
  return atCap >= 0.9 * best && atCap >= 1.2 * bestAt(sizes[0]!);
}

async function measure(
  _client: MCUmgrClient,
  direction: 'upload' | 'download',
  frameSize: number | undefined,
  window: number | 'auto',
  run: () => Promise<TransferResult>,
): Promise<BenchRun> {
  const started = performance.now();
  try {
    const r = await run();
    return {
      direction,
      frameSize,
      window,
      bytes: r.bytes,
      seconds: r.seconds,
      throughput: r.throughput,
      maxWindowUsed: r.maxWindowUsed,
      rewinds: r.rewinds,
      timeouts: r.timeouts,
    };
  } catch (e) {
    return {
      direction,
      frameSize,
      window,
      bytes: 0,
      seconds: (performance.now() - started) / 1000,
      throughput: 0,
      maxWindowUsed: 0,
      rewinds: 0,
      timeouts: 0,
      error: { code: errorCode(e), message: errorMessage(e) },
    };
  }
}
