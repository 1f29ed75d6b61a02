/**
 * `mcumgr shell exec -- <argv...>`: runs a shell command line on the device.
 *
 * The command's output is printed as it came. When the command's own return value (`ret`) is
 * not 0, `mcumgr` prints the output all the same and then exits with code 1 and the error code
 * `SHELL_RET` (the device's `ret`, e.g. -8 for an unknown command, is not used as the exit code:
 * it is negative and would collide with the codes 2–4). With `--json` the document is
 * `{"argv":[…],"output":"…","ret":n}` in both cases.
 * @module
 */
import type { Command } from 'commander';
import { action, type CliContext } from './context.js';
import { CliExitError, CliUsageError, ExitCode } from './output.js';

/** Registers the `shell` commands. */
export function registerShell(program: Command, ctx: CliContext): void {
  const shell = program.command('shell').description('shell group: run shell commands on the device');

  shell
    .command('exec')
    .description('run a shell command line; put it after -- (e.g. mcumgr shell exec -- kernel version). Exits 1 when the command returns non-zero')
    .argument('[argv...]', 'the command and its arguments')
    .allowUnknownOption()
    .action(
      action(ctx, async (env, _o, words: string[] | undefined) => {
        const argv = [...(words ?? []), ...(ctx.passthrough ?? [])];
        if (argv.length === 0) throw new CliUsageError('shell exec needs a command: mcumgr shell exec -- <command> [args...]');
        if (argv[0] === '') throw new CliUsageError('the shell command name (argv[0]) must not be empty');
        const r = await env.device((c) => c.shell.exec(argv));
        env.out.result({ argv, output: r.output, ret: r.ret }, (v) => v.output);
        if (r.ret !== 0) throw new CliExitError(ExitCode.DEVICE, 'SHELL_RET', `the shell command returned ${r.ret}`);
      }),
    );
}
