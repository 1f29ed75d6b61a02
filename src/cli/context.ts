/**
 * What every command family of the `mcumgr` command shares: the output, the global options, a
 * device session, local file input and output (`-` for stdin/stdout), and argument checks that
 * run before anything is sent.
 * @module
 */
import type { Command } from 'commander';
import { readFile, stat, writeFile } from 'node:fs/promises';
import type { MCUmgrClient } from '../client.js';
import { globalsOf, mergeGlobals, withClient, type GlobalOptions, type SharedDevice } from './connect.js';
import { CliUsageError, Output } from './output.js';

/** Shared state of one run of the command. */
export interface CliContext {
  /** The output of this run. */
  readonly out: Output;
  /** Words after a literal `--` on the command line (the argv of `shell exec`). */
  readonly passthrough: readonly string[] | undefined;
  /**
   * Resolves with the signal's name when the process is asked to stop (SIGINT/SIGTERM); for
   * long-running commands. Installing it replaces the default "die at once" behaviour.
   */
  waitForStop(): Promise<string>;
  /** Inside `batch`: the batch's global options, which a line's own options override. */
  readonly inherited?: GlobalOptions;
  /** Inside `batch`: the one connection all its commands share. */
  readonly shared?: SharedDevice;
  /**
   * Runs another command line in this process (for `batch`): with the given output, inherited
   * global options and shared device. Resolves with its exit code.
   */
  runNested(args: readonly string[], nested: { out: Output; inherited: GlobalOptions; shared: SharedDevice }): Promise<number>;
}

/** What an action gets: the global options and a way to reach the device. */
export interface ActionEnv {
  g: GlobalOptions;
  out: Output;
  /** Opens the device, runs `fn`, closes it. Check every argument before calling it. */
  device<T>(fn: (client: MCUmgrClient) => Promise<T>): Promise<T>;
}

/** Builds the environment of the action being run by `cmd`. */
export function envOf(ctx: CliContext, cmd: Command): ActionEnv {
  const own = globalsOf(cmd);
  if (ctx.inherited && ctx.shared) {
    if (own.conn.length > 0) throw new CliUsageError('--conn cannot be given on a line of a batch; give it to "batch" itself');
    const g = mergeGlobals(ctx.inherited, own);
    const shared = ctx.shared;
    return { g, out: ctx.out, device: (fn) => shared.use(fn) };
  }
  return { g: own, out: ctx.out, device: (fn) => withClient(own, ctx.out, fn) };
}

/**
 * Wraps an action for commander: positional arguments, then the command's own options, then the
 * environment.
 */
export function action<A extends unknown[], O extends object>(
  ctx: CliContext,
  fn: (env: ActionEnv, opts: O, ...args: A) => Promise<void>,
): (...raw: unknown[]) => Promise<void> {
  return async (...raw: unknown[]) => {
    const cmd = raw[raw.length - 1] as Command;
    const opts = raw[raw.length - 2] as O;
    const args = raw.slice(0, -2) as A;
    await fn(envOf(ctx, cmd), opts, ...args);
  };
}

/* ------------------------------------------------------------------------------------------ */
/* Argument checks                                                                              */
/* ------------------------------------------------------------------------------------------ */

/** Parses a whole number argument within bounds. */
export function parseUint(name: string, value: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = value.trim();
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v.slice(2), 16) : /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliUsageError(`${name} must be a whole number ${min}..${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Checks an image hash given as hex (SHA-256, -384 or -512: 64, 96 or 128 hex digits). */
export function parseHash(name: string, value: string): Buffer {
  const clean = value.replace(/[\s:]/g, '');
  if (!/^[0-9a-fA-F]*$/.test(clean) || clean.length === 0) {
    throw new CliUsageError(`${name} must be the image hash in hex (64 hex digits for SHA-256, as "image list" shows), got ${JSON.stringify(value)}`);
  }
  if (![64, 96, 128].includes(clean.length)) {
    throw new CliUsageError(`${name} must be 64, 96 or 128 hex digits (a SHA-256/384/512 image hash), got ${clean.length} digits`);
  }
  return Buffer.from(clean, 'hex');
}

/** Checks a device path (absolute, no NUL). */
export function parseRemotePath(name: string, value: string): string {
  if (value === '' || value.includes('\0')) throw new CliUsageError(`${name} must be a device file path such as /lfs1/data.bin, got ${JSON.stringify(value)}`);
  if (!value.startsWith('/')) throw new CliUsageError(`${name} must be an absolute device path starting with "/" (e.g. /lfs1/data.bin), got ${JSON.stringify(value)}`);
  return value;
}

/** Checks that a local input file exists and is a regular file (`-` = stdin is accepted). */
export async function checkLocalInput(name: string, path: string): Promise<void> {
  if (path === '-') return;
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliUsageError(`${name} ${JSON.stringify(path)} cannot be read: ${code === 'ENOENT' ? 'no such file' : (code ?? String(e))}`);
  }
  if (!st.isFile()) throw new CliUsageError(`${name} ${JSON.stringify(path)} is not a regular file`);
}

/** Reads a local input file, or stdin for `-`. */
export async function readLocal(name: string, path: string): Promise<Buffer> {
  if (path === '-') return readStdin();
  await checkLocalInput(name, path);
  return readFile(path);
}

let stdinTaken = false;

/** Reads all of stdin (once per process: a second reader gets a usage error, not silence). */
export async function readStdin(): Promise<Buffer> {
  if (stdinTaken) throw new CliUsageError('stdin ("-") was already read by an earlier input (e.g. the batch script); use a file');
  stdinTaken = true;
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks);
}

/** Writes a local output file, or stdout for `-`. */
export async function writeLocal(path: string, data: Uint8Array): Promise<void> {
  if (path === '-') {
    await new Promise<void>((resolve, reject) => process.stdout.write(data, (e) => (e ? reject(e) : resolve())));
    return;
  }
  await writeFile(path, data);
}
