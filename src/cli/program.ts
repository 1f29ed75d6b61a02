/**
 * The `mcumgr` command tree (commander) and one run of it: parse, act, print, and map the
 * outcome to an exit code (0 ok, 1 device/protocol error, 2 usage error, 3 timeout,
 * 4 verification failure).
 * @module
 */
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { addGlobalOptions } from './connect.js';
import type { CliContext } from './context.js';
import { CliUsageError, ExitCode, Output, type OutputStreams } from './output.js';
import { registerOs } from './os.js';
import { registerImage } from './image.js';
import { registerFs } from './fs.js';
import { registerShell } from './shell.js';
import { registerStat } from './stat.js';
import { registerSettings } from './settings.js';
import { registerEnum } from './enum.js';
import { registerBasic } from './basic.js';
import { registerRaw } from './raw.js';
import { registerList } from './list.js';
import { registerSim } from './sim.js';
import { registerBulk } from './bulk.js';
import { registerBench } from './bench.js';
import { registerBatch } from './batch.js';
import { explainError } from './hints.js';
import { raceStop } from './interrupt.js';
import { registerFleet } from './fleet.js';
import { registerRollout } from './rollout.js';

const EPILOG = `
Connection strings (--conn or the MCUMGR_CONN environment variable):
  serial:/dev/ttyACM0?baud=115200&encoding=console   (encoding: console, raw or cobs)
  usb:2fe3:0004[:SERIAL]                             (see "mcumgr list")
  udp:192.0.2.1[:1337]                               (?acceptFrom=port: answers from any device address)
  ble:NAME, ble:AA:BB:CC:DD:EE:FF                    (Bluetooth LE, needs @abandonware/noble; see "mcumgr list --ble")
  sim, sim:mcuboot                                   (an in-process simulated device)

Exit codes: 0 ok, 1 device or protocol error, 2 wrong arguments (nothing was sent),
3 timeout, 4 verification failure (image check, update verification, bulk results).
With --json every command prints exactly one JSON document on stdout, errors as
{"error":{"name","code","message"}}.`;

function packageVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    for (const p of ['../../package.json', '../../../package.json']) {
      try {
        const pkg = require(p) as { name?: string; version?: string };
        if (pkg.name === 'mcumgr-toolkit' && pkg.version) return pkg.version;
      } catch {
        /* try the next location (src/ vs dist/) */
      }
    }
  } catch {
    /* fall through */
  }
  return '0.0.0';
}

/** Builds the command tree. Errors are thrown (exitOverride), not printed by commander. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('mcumgr');
  program
    .description('Manage Zephyr/MCUboot devices over MCUmgr (SMP): serial, USB serial, UDP, or a simulated device')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.out.streams.stdout.write(s),
      writeErr: (s) => ctx.out.streams.stderr.write(s),
      outputError: () => {},
    })
    .showHelpAfterError(false)
    .addHelpText('after', EPILOG);
  addGlobalOptions(program);
  registerOs(program, ctx);
  registerImage(program, ctx);
  registerFs(program, ctx);
  registerShell(program, ctx);
  registerStat(program, ctx);
  registerSettings(program, ctx);
  registerEnum(program, ctx);
  registerBasic(program, ctx);
  registerRaw(program, ctx);
  registerList(program, ctx);
  registerSim(program, ctx);
  registerBulk(program, ctx);
  registerBench(program, ctx);
  registerBatch(program, ctx);
  registerFleet(program, ctx);
  registerRollout(program, ctx);
  return program;
}

/** Whether `--json` appears among the options (before a literal `--`). */
function prescanJson(args: readonly string[]): boolean {
  return args.includes('--json');
}

/** Counts `-v`, `-vv`, `--verbose` among the options. */
function prescanVerbose(args: readonly string[]): number {
  let n = 0;
  for (const a of args) {
    if (a === '--verbose') n++;
    else if (/^-v+$/.test(a)) n += a.length - 1;
  }
  return n;
}

/**
 * Runs the command once with `args` (without `node` and the script) and resolves with the exit
 * code. Nothing is printed by commander itself: results and errors go through {@link Output}.
 * @example
 * ```ts
 * process.exitCode = await runCli(['--conn', 'sim', 'os', 'echo', 'hi', '--json']);
 * ```
 */
export async function runCli(args: readonly string[], streams?: OutputStreams): Promise<number> {
  const dash = args.indexOf('--');
  const before = dash >= 0 ? args.slice(0, dash) : args;
  const out = new Output(prescanJson(before), prescanVerbose(before), streams);
  if (!out.json) return runWith(args, { out });
  // With --json a signal must still end in one JSON document (and exit code 130).
  let claimed = false;
  const stop = onceStopped();
  try {
    const r = await raceStop(runWith(args, { out, onClaim: () => (claimed = true) }), stop.signal, () => claimed, out.activity);
    if ('code' in r) return r.code;
    if (out.printed) return ExitCode.INTERRUPTED;
    return out.error(r.interrupted);
  } finally {
    stop.dispose();
  }
}

/** The first SIGINT/SIGTERM of one run, and a way to stop listening. */
function onceStopped(): { signal: Promise<string>; dispose(): void } {
  let on: ((sig: NodeJS.Signals) => void) | undefined;
  const signal = new Promise<string>((resolve) => {
    on = (sig) => resolve(sig);
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
  return {
    signal,
    dispose: () => {
      process.off('SIGINT', on!);
      process.off('SIGTERM', on!);
    },
  };
}

let stopSignal: Promise<string> | undefined;

/** Resolves with the name of the first SIGINT/SIGTERM (installing the handlers on first use). */
function waitForStop(): Promise<string> {
  return (stopSignal ??= new Promise<string>((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  }));
}

async function runWith(
  args: readonly string[],
  base: { out: Output; inherited?: CliContext['inherited']; shared?: CliContext['shared']; onClaim?: () => void },
): Promise<number> {
  const dash = args.indexOf('--');
  const before = dash >= 0 ? args.slice(0, dash) : [...args];
  const passthrough = dash >= 0 ? args.slice(dash + 1) : undefined;
  const out = base.out;
  const ctx: CliContext = {
    out,
    passthrough,
    waitForStop: () => {
      base.onClaim?.(); // the command handles the signal itself
      return waitForStop();
    },
    ...(base.inherited ? { inherited: base.inherited } : {}),
    ...(base.shared ? { shared: base.shared } : {}),
    runNested: (a, nested) => runWith(a, nested),
  };
  const program = buildProgram(ctx);
  program.hook('preAction', (_root, actionCommand) => {
    out.activity.command = commandPath(actionCommand);
    if (passthrough !== undefined && !(actionCommand.name() === 'exec' && actionCommand.parent?.name() === 'shell')) {
      throw new CliUsageError(`"--" is only used by "shell exec" (mcumgr shell exec -- <command...>); remove it or the words after it`);
    }
  });
  try {
    await program.parseAsync(before, { from: 'user' });
    return ExitCode.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return ExitCode.OK;
      if (e.code === 'commander.help' || e.code === 'commander.executeSubCommandAsync') {
        // A command group without its subcommand: commander printed its help on stderr.
        if (out.json) out.error(new CliUsageError('a subcommand is missing; see --help'));
        return ExitCode.USAGE;
      }
    }
    return out.error(explainError(e, out.activity));
  }
}

/** `os echo` for the command being run (its names below the root). */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c && c.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
