/**
 * `mcumgr batch [file]`: runs several commands, one a line, over one connection (a serial port is
 * opened once; `--conn sim` keeps one simulated device for all of them). Lines use shell-like
 * quoting ('…', "…", backslash); blank lines and `#` comments are skipped; a leading `mcumgr` is
 * ignored. The batch's global options apply to every line; a line may override `--timeout`,
 * `--retries`, `--frame-size`, `--window`, but not `--conn`.
 *
 * It stops at the first failing line (exit code of that line) unless `--keep-going`. With
 * `--json` it prints one document: `{"ok":bool,"results":[{"command":[…],"exit":n,"result":…}
 * or {…,"error":{…}}]}`.
 * @module
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { resolveTarget, SharedDevice } from './connect.js';
import { action, checkLocalInput, readStdin, type CliContext } from './context.js';
import { CliExitError, CliUsageError, ExitCode, Output } from './output.js';

/** Splits a command line into words with shell-like quoting. */
export function splitWords(line: string, where = 'line'): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new CliUsageError(`${where}: unterminated ' quote`);
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < line.length) {
        const d = line[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) {
          cur += line[i + 1];
          i += 2;
        } else {
          cur += d;
          i++;
        }
      }
      if (!closed) throw new CliUsageError(`${where}: unterminated " quote`);
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      i++;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** Parses a batch script into the argv of each command (line numbers kept for messages). */
export function parseBatch(text: string, source: string): Array<{ line: number; argv: string[] }> {
  const out: Array<{ line: number; argv: string[] }> = [];
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) continue;
    let argv = splitWords(t, `${source}:${n + 1}`);
    if (argv[0] === 'mcumgr') argv = argv.slice(1);
    if (argv.length === 0) continue;
    if (['batch', 'sim', 'bulk'].includes(argv[0]!)) {
      throw new CliUsageError(`${source}:${n + 1}: "${argv[0]}" cannot run inside a batch`);
    }
    out.push({ line: n + 1, argv });
  }
  return out;
}

/** Registers `batch`. */
export function registerBatch(program: Command, ctx: CliContext): void {
  program
    .command('batch')
    .description('run commands, one a line (file or stdin), over one connection; stops at the first failure unless --keep-going')
    .argument('[file]', 'script file (- or nothing for stdin)', '-')
    .option('--keep-going', 'run the remaining lines after a failure')
    .action(
      action(ctx, async (env, o: { keepGoing?: boolean }, file: string) => {
        if (ctx.shared) throw new CliUsageError('batch cannot run inside a batch');
        if (env.g.conn.length > 0) resolveTarget(env.g); // a malformed --conn fails before any line runs
        await checkLocalInput('file', file);
        const text = file === '-' ? (await readStdin()).toString('utf8') : await readFile(file, 'utf8');
        const lines = parseBatch(text, file === '-' ? 'stdin' : file);
        const shared = new SharedDevice(env.g, env.out);
        const results: Array<Record<string, unknown>> = [];
        let exit: number = ExitCode.OK;
        try {
          for (const { line, argv } of lines) {
            let doc: unknown;
            let kind: 'result' | 'error' | undefined;
            const out = new Output(env.out.json, env.out.verbose, env.out.streams, (d, k) => {
              doc = d;
              kind = k;
            });
            env.out.debug(`batch line ${line}: ${argv.join(' ')}`);
            const code = await ctx.runNested(argv, { out, inherited: env.g, shared });
            const entry: Record<string, unknown> = { line, command: argv, exit: code };
            if (kind === 'error') entry.error = (doc as { error: unknown }).error;
            else if (kind === 'result') entry.result = doc;
            results.push(entry);
            if (code !== ExitCode.OK && exit === ExitCode.OK) exit = code;
            if (code !== ExitCode.OK && !o.keepGoing) break;
          }
        } finally {
          await shared.close();
        }
        if (env.out.json) env.out.result({ ok: exit === ExitCode.OK, results });
        if (exit !== ExitCode.OK) {
          const failed = results.filter((r) => r.exit !== ExitCode.OK).map((r) => r.line);
          throw new CliExitError(exit, 'BATCH_FAILED', `batch line${failed.length > 1 ? 's' : ''} ${failed.join(', ')} failed`);
        }
      }),
    );
}

