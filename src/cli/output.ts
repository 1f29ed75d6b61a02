/**
 * What the `mcumgr` command prints, and how it ends: human text by default, exactly one JSON
 * document on stdout with `--json`; errors as `error: <message> (<code>)` on stderr (or
 * `{"error":{name,code,message}}` on stdout with `--json`); exit codes by kind of failure;
 * progress bars only when stderr is a terminal and the output is for humans.
 * @module
 */
import cliProgress from 'cli-progress';
import { McuMgrError, SmpDeviceError, SmpTimeoutError, VerifyError, ImageFormatError } from '../errors.js';
import { fmtBytes } from '../describe.js';

/** A byte count for people (from the base layer, shared with the workflows' messages). */
export { fmtBytes };

/** Exit codes of the `mcumgr` command. */
export const ExitCode = {
  /** Success. */
  OK: 0,
  /** The device or the link failed, or the device answered with an error. */
  DEVICE: 1,
  /** Wrong arguments or options; nothing was sent. */
  USAGE: 2,
  /** The device did not answer in time. */
  TIMEOUT: 3,
  /** Something was checked and did not hold: image hash, upload `match`, post-update state, bulk results. */
  VERIFY: 4,
  /** Stopped by SIGINT (Ctrl-C) or SIGTERM; with `--json` the document says what was done. */
  INTERRUPTED: 130,
} as const;

/** Exit code type. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A wrong command line: the command stops before anything is sent (exit code 2). */
export class CliUsageError extends Error {
  /** Always `CLI_USAGE`. */
  readonly code = 'CLI_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

/**
 * A command finished and reported its result, but the outcome is a failure (e.g. a shell command
 * returned non-zero, or some bulk targets failed). The result has already been printed.
 */
export class CliExitError extends Error {
  /** The exit code to end with. */
  readonly exitCode: number;
  /** A stable code for the failure. */
  readonly code: string;
  constructor(exitCode: number, code: string, message: string) {
    super(message);
    this.name = 'CliExitError';
    this.exitCode = exitCode;
    this.code = code;
  }
}

/** The exit code that an error maps to (see {@link ExitCode}). */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CliExitError) return err.exitCode;
  if (err instanceof CliUsageError) return ExitCode.USAGE;
  if (isCommanderError(err)) return ExitCode.USAGE;
  if ((err as { code?: unknown } | null)?.code === 'CLI_INTERRUPTED') return ExitCode.INTERRUPTED;
  if (err instanceof SmpTimeoutError) return ExitCode.TIMEOUT;
  if (err instanceof VerifyError || err instanceof ImageFormatError) return ExitCode.VERIFY;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'SMP_ERR_TIMEOUT') return ExitCode.TIMEOUT;
  if (code === 'SMP_ERR_VERIFY' || code === 'IMAGE_ERR_FORMAT') return ExitCode.VERIFY;
  // The library checks every argument before it sends a byte and reports bad ones as these.
  if (err instanceof TypeError || err instanceof RangeError) return ExitCode.USAGE;
  return ExitCode.DEVICE;
}

function isCommanderError(err: unknown): err is { code: string; exitCode: number; message: string } {
  if (!(err instanceof Error)) return false;
  const code = (err as unknown as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('commander.');
}

/** The stable code printed for an error. */
export function errorCode(err: unknown): string {
  if (isCommanderError(err)) return 'CLI_USAGE';
  if (err instanceof McuMgrError || err instanceof CliUsageError || err instanceof CliExitError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  if (err instanceof TypeError || err instanceof RangeError) return 'CLI_USAGE';
  return 'ERR_UNKNOWN';
}

/** The one-line message of an error, without commander's own `error: ` prefix. */
export function errorMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/^error:\s*/, '').trim();
}

/**
 * Turns a result into plain JSON values: Buffers and Uint8Arrays become lowercase hex, bigints
 * numbers (or decimal strings when too large), Dates ISO strings, Maps objects; `undefined`
 * fields are left out.
 */
export function toJsonValue(v: unknown): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : toJsonValue(x)));
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) if (x !== undefined) o[String(k)] = toJsonValue(x);
    return o;
  }
  if (typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined && typeof x !== 'function') o[k] = toJsonValue(x);
    return o;
  }
  return undefined;
}

/** Where the command writes. */
export interface OutputStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * What the command is doing, kept up to date as it runs: for error messages that name the
 * command and the device, and for the report of an interrupted `--json` command.
 */
export interface Activity {
  /** The command as typed, e.g. `image upload`. */
  command?: string;
  /** The connection string in use. */
  target?: string;
  /** The current step of a multi-step command (e.g. `flash`: upload, mark, reset…). */
  step?: string;
  /** The latest transfer progress. */
  progress?: { label: string; done: number; total: number };
}

/** Prints results, notes, debug lines and errors in the selected mode. */
export class Output {
  /** What the command is doing (see {@link Activity}). */
  readonly activity: Activity = {};
  /** Machine output: one JSON document on stdout. */
  readonly json: boolean;
  /** `-v` count. */
  readonly verbose: number;
  readonly #s: OutputStreams;
  readonly #capture: ((doc: unknown, kind: 'result' | 'error') => void) | undefined;
  #printed = false;

  /**
   * @param capture with `--json`, receives the document instead of stdout (used by `batch`, which
   *   prints one document for all its commands).
   */
  constructor(
    json: boolean,
    verbose: number,
    streams: OutputStreams = { stdout: process.stdout, stderr: process.stderr },
    capture?: (doc: unknown, kind: 'result' | 'error') => void,
  ) {
    this.json = json;
    this.verbose = verbose;
    this.#s = streams;
    this.#capture = capture;
  }

  #emit(doc: unknown, kind: 'result' | 'error'): void {
    if (this.#capture) this.#capture(doc, kind);
    else this.#s.stdout.write(JSON.stringify(doc) + '\n');
  }

  /** The streams in use. */
  get streams(): OutputStreams {
    return this.#s;
  }

  /** True once a result document or error was printed. */
  get printed(): boolean {
    return this.#printed;
  }

  /** Progress bars are drawn only for humans looking at a terminal. */
  get progressEnabled(): boolean {
    return !this.json && this.#s.stderr.isTTY === true;
  }

  /**
   * Prints the command's result: `value` as one JSON document with `--json`, else `human` (text
   * or a function of the value; nothing when it returns an empty string).
   */
  result<T>(value: T, human?: string | ((v: T) => string)): void {
    this.#printed = true;
    if (this.json) {
      this.#emit(toJsonValue(value), 'result');
      return;
    }
    const text = typeof human === 'function' ? human(value) : human ?? defaultHuman(value);
    if (text !== '') this.#s.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** A line for humans on stdout (step lines, tables printed as they come); silent with `--json`. */
  line(text: string): void {
    if (!this.json) this.#s.stdout.write(text + '\n');
  }

  /** A note for humans on stderr; silent with `--json`. */
  note(text: string): void {
    if (!this.json) this.#s.stderr.write(text + '\n');
  }

  /** A diagnostic line on stderr, shown with `-v` (level 1) or `-vv` (level 2), also with `--json`. */
  debug(text: string, level = 1): void {
    if (this.verbose >= level) this.#s.stderr.write(`debug: ${text}\n`);
  }

  /** Prints an error in the selected mode and returns the exit code it maps to. */
  error(err: unknown): number {
    const code = errorCode(err);
    const message = errorMessage(err);
    const exit = exitCodeFor(err);
    if (err instanceof CliExitError && this.#printed) {
      // The result document is out already; with --json stdout carries nothing more.
      if (!this.json) this.#s.stderr.write(`error: ${message} (${code})\n`);
      return exit;
    }
    if (this.json) {
      const name = isCommanderError(err) ? 'CliUsageError' : err instanceof Error ? err.name : 'Error';
      const extra: Record<string, unknown> = {};
      if (err instanceof SmpDeviceError) {
        Object.assign(extra, { group: err.group, command: err.command, rc: err.rc, rcName: err.rcName, style: err.style });
        if (err.reason !== undefined) extra.reason = err.reason;
      }
      const stopped = err as { signal?: unknown; done?: unknown };
      if (code === 'CLI_INTERRUPTED') Object.assign(extra, { signal: stopped.signal, done: toJsonValue(stopped.done) });
      this.#emit({ error: { name, code, message, ...extra } }, 'error');
    } else {
      this.#s.stderr.write(`error: ${message} (${code})\n`);
      if (this.verbose >= 2 && err instanceof Error && err.stack) this.#s.stderr.write(err.stack + '\n');
    }
    this.#printed = true;
    return exit;
  }

  /**
   * A progress bar for one transfer when {@link Output.progressEnabled}; otherwise a no-op. Call
   * `update(done, total)` as progress arrives and `stop()` at the end.
   */
  progress(label: string): ProgressHandle {
    const record = (done: number, total: number): void => {
      this.activity.progress = { label, done, total };
    };
    if (!this.progressEnabled) return { update: record, stop: () => {} };
    const bar = new cliProgress.SingleBar(
      {
        stream: this.#s.stderr,
        format: `${label} [{bar}] {percentage}% | {done}/{size} | {speed} | eta {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: true,
        barsize: 30,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update: (done, total, rate) => {
        record(done, total);
        const payload = { done: fmtBytes(done), size: fmtBytes(total), speed: rate !== undefined ? fmtRate(rate) : '' };
        if (!started) {
          bar.start(Math.max(total, 1), done, payload);
          started = true;
        } else {
          bar.setTotal(Math.max(total, 1));
          bar.update(done, payload);
        }
      },
      stop: () => {
        if (started) bar.stop();
        started = false;
      },
    };
  }
}

/** A progress bar (or its no-op stand-in). */
export interface ProgressHandle {
  /** Reports `done` of `total` bytes, with the current rate in bytes/s when known. */
  update(done: number, total: number, rate?: number): void;
  /** Removes the bar. */
  stop(): void;
}

function defaultHuman(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(toJsonValue(v), null, 2);
}

/** Formats a rate in bytes/s: `850 B/s`, `12.3 KiB/s`. */
export function fmtRate(bps: number): string {
  if (!Number.isFinite(bps) || bps <= 0) return '-';
  return `${fmtBytes(Math.round(bps))}/s`;
}

/** Renders rows as a left-aligned text table with a header row (columns joined by two spaces). */
export function table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = [headers.map(String), ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}
