/**
 * `mcumgr enum …`: which management groups the device has.
 * @module
 */
import type { Command } from 'commander';
import { GROUP_NAMES } from '../protocol/ids.js';
import { action, parseUint, type CliContext } from './context.js';
import { table } from './output.js';

function groupName(id: number): string {
  return GROUP_NAMES[id] ?? (id >= 64 ? 'application' : '?');
}

/** Registers the `enum` commands. */
export function registerEnum(program: Command, ctx: CliContext): void {
  const en = program.command('enum').description('enumeration group: the device\'s management groups');

  en.command('count')
    .description('number of management groups')
    .action(
      action(ctx, async (env) => {
        const count = await env.device((c) => c.enum.count());
        env.out.result({ count }, String(count));
      }),
    );

  en.command('list')
    .description('the group ids')
    .action(
      action(ctx, async (env) => {
        const groups = await env.device((c) => c.enum.list());
        env.out.result({ groups }, (v) => table(['group', 'name'], v.groups.map((g) => [g, groupName(g)])));
      }),
    );

  en.command('single')
    .description('the group id at an index')
    .argument('[index]', '0-based index', '0')
    .action(
      action(ctx, async (env, _o, index: string) => {
        const i = parseUint('index', index, 0, 0xffff);
        const r = await env.device((c) => c.enum.single(i));
        env.out.result({ index: i, ...r }, (v) => `${v.group} (${groupName(v.group)})${v.end ? ' [last]' : ''}`);
      }),
    );

  en.command('details')
    .description('names and handler counts of all groups, or of the given ids')
    .argument('[groups...]', 'group ids')
    .action(
      action(ctx, async (env, _o, groups: string[] | undefined) => {
        const ids = groups && groups.length ? groups.map((g, k) => parseUint(`groups[${k}]`, g, 0, 0xffff)) : undefined;
        const details = await env.device((c) => c.enum.details(ids));
        // A device may leave a group's name empty (it has no name registered); the JSON gives the
        // same name the table shows, and says where it came from.
        const named = details.map((d) => ({ ...d, name: d.name || groupName(d.group), nameFrom: d.name ? 'device' : 'client' }));
        env.out.result({ groups: named }, (v) => table(['group', 'name', 'handlers'], v.groups.map((d) => [d.group, d.name, d.handlers ?? '-'])));
      }),
    );
}
