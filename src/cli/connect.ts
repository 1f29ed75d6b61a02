/**
 * The global options of the `mcumgr` command, their checks (all done before anything is sent),
 * and opening the client they describe: a connection string, or `sim` / `sim:mcuboot` for an
 * in-process simulated device.
 * @module
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { MCUmgrClient } from '../client.js';
import { MAX_FRAME_SIZE, MIN_FRAME_SIZE, type ClientOptions } from '../client/options.js';
import { parseConnection, type Connection } from '../connection.js';
import { SmpDeviceError } from '../errors.js';
import type { SerialEncoding } from '../transport/framing.js';
import type { Transport } from '../transport/transport.js';
import type { Simulator } from '../sim/index.js';
import { CliUsageError, Output } from './output.js';
import { explainMissingPort } from './hints.js';

/** The global options after their checks. */
export interface GlobalOptions {
  /** `--conn` values in the order given (several only for `bulk flash`). */
  conn: string[];
  /** `--json`: one JSON document on stdout. */
  json: boolean;
  /** `--timeout <ms>`: deadline of ordinary requests. */
  timeoutMs?: number;
  /** `--retries <n>`: resends of idempotent reads after a timeout. */
  retries?: number;
  /** `--frame-size <n>`: the device buffer size to assume instead of asking the device. */
  frameSize?: number;
  /** `--window <n|auto>`: requests in flight during transfers. */
  window?: number | 'auto';
  /** `--encoding`: serial framing (serial connections and `sim --transport pty`). */
  encoding?: SerialEncoding;
  /** `-v` count. */
  verbose: number;
}

/** Where a command connects to. */
export type Target = { kind: 'sim'; personality: 'zephyr' | 'mcuboot' } | { kind: 'conn'; text: string; connection: Connection };

/* ------------------------------------------------------------------------------------------ */
/* Option parsers (commander calls them while parsing; they throw InvalidArgumentError)         */
/* ------------------------------------------------------------------------------------------ */

/** `--conn` may be given several times (for `bulk flash`); collects them in order. */
export function collectConn(value: string, previous: string[] | undefined): string[] {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty; write e.g. serial:/dev/ttyACM0, udp:192.0.2.1:1337 or sim');
  return [...(previous ?? []), value];
}

/** Parses an integer option within bounds. */
export function intOption(min: number, max: number, example: number): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`must be a whole number ${min}..${max}, e.g. ${example}`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`must be between ${min} and ${max}, e.g. ${example}`);
    return n;
  };
}

/** Parses `--window <n|auto>`: `auto` or an integer 1..64. */
export function windowOption(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 64) {
    throw new InvalidArgumentError("must be 'auto' or a whole number 1..64 (1 = stop-and-wait)");
  }
  return Number(value);
}

/** Parses `--encoding`. */
export function encodingOption(value: string): SerialEncoding {
  if (value !== 'console' && value !== 'raw' && value !== 'cobs') throw new InvalidArgumentError('must be console, raw or cobs');
  return value;
}

/** Counts repeated `-v`. */
export function countVerbose(_: string, previous: number | undefined): number {
  return (previous ?? 0) + 1;
}

/** Adds the global options to the root command. */
export function addGlobalOptions(program: Command): void {
  program
    .option('-c, --conn <string>', 'the device: a connection string (see below), sim or sim:mcuboot; repeat for bulk flash', collectConn)
    .option('--json', 'machine output: exactly one JSON document on stdout (errors too)')
    .option('--timeout <ms>', 'deadline of each request in ms (default 5000)', intOption(1, 2 ** 31 - 1, 5000))
    .option('--retries <n>', 'resends of idempotent reads after a timeout (default 0)', intOption(0, 100, 2))
    .option('--frame-size <n>', `device buffer size to assume (${MIN_FRAME_SIZE}..${MAX_FRAME_SIZE}); default: ask the device (os params), else 384`, intOption(MIN_FRAME_SIZE, MAX_FRAME_SIZE, 384))
    .option('--window <n|auto>', 'requests in flight during uploads and downloads (default auto)', windowOption)
    .option('--encoding <console|raw|cobs>', 'serial framing (default console)', encodingOption)
    .option('-v, --verbose', 'diagnostics on stderr (repeat for more)', countVerbose);
}

/** The global options of the command being run, with defaults. */
export function globalsOf(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as {
    conn?: string[];
    json?: boolean;
    timeout?: number;
    retries?: number;
    frameSize?: number;
    window?: number | 'auto';
    encoding?: SerialEncoding;
    verbose?: number;
  };
  const g: GlobalOptions = { conn: o.conn ?? [], json: o.json === true, verbose: o.verbose ?? 0 };
  if (o.timeout !== undefined) g.timeoutMs = o.timeout;
  if (o.retries !== undefined) g.retries = o.retries;
  if (o.frameSize !== undefined) g.frameSize = o.frameSize;
  if (o.window !== undefined) g.window = o.window;
  if (o.encoding !== undefined) g.encoding = o.encoding;
  return g;
}

/**
 * The one device a command talks to, checked (connection string syntax included) without opening
 * anything.
 * @throws CliUsageError when `--conn` is missing, repeated, or malformed.
 */
export function resolveTarget(g: GlobalOptions): Target {
  if (g.conn.length === 0) {
    const env = process.env.MCUMGR_CONN;
    if (env !== undefined && env.trim() !== '') return parseTarget(env.trim(), 'MCUMGR_CONN');
    throw new CliUsageError('no device given: pass --conn <string> (e.g. --conn serial:/dev/ttyACM0, --conn udp:192.0.2.1, --conn sim) or set MCUMGR_CONN');
  }
  if (g.conn.length > 1) throw new CliUsageError(`--conn was given ${g.conn.length} times; only "bulk flash" takes several devices`);
  return parseTarget(g.conn[0]!, '--conn');
}

/** Parses one `--conn` value (or `sim`, `sim:zephyr`, `sim:mcuboot`). */
export function parseTarget(text: string, what = '--conn'): Target {
  const t = text.trim();
  if (t === 'sim' || t === 'sim:zephyr') return { kind: 'sim', personality: 'zephyr' };
  if (t === 'sim:mcuboot') return { kind: 'sim', personality: 'mcuboot' };
  if (t.startsWith('sim:')) throw new CliUsageError(`${what} ${JSON.stringify(text)}: unknown simulator personality; use sim (Zephyr) or sim:mcuboot`);
  try {
    return { kind: 'conn', text: t, connection: parseConnection(t) };
  } catch (e) {
    throw new CliUsageError(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Client options from the global options. */
export function clientOptionsOf(g: GlobalOptions): ClientOptions {
  const o: ClientOptions = {};
  if (g.timeoutMs !== undefined) o.timeoutMs = g.timeoutMs;
  if (g.retries !== undefined) o.retries = g.retries;
  if (g.frameSize !== undefined) o.frameSize = g.frameSize;
  return o;
}

/**
 * Said when `--window N` meets raw SMP, where the transfers keep one request in flight whatever
 * the window: raw frames carry no CRC and the device cannot resync inside a stream, so bytes
 * lost from one request would glue it to the next and the device would write wrong data.
 */
export const RAW_WINDOW_NOTICE = (n: number): string =>
  `note: --window ${n} does not apply over raw SMP: raw frames have no CRC and no resync, so transfers keep one request in flight ` +
  '(a lost byte would otherwise glue two requests together); use --encoding cobs or console for a window';

/** What {@link openClient} hands back. */
export interface OpenedClient {
  client: MCUmgrClient;
  /** Closes the client and, for `sim`, the simulated device. */
  close(): Promise<void>;
}

/**
 * Opens the device a command talks to, and sets the frame size: `--frame-size`, else what the
 * device answers to `os params`, else 384.
 */
export async function openClient(g: GlobalOptions, target: Target, out: Output): Promise<OpenedClient> {
  const opts = clientOptionsOf(g);
  out.activity.target = target.kind === 'sim' ? (target.personality === 'mcuboot' ? 'sim:mcuboot' : 'sim') : target.text;
  let client: MCUmgrClient;
  let sim: Simulator | undefined;
  if (target.kind === 'sim') {
    out.debug(`starting an in-process simulated ${target.personality} device`);
    const { startSimulator } = await import('../sim/index.js');
    sim = await startSimulator({ personality: target.personality, transport: 'memory' });
    const t = sim.transport;
    if (!isTransport(t)) {
      await sim.close();
      throw new Error('the simulator did not return a transport for the memory link');
    }
    if (target.personality === 'mcuboot') opts.version = 0;
    client = MCUmgrClient.fromTransport(t, opts);
  } else {
    const c = { ...target.connection };
    if (g.encoding !== undefined && (c.kind === 'serial' || c.kind === 'usb') && c.encoding === undefined) (c as { encoding?: SerialEncoding }).encoding = g.encoding;
    out.debug(`connecting to ${target.text}`);
    if ((c.kind === 'serial' || c.kind === 'usb') && c.encoding === 'raw' && typeof g.window === 'number' && g.window > 1) out.note(RAW_WINDOW_NOTICE(g.window));
    try {
      client = await MCUmgrClient.connect(c, opts);
    } catch (e) {
      throw c.kind === 'serial' ? await explainMissingPort(e, c.path) : e;
    }
  }
  const close = async (): Promise<void> => {
    await client.close().catch(() => {});
    if (sim) await sim.close().catch(() => {});
  };
  try {
    if (g.frameSize === undefined) {
      try {
        const a = await client.useAutoFrameSize();
        out.debug(`frame size ${a.frameSize} (${a.source}), max request ${a.maxRequest}${a.bufCount !== undefined ? `, buf_count ${a.bufCount}` : ''}`);
      } catch (e) {
        if (!(e instanceof SmpDeviceError)) throw e;
        out.debug(`the device refused os params (${e.rcName}); frame size stays ${client.frameSize}`);
      }
    } else {
      out.debug(`frame size ${client.frameSize} (--frame-size), max request ${client.maxRequest}`);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { client, close };
}

function isTransport(t: unknown): t is Transport {
  return t !== null && typeof t === 'object' && typeof (t as Transport).send === 'function' && typeof (t as Transport).on === 'function';
}

/**
 * Runs `fn` with a client for the command's device and closes it afterwards. Everything the
 * command checks must be checked before calling this: from here on bytes go out.
 */
export async function withClient<T>(g: GlobalOptions, out: Output, fn: (client: MCUmgrClient) => Promise<T>): Promise<T> {
  const target = resolveTarget(g);
  const opened = await openClient(g, target, out);
  try {
    return await fn(opened.client);
  } finally {
    await opened.close();
  }
}

/** The global options of a batch line: the line's own options over the batch's. */
export function mergeGlobals(parent: GlobalOptions, own: GlobalOptions): GlobalOptions {
  const g: GlobalOptions = { ...parent };
  if (own.timeoutMs !== undefined) g.timeoutMs = own.timeoutMs;
  if (own.retries !== undefined) g.retries = own.retries;
  if (own.frameSize !== undefined) g.frameSize = own.frameSize;
  if (own.window !== undefined) g.window = own.window;
  if (own.encoding !== undefined) g.encoding = own.encoding;
  g.verbose = Math.max(parent.verbose, own.verbose);
  return g;
}

/** One connection opened on first use and shared by several commands (`batch`). */
export class SharedDevice {
  readonly #g: GlobalOptions;
  readonly #out: Output;
  #opened: Promise<OpenedClient> | undefined;

  constructor(g: GlobalOptions, out: Output) {
    this.#g = g;
    this.#out = out;
  }

  /** Runs `fn` with the shared client, opening it first when needed. */
  async use<T>(fn: (client: MCUmgrClient) => Promise<T>): Promise<T> {
    this.#opened ??= (async () => openClient(this.#g, resolveTarget(this.#g), this.#out))();
    const o = await this.#opened;
    return fn(o.client);
  }

  /** Closes the connection if it was opened. */
  async close(): Promise<void> {
    const o = await this.#opened?.catch(() => undefined);
    await o?.close();
  }
}
