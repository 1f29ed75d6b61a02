/**
 * `mcumgr os …`: echo, reset, params, info, bootloader, taskstat, mpstat, datetime.
 * @module
 */
import type { Command } from 'commander';
import { action, parseUint, type CliContext } from './context.js';
import { CliUsageError, table } from './output.js';
import { formatDateTime } from '../groups/os.js';

/** Registers the `os` commands. */
export function registerOs(program: Command, ctx: CliContext): void {
  const os = program.command('os').description('OS group: echo, reset, parameters, information, statistics, clock');

  os.command('echo')
    .description('send text and print the device\'s echo of it')
    .argument('<text>', 'text to echo')
    .action(
      action(ctx, async (env, _o, text: string) => {
        const r = await env.device((c) => c.os.echo(text));
        env.out.result({ text: r }, (v) => v.text);
      }),
    );

  os.command('reset')
    .description('reboot the device')
    .option('--force', 'reset even when an application hook would refuse')
    .option('--boot-mode <n>', 'boot mode to request (e.g. 1 = stay in the bootloader)')
    .action(
      action(ctx, async (env, o: { force?: boolean; bootMode?: string }) => {
        const bootMode = o.bootMode !== undefined ? parseUint('--boot-mode', o.bootMode, 0, 255) : undefined;
        await env.device((c) => c.os.reset({ ...(o.force ? { force: true } : {}), ...(bootMode !== undefined ? { bootMode } : {}) }));
        env.out.result({ reset: true, ...(o.force ? { force: true } : {}), ...(bootMode !== undefined ? { bootMode } : {}) }, 'reset requested');
      }),
    );

  os.command('params')
    .description('the device\'s SMP buffer size and count (MCUMGR_TRANSPORT_NETBUF_SIZE / _COUNT)')
    .action(
      action(ctx, async (env) => {
        const p = await env.device((c) => c.os.mcumgrParams());
        env.out.result(p, (v) => `buf_size   ${v.bufSize}\nbuf_count  ${v.bufCount}`);
      }),
    );

  os.command('info')
    .description('OS/application information (uname-like)')
    .argument('[format]', 'field letters: s kernel, n node, r release, v version, b build time, m machine, p processor, i platform, o OS, a all')
    .action(
      action(ctx, async (env, _o, format: string | undefined) => {
        if (format !== undefined && (format === '' || /\s/.test(format))) {
          throw new CliUsageError(`format must be field letters without spaces (e.g. "a" or "sv"), got ${JSON.stringify(format)}`);
        }
        const r = await env.device((c) => c.os.appInfo(format));
        env.out.result({ output: r }, (v) => v.output);
      }),
    );

  os.command('bootloader')
    .description('bootloader name, or with a query (e.g. "mode") that information')
    .argument('[query]', 'e.g. mode')
    .action(
      action(ctx, async (env, _o, query: string | undefined) => {
        if (query === undefined) {
          const r = await env.device((c) => c.os.bootloaderInfo());
          env.out.result(r, (v) => v.bootloader);
        } else if (query === 'mode') {
          const r = await env.device((c) => c.os.bootloaderInfo('mode'));
          env.out.result(r, (v) => `mode          ${v.mode} (${v.modeName})\nno-downgrade  ${v.noDowngrade}`);
        } else {
          if (query === '') throw new CliUsageError('query must not be empty; leave it out for the bootloader name');
          const r = await env.device((c) => c.os.bootloaderInfo(query));
          env.out.result(r);
        }
      }),
    );

  os.command('taskstat')
    .description('thread statistics')
    .action(
      action(ctx, async (env) => {
        const tasks = await env.device((c) => c.os.taskStats());
        env.out.result({ tasks }, (v) =>
          table(
            ['name', 'prio', 'tid', 'state', 'stack use/size', 'runtime', 'ctx sw'],
            v.tasks.map((t) => [
              t.name,
              t.prio,
              t.tid,
              t.state,
              t.stackSize !== undefined ? `${t.stackUse ?? '?'}/${t.stackSize}` : '-',
              t.runtime ?? '-',
              t.contextSwitches ?? '-',
            ]),
          ),
        );
      }),
    );

  os.command('mpstat')
    .description('memory pool statistics')
    .action(
      action(ctx, async (env) => {
        const pools = await env.device((c) => c.os.memoryPoolStats());
        env.out.result({ pools }, (v) =>
          table(
            ['name', 'block size', 'blocks', 'free', 'min free'],
            v.pools.map((p) => [p.name, p.blockSize ?? '-', p.blocks, p.free, p.minFree]),
          ),
        );
      }),
    );

  os.command('datetime')
    .description('read the device clock, or "set <iso>" it (UTC; "now" for the host\'s time)')
    .argument('[action]', 'set')
    .argument('[value]', 'YYYY-MM-DDTHH:MM:SS[.mmm] (UTC, sent as given), an ISO time with Z or an offset (converted to UTC), or now')
    .action(
      action(ctx, async (env, _o, act: string | undefined, value: string | undefined) => {
        if (act === undefined) {
          const r = await env.device((c) => c.os.dateTime());
          env.out.result({ datetime: r.text, utc: r.date }, (v) => v.datetime);
          return;
        }
        if (act !== 'set') throw new CliUsageError(`datetime takes no argument or "set <iso>", got ${JSON.stringify(act)}`);
        if (value === undefined) throw new CliUsageError('datetime set needs a value: YYYY-MM-DDTHH:MM:SS, an ISO time with Z/offset, or now');
        const send = parseDateTimeArg(value);
        await env.device((c) => c.os.setDateTime(send));
        // What was sent, exactly (a Date goes out without its zone and with ms only when not 0).
        const text = typeof send === 'string' ? send : formatDateTime(send);
        env.out.result({ set: true, datetime: text }, (v) => `clock set to ${v.datetime}`);
      }),
    );
}

/**
 * Parses the value of `os datetime set`: `now` (the host clock to the millisecond), a device-form
 * time `YYYY-MM-DDTHH:MM:SS[.mmm]` (kept as text), or an ISO time with `Z` or an offset (a Date).
 */
export function parseDateTimeArg(value: string): string | Date {
  if (value === 'now') return new Date();
  const plain = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.(\d+))?$/.exec(value);
  if (plain) {
    // Zephyr reads the fraction as a whole number of ms: ".5" would be 5 ms, not half a second.
    if (plain[1] === undefined || plain[1].length === 3) return value;
    throw new CliUsageError(
      `datetime value ${JSON.stringify(value)}: write the fraction as three digits of milliseconds (e.g. .500), or add Z to read it as a decimal fraction`,
    );
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/.test(value)) {
    const d = new Date(value);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new CliUsageError(
    `datetime value must be YYYY-MM-DDTHH:MM:SS[.mmm], an ISO time with Z or an offset, or now; got ${JSON.stringify(value)}`,
  );
}
