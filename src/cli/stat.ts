/**
 * `mcumgr stat …`: list the statistics groups, read one.
 * @module
 */
import type { Command } from 'commander';
import { action, type CliContext } from './context.js';
import { CliUsageError, table } from './output.js';

/** Registers the `stat` commands. */
export function registerStat(program: Command, ctx: CliContext): void {
  const stat = program.command('stat').description('statistics group');

  stat
    .command('list')
    .description('names of the statistics groups')
    .action(
      action(ctx, async (env) => {
        const groups = await env.device((c) => c.stat.list());
        env.out.result({ groups }, (v) => (v.groups.length ? v.groups.join('\n') : '(no statistics groups)'));
      }),
    );

  stat
    .command('read')
    .description('the counters of one statistics group')
    .argument('<group>', 'group name (from "stat list")')
    .action(
      action(ctx, async (env, _o, group: string) => {
        if (group === '') throw new CliUsageError('group must be a statistics group name from "stat list"');
        const r = await env.device((c) => c.stat.read(group));
        env.out.result(r, (v) => table(['field', 'value'], Object.entries(v.fields).map(([k, n]) => [k, n])));
      }),
    );
}
