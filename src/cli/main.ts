#!/usr/bin/env node
/**
 * Entry point of the `mcumgr` command (`node --import tsx src/cli/main.ts …` in a checkout,
 * `dist/cli/main.js` once built). See {@link runCli} for the command itself.
 * @module
 */
import { runCli } from './program.js';

/** Writes nothing, but resolves once everything written to `stream` so far has been flushed. */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) resolve();
    else stream.write('', () => resolve());
  });
}

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
await Promise.all([drained(process.stdout), drained(process.stderr)]);
// Handles left open by a transport or the simulator must not keep a finished command alive.
process.exit(code);
