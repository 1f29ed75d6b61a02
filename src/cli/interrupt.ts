/**
 * Ctrl-C (SIGINT) or SIGTERM during a `--json` command: a script reading stdout still gets its one
 * JSON document, an error that says what the command had done, and the exit code is 130. Without
 * `--json` the signal keeps its default effect (the process ends at once).
 * @module
 */
import { fmtBytes, type Activity } from './output.js';

/** The command was stopped by a signal. */
export class CliInterruptedError extends Error {
  /** Always `CLI_INTERRUPTED`. */
  readonly code = 'CLI_INTERRUPTED';
  /** Always 130 (128 + SIGINT, as shells report it). */
  readonly exitCode = 130;
  /** `SIGINT` or `SIGTERM`. */
  readonly signal: string;
  /** What the command had done when it was stopped. */
  readonly done: Activity;
  constructor(signal: string, done: Activity) {
    super(interruptedMessage(signal, done));
    this.name = 'CliInterruptedError';
    this.signal = signal;
    this.done = { ...done };
  }
}

/** `interrupted by SIGINT during "image upload" (step upload): 12.0 KiB of 96.0 KiB confirmed by the device`. */
function interruptedMessage(signal: string, a: Activity): string {
  let m = `interrupted by ${signal}`;
  if (a.command) m += ` during "${a.command}"`;
  if (a.target) m += ` on ${a.target}`;
  if (a.step) m += ` (step ${a.step})`;
  if (a.progress) {
    m += `: ${a.progress.label} had ${fmtBytes(a.progress.done)} of ${fmtBytes(a.progress.total)} confirmed`;
    if (a.progress.label === 'upload' && (a.step === undefined || a.step === 'upload')) m += '; nothing was marked for boot';
  } else if (!a.target) {
    m += ' before any device was reached';
  }
  return m;
}

/**
 * Runs a command; when `stop` resolves first (a signal), returns the error to print instead,
 * unless the command has taken charge of stopping itself (`claimed()`, e.g. `bulk flash` aborts
 * its devices and reports them): then its own ending is awaited.
 */
export async function raceStop(
  run: Promise<number>,
  stop: Promise<string>,
  claimed: () => boolean,
  activity: Activity,
): Promise<{ code: number } | { interrupted: CliInterruptedError }> {
  const first = await Promise.race([run.then((code) => ({ code })), stop.then((signal) => ({ signal }))]);
  if ('code' in first) return first;
  if (claimed()) return { code: await run };
  return { interrupted: new CliInterruptedError(first.signal, activity) };
}
