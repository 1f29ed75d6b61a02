/**
 * `mcumgr fs …`: upload, download, stat, hash, supported.
 * @module
 */
import type { Command } from 'commander';
import { action, checkLocalInput, parseRemotePath, readStdin, writeLocal, type CliContext } from './context.js';
import { CliUsageError, fmtBytes, fmtRate, table } from './output.js';
import { uploadSummary } from './transfer-text.js';
import { resolveDownloadTarget, writeFileInFolder } from './safe-path.js';

/** Registers the `fs` commands. */
export function registerFs(program: Command, ctx: CliContext): void {
  const fs = program.command('fs').description('file system group: upload, download, status, hash');

  fs.command('upload')
    .description('copy a local file to the device')
    .argument('<local>', 'local file (- for stdin)')
    .argument('<remote>', 'device path, e.g. /lfs1/data.bin')
    .action(
      action(ctx, async (env, _o, local: string, remote: string) => {
        parseRemotePath('remote', remote);
        await checkLocalInput('local', local);
        const source = local === '-' ? await readStdin() : local;
        const bar = env.out.progress('upload');
        let r;
        try {
          r = await env.device((c) =>
            c.fs.upload(remote, source, {
              ...(env.g.window !== undefined ? { window: env.g.window } : {}),
              onProgress: (p) => bar.update(p.done, p.total, p.rate),
            }),
          );
        } finally {
          bar.stop();
        }
        env.out.result(
          { local, remote, ...r },
          (v) => `${remote}: ${uploadSummary(v, 'on the device')}`,
        );
      }),
    );

  fs.command('download')
    .description('copy a device file to a local file or into a local folder, or to stdout with -')
    .argument('<remote>', 'device path')
    .argument('<local>', 'local file, or folder (the file is named after the device path), or - for stdout')
    .action(
      action(ctx, async (env, _o, remote: string, local: string) => {
        parseRemotePath('remote', remote);
        if (local === '-' && env.out.json) {
          throw new CliUsageError('local "-" (stdout) cannot be used with --json, which prints its JSON document there; give a file name');
        }
        // Where the bytes will go is settled before anything is sent: never outside the folder
        // given (no "..", no link out of it, no name from the device that is not a plain name).
        const target = local === '-' ? undefined : await resolveDownloadTarget(local, remote);
        const bar = env.out.progress('download');
        let r;
        try {
          r = await env.device((c) =>
            c.fs.download(remote, {
              ...(env.g.window !== undefined ? { window: env.g.window } : {}),
              onProgress: (p) => bar.update(p.done, p.total, p.rate),
            }),
          );
        } finally {
          bar.stop();
        }
        if (target) await writeFileInFolder(target, r.data);
        else await writeLocal('-', r.data);
        const { data, ...rest } = r;
        if (!target) {
          env.out.note(`downloaded ${fmtBytes(data.length)} from ${remote} in ${r.seconds.toFixed(2)} s (${fmtRate(r.throughput)})`);
          return;
        }
        env.out.result(
          { remote, local, path: target.path, ...rest },
          (v) => `downloaded ${fmtBytes(v.bytes)} from ${remote} to ${v.path} in ${v.seconds.toFixed(2)} s (${fmtRate(v.throughput)})`,
        );
      }),
    );

  fs.command('stat')
    .description('size of a device file')
    .argument('<remote>', 'device path')
    .action(
      action(ctx, async (env, _o, remote: string) => {
        parseRemotePath('remote', remote);
        const r = await env.device((c) => c.fs.status(remote));
        env.out.result({ name: remote, size: r.size }, (v) => `${v.name}  ${v.size} bytes`);
      }),
    );

  fs.command('hash')
    .description('hash or checksum of a device file')
    .argument('<remote>', 'device path')
    .option('--type <name>', 'algorithm, e.g. crc32 or sha256 (default: the device\'s)')
    .action(
      action(ctx, async (env, o: { type?: string }, remote: string) => {
        parseRemotePath('remote', remote);
        if (o.type !== undefined && !/^[a-z0-9_-]+$/i.test(o.type)) {
          throw new CliUsageError(`--type must be an algorithm name such as crc32 or sha256, got ${JSON.stringify(o.type)}`);
        }
        const r = await env.device((c) => c.fs.hash(remote, o.type !== undefined ? { type: o.type } : {}));
        const text = typeof r.output === 'number' ? `0x${r.output.toString(16).padStart(8, '0')}` : r.output.toString('hex');
        env.out.result({ name: remote, ...r, text }, (v) => `${v.type}  ${v.text}  ${remote} (${v.len} bytes from ${v.off})`);
      }),
    );

  fs.command('supported')
    .description('hash and checksum algorithms the device offers')
    .action(
      action(ctx, async (env) => {
        const types = await env.device((c) => c.fs.supportedHashes());
        env.out.result({ types }, (v) => table(['name', 'format', 'size'], v.types.map((t) => [t.name, t.format, t.size])));
      }),
    );
}
