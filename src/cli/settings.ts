/**
 * `mcumgr settings …`: read, write, delete, commit, load, save.
 * @module
 */
import type { Command } from 'commander';
import { action, parseUint, type CliContext } from './context.js';
import { CliUsageError } from './output.js';

/** True when the bytes are UTF-8 text without control characters (other than tab/newline). */
export function isPrintableUtf8(b: Buffer): boolean {
  const s = b.toString('utf8');
  if (!Buffer.from(s, 'utf8').equals(b)) return false;
  return !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s);
}

function checkName(name: string): void {
  if (name === '' || name.includes('\0')) throw new CliUsageError(`name must be a setting key such as app/name, got ${JSON.stringify(name)}`);
}

/** Registers the `settings` commands. */
export function registerSettings(program: Command, ctx: CliContext): void {
  const settings = program.command('settings').description('settings group: read, write, delete, commit, load, save');

  settings
    .command('read')
    .description('read a setting (printed as text when it is UTF-8, else as hex)')
    .argument('<name>', 'setting key, e.g. app/name')
    .option('--max-size <n>', 'largest value to return, bytes')
    .option('--hex', 'always print the value as hex')
    .action(
      action(ctx, async (env, o: { maxSize?: string; hex?: boolean }, name: string) => {
        checkName(name);
        const max = o.maxSize !== undefined ? parseUint('--max-size', o.maxSize, 1, 0xffffffff) : undefined;
        const val = await env.device((c) => c.settings.read(name, max));
        const text = isPrintableUtf8(val) ? val.toString('utf8') : undefined;
        env.out.result({ name, value: val, ...(text !== undefined ? { text } : {}) }, () =>
          !o.hex && text !== undefined ? text : val.toString('hex'),
        );
      }),
    );

  settings
    .command('write')
    .description('write a setting (the value as UTF-8 text, or as bytes with --hex)')
    .argument('<name>', 'setting key')
    .argument('<value>', 'the value')
    .option('--hex', 'the value is hex digits')
    .action(
      action(ctx, async (env, o: { hex?: boolean }, name: string, value: string) => {
        checkName(name);
        let bytes: Buffer;
        if (o.hex) {
          const clean = value.replace(/[\s:]/g, '');
          if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
            throw new CliUsageError(`value must be hex digits (an even number of 0-9/a-f) with --hex, got ${JSON.stringify(value)}`);
          }
          bytes = Buffer.from(clean, 'hex');
        } else bytes = Buffer.from(value, 'utf8');
        await env.device((c) => c.settings.write(name, bytes));
        env.out.result({ name, written: true, value: bytes }, `${name} written (${bytes.length} bytes)`);
      }),
    );

  settings
    .command('delete')
    .description('delete a setting')
    .argument('<name>', 'setting key')
    .action(
      action(ctx, async (env, _o, name: string) => {
        checkName(name);
        await env.device((c) => c.settings.delete(name));
        env.out.result({ name, deleted: true }, `${name} deleted`);
      }),
    );

  for (const [verb, desc] of [
    ['commit', 'apply the written settings'],
    ['load', 'load the settings from persistent storage'],
    ['save', 'save the settings to persistent storage'],
  ] as const) {
    settings
      .command(verb)
      .description(desc)
      .action(
        action(ctx, async (env) => {
          await env.device((c) => c.settings[verb]());
          env.out.result({ [verb]: true }, `settings ${verb}: ok`);
        }),
      );
  }
}
