/**
 * `--serve [HOST:]PORT`, `--linger <s>` and `--token <t>` of the long-running commands: the
 * station page for a run of this process, its URL (with the control token) printed once on
 * stderr, and the wait after the run so people can read the results and fetch the reports.
 * The command's exit code and `--json` output do not change.
 * @module
 */
import type { Command } from 'commander';
import type { BulkTarget } from '../bulk/index.js';
import type { PageBulkRun, PageServer } from '../page/index.js';
import { parseUint, type CliContext } from './context.js';
import { CliUsageError, type Output } from './output.js';

/** The options as commander gives them. */
export interface ServeFlags {
  serve?: string;
  linger?: string;
  token?: string;
}

/** Adds the three options to a command. */
export function addServeOptions(cmd: Command): Command {
  return cmd
    .option('--serve <[host:]port>', 'show the run live on a web page at this address (127.0.0.1 unless a host is given)')
    .option('--linger <s>', 'with --serve: keep the page up this many seconds after the run (default: until Ctrl-C)')
    .option('--token <token>', 'with --serve: the token page controls (abort) need (default: a random one, printed once)');
}

/** Checked settings, or undefined without --serve. */
export interface ServeSettings {
  host: string;
  port: number;
  lingerMs: number | undefined;
  token: string | undefined;
}

/** Checks the flags before anything starts. */
export async function checkServeFlags(f: ServeFlags): Promise<ServeSettings | undefined> {
  if (f.serve === undefined) {
    if (f.linger !== undefined || f.token !== undefined) throw new CliUsageError('--linger and --token go with --serve [HOST:]PORT');
    return undefined;
  }
  const { parseServeAddress } = await import('../page/index.js');
  let addr;
  try {
    addr = parseServeAddress(f.serve);
  } catch (e) {
    throw new CliUsageError((e as Error).message);
  }
  if (f.token !== undefined && (f.token.length < 8 || /[^\x21-\x7e]/.test(f.token))) throw new CliUsageError('--token must be at least 8 printable characters without spaces');
  const lingerMs = f.linger !== undefined ? parseUint('--linger', f.linger, 0, 2 ** 31 / 1000 - 1) * 1000 : undefined;
  return { ...addr, lingerMs, token: f.token };
}

/** A page started by a command: `linger()` when the work is over. */
export interface ServedPage {
  page: PageServer;
  /** Keeps the page up for --linger seconds or until Ctrl-C, then closes it. */
  linger(): Promise<void>;
}

/** Starts the page and prints its URL (with the token when `controls` says what it can do). */
export async function servePageFor(ctx: CliContext, out: Output, s: ServeSettings, opts: { controls?: string; readOnly?: boolean } = {}): Promise<ServedPage> {
  const { servePage } = await import('../page/index.js');
  let page: PageServer;
  try {
    page = await servePage({ host: s.host, port: s.port, ...(opts.readOnly ? { token: false as const } : s.token !== undefined ? { token: s.token } : {}) });
  } catch (e) {
    // Before any device is touched: a port in use or an address this machine does not have.
    throw new CliUsageError(`--serve ${s.host}:${s.port}: ${(e as Error).message} (pick another port, or 0 for any free one)`);
  }
  // Printed even with --json (stdout stays the result document alone).
  if (page.token !== undefined) out.streams.stderr.write(`page: ${page.url}#token=${page.token}\n  (this link can ${opts.controls ?? 'control the run'}; share ${page.url} for a read-only view)\n`);
  else out.streams.stderr.write(`page: ${page.url}\n`);
  return {
    page,
    linger: async () => {
      page.flush();
      if (s.lingerMs !== 0) {
        out.note(`page: the results stay at ${page.url} ${s.lingerMs === undefined ? 'until Ctrl-C' : `for ${s.lingerMs / 1000} s (Ctrl-C ends it sooner)`}`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const lingered = s.lingerMs === undefined ? new Promise<void>(() => {}) : new Promise<void>((r) => (timer = setTimeout(r, s.lingerMs)));
        await Promise.race([lingered, ctx.waitForStop()]);
        if (timer) clearTimeout(timer);
      }
      await page.close();
    },
  };
}

/** A bulk run on a page: feed `run`, then `linger()` when the result is out. */
export interface ServedBulk extends ServedPage {
  run: PageBulkRun;
}

/** Starts the page for a bulk run and prints its URL. */
export async function serveBulk(
  ctx: CliContext,
  out: Output,
  s: ServeSettings,
  targets: readonly BulkTarget[],
  info: { version: string; hash: string; size: number },
  signal: AbortSignal,
): Promise<ServedBulk> {
  const served = await servePageFor(ctx, out, s, { controls: 'abort the run' });
  const { pageBulkRun } = await import('../page/index.js');
  const run = pageBulkRun(served.page, targets, { title: `bulk flash ${info.version}`, image: info, signal });
  return { ...served, run };
}
