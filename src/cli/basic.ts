/**
 * `mcumgr storage-erase`: erase the device's storage partition (Zephyr basic group).
 * @module
 */
import type { Command } from 'commander';
import { action, type CliContext } from './context.js';

/** Registers `storage-erase`. */
export function registerBasic(program: Command, ctx: CliContext): void {
  program
    .command('storage-erase')
    .description('erase the device\'s storage_partition (settings, file systems)')
    .action(
      action(ctx, async (env) => {
        await env.device((c) => c.basic.eraseStorage());
        env.out.result({ erased: true }, 'storage partition erased');
      }),
    );
}
