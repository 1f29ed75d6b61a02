/**
 * `mcumgr rollout create|status|watch|pause|resume|cancel|retry`: rollouts of an image over the
 * fleet's stations, their state, their event stream (progress bars on a terminal) and reports.
 * @module
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { writeFile } from 'node:fs/promises';
import type { FleetEvent, RolloutStatus } from '../fleet/index.js';
import { formatOfFile, formatReport, rolloutReport } from '../fleet/reports.js';
import type { PageRollout } from '../page/index.js';
import { addDbOptions, fleetOf } from './fleet.js';
import { addServeOptions, checkServeFlags, servePageFor, type ServedPage, type ServeFlags } from './page-serve.js';
import { action, parseUint, type CliContext } from './context.js';
import { CliExitError, CliUsageError, ExitCode, fmtRate, table, type Output } from './output.js';

function parseFraction(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.endsWith('%') ? Number(v.slice(0, -1)) / 100 : v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new CliUsageError(`${name} must be a fraction 0..1 or a percentage (0.9, 90%), got ${JSON.stringify(v)}`);
  return n;
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

function statusTable(s: RolloutStatus): string {
  const head = `rollout ${s.id} "${s.name}": ${s.state}${s.reason ? ` (${s.reason})` : ''}, image ${s.imageVersion}, mode ${s.mode}`;
  const groups = table(
    ['group', 'state', 'devices', 'ok', 'failed', 'cancelled', 'active', 'pending'],
    s.groups.map((g) => [g.group, g.state, g.total, g.ok, g.failed, g.cancelled, g.active, g.pending]),
  );
  const devices = table(
    ['device', 'group', 'station', 'status', 'deliveries', 'detail'],
    s.devices.map((d) => [d.device, d.group, d.station ?? '', d.status, d.deliveries, d.errorCode ? `${d.errorCode}: ${d.errorMessage}` : d.alreadyInstalled ? 'already installed' : d.verified ? 'verified' : '']),
  );
  return `${head}\n${groups}\n${devices}`;
}

/** Writes a rollout's report to `file` (format from its extension: .csv, .xml JUnit, else JSON). */
async function writeReport(file: string, s: RolloutStatus): Promise<void> {
  await writeFile(file, formatReport(rolloutReport(s), formatOfFile(file)));
}

/** Registers `rollout …`. */
export function registerRollout(program: Command, ctx: CliContext): void {
  const rollout = program.command('rollout').description('image rollouts over the fleet: deployment groups, thresholds, pause/resume/cancel/retry');

  addDbOptions(rollout.command('create').description('create a rollout of <image> and queue its first group').argument('<image>', 'signed MCUboot image file'))
    .option('--target <id>', 'a device id (repeat); see "mcumgr fleet devices"', collect)
    .option('--match <glob>', 'every registered device whose id matches, e.g. "board-*"')
    .option('--on-station <name>', 'only devices of these stations (repeat)', collect)
    .option('--groups <n>', 'number of deployment groups (default 1)')
    .option('--group-size <n>', 'devices per group (instead of --groups)')
    .option('--success-threshold <f>', 'fraction of a group that must succeed before the next starts (default 1)')
    .option('--error-threshold <f>', 'fraction of a group that may fail before the rollout stops (default 0)')
    .option('--mode <test|confirm>', 'confirm (default) or test', 'confirm')
    .option('--deadline <s>', 'start no device after this many seconds')
    .option('--lease <s>', 'lease of one device job, seconds (default 900)')
    .option('--name <text>', 'a name for people')
    .action(
      action(ctx, async (env, o: Record<string, string | string[] | undefined>, image: string) => {
        const mode = o.mode as string;
        if (mode !== 'test' && mode !== 'confirm') throw new CliUsageError(`--mode must be test or confirm, got ${JSON.stringify(mode)}`);
        if (!o.target && o.match === undefined && !o.onStation) throw new CliUsageError('no targets: pass --target <id> (repeat), --match <glob> or --on-station <name>');
        const successThreshold = parseFraction('--success-threshold', o.successThreshold as string | undefined);
        const errorThreshold = parseFraction('--error-threshold', o.errorThreshold as string | undefined);
        const groups = o.groups !== undefined ? parseUint('--groups', o.groups as string, 1, 10_000) : undefined;
        const groupSize = o.groupSize !== undefined ? parseUint('--group-size', o.groupSize as string, 1, 100_000) : undefined;
        const deadline = o.deadline !== undefined ? parseUint('--deadline', o.deadline as string, 1, 10_000_000) * 1000 : undefined;
        const leaseSeconds = o.lease !== undefined ? parseUint('--lease', o.lease as string, 5, 86_400) : undefined;
        const f = await fleetOf(o as { db?: string; schema?: string });
        try {
          const { createRollout } = await import('../fleet/index.js');
          const r = await createRollout(f, {
            image,
            ...(o.target ? { targets: o.target as string[] } : { selector: { ...(o.match !== undefined ? { match: o.match as string } : {}), ...(o.onStation ? { stations: o.onStation as string[] } : {}) } }),
            ...(groups !== undefined ? { groups } : {}),
            ...(groupSize !== undefined ? { groupSize } : {}),
            ...(successThreshold !== undefined ? { successThreshold } : {}),
            ...(errorThreshold !== undefined ? { errorThreshold } : {}),
            ...(deadline !== undefined ? { deadline } : {}),
            ...(leaseSeconds !== undefined ? { leaseSeconds } : {}),
            ...(o.name !== undefined ? { name: o.name as string } : {}),
            mode,
          });
          env.out.result(r, () => `${r.id}\n  ${r.groups.length} groups: ${r.groups.map((g) => g.length).join(' + ')} devices; "mcumgr rollout watch ${r.id}" follows it`);
        } finally {
          await f.close();
        }
      }),
    );

  addDbOptions(rollout.command('status').description('every rollout, or one with its groups and devices').argument('[id]', 'rollout id'))
    .option('--report <file>', 'also write a report (.json, .csv, .xml = JUnit)')
    .action(
      action(ctx, async (env, o: { db?: string; schema?: string; report?: string }, id?: string) => {
        const f = await fleetOf(o);
        try {
          const { listRollouts, rolloutStatus } = await import('../fleet/index.js');
          if (id === undefined) {
            if (o.report) throw new CliUsageError('--report needs a rollout id');
            const list = await listRollouts(f);
            env.out.result({ rollouts: list }, () => table(['id', 'name', 'state', 'created', 'reason'], list.map((r) => [r.id, r.name, r.state, r.createdAt, r.reason ?? ''])));
            return;
          }
          const s = await rolloutStatus(f, id);
          if (o.report) await writeReport(o.report, s);
          env.out.result(s, statusTable);
        } finally {
          await f.close();
        }
      }),
    );

  addServeOptions(
    addDbOptions(rollout.command('watch').description('follow a rollout until it ends: progress per device, group and state changes').argument('<id>', 'rollout id'))
      .option('--report <file>', 'write a report when it ends (.json, .csv, .xml = JUnit)')
      .option('--follow', 'keep following after the rollout ended'),
  ).action(
    action(ctx, async (env, o: { db?: string; schema?: string; report?: string; follow?: boolean } & ServeFlags, id: string) => {
      const serve = await checkServeFlags(o);
      const f = await fleetOf(o);
      const abort = new AbortController();
      void ctx.waitForStop().then(() => abort.abort());
      const view = watchView(env.out);
      let served: ServedPage | undefined;
      try {
        const m = await import('../fleet/index.js');
        let shown: PageRollout | undefined;
        if (serve) {
          const first = await m.rolloutStatus(f, id); // an unknown id fails here, before the page starts
          served = await servePageFor(ctx, env.out, serve, { controls: 'pause, resume and cancel the rollout' });
          const { pageRollout } = await import('../page/index.js');
          shown = pageRollout(served.page, first, { pause: () => m.pauseRollout(f, id), resume: () => m.resumeRollout(f, id), cancel: () => m.cancelRollout(f, id) });
        }
        let events = 0;
        for await (const e of m.watchRollout(f, id, { signal: abort.signal, ...(o.follow ? { follow: true } : {}) })) {
          events++;
          view(e);
          shown?.onEvent(e);
        }
        view(undefined);
        const s = await m.rolloutStatus(f, id);
        shown?.finish(s);
        if (o.report) await writeReport(o.report, s);
        env.out.result({ ...s, events }, statusTable);
        await served?.linger();
        served = undefined;
        if (s.state !== 'finished' && !abort.signal.aborted) {
          throw new CliExitError(s.devices.some((d) => d.status === 'failed') ? ExitCode.VERIFY : ExitCode.DEVICE, 'ROLLOUT_NOT_FINISHED', `rollout ${id} ended ${s.state}: ${s.reason ?? ''}`);
        }
      } finally {
        view(undefined);
        await served?.page.close();
        await f.close();
      }
    }),
  );

  const simple: Array<[string, string, 'pauseRollout' | 'resumeRollout' | 'cancelRollout' | 'retryFailed']> = [
    ['pause', 'stop starting devices; running ones finish', 'pauseRollout'],
    ['resume', 'go on with a paused rollout', 'resumeRollout'],
    ['cancel', 'cancel: no new device is touched', 'cancelRollout'],
    ['retry', 'queue the failed and cancelled devices again and run the rollout', 'retryFailed'],
  ];
  for (const [name, what, fn] of simple) {
    addDbOptions(rollout.command(name).description(what).argument('<id>', 'rollout id')).action(
      action(ctx, async (env, o: { db?: string; schema?: string }, id: string) => {
        const f = await fleetOf(o);
        try {
          const m = await import('../fleet/index.js');
          const n = await m[fn](f, id);
          const s = await m.rolloutStatus(f, id);
          env.out.result({ id, state: s.state, ...(typeof n === 'number' ? { requeued: n } : {}) }, () => `rollout ${id}: ${s.state}${typeof n === 'number' ? ` (${n} devices queued again)` : ''}`);
        } finally {
          await f.close();
        }
      }),
    );
  }
}

/** Progress bars per device on a terminal; otherwise one line per device result and state change. */
function watchView(out: Output): (e: FleetEvent | undefined) => void {
  let multi: cliProgress.MultiBar | undefined;
  const bars = new Map<string, cliProgress.SingleBar>();
  let stopped = false;
  return (e) => {
    if (e === undefined) {
      if (!stopped) multi?.stop();
      stopped = true;
      return;
    }
    if (out.progressEnabled && !stopped) {
      multi ??= new cliProgress.MultiBar({ stream: out.streams.stderr, format: '{name} [{bar}] {percentage}% | {step} | {speed}', hideCursor: true, barsize: 24 }, cliProgress.Presets.shades_classic);
      if (e.type === 'progress' || e.type === 'device-done') {
        const name = e.device.padEnd(14).slice(0, 14);
        let bar = bars.get(e.device);
        const total = e.type === 'progress' ? Math.max(e.total, 1) : 1;
        if (!bar) bars.set(e.device, (bar = multi.create(total, 0, { name, step: '', speed: '' })));
        if (e.type === 'progress') bar.update(e.bytes, { name, step: `${e.step}@${e.station}`.padEnd(18), speed: e.rate > 0 ? fmtRate(e.rate) : '' });
        else bar.update(bar.getTotal(), { name, step: (e.result === 'ok' ? 'ok' : `${e.result.toUpperCase()} ${e.error?.code ?? ''}`).padEnd(18), speed: '' });
      } else multi.log(`${describeEvent(e)}\n`);
      return;
    }
    if (e.type !== 'progress') out.note(describeEvent(e));
  };
}

function describeEvent(e: FleetEvent): string {
  switch (e.type) {
    case 'rollout-state':
      return `rollout ${e.state}${e.reason ? `: ${e.reason}` : ''}`;
    case 'group-started':
      return `group ${e.group} started: ${e.devices.join(', ')}`;
    case 'group-finished':
      return `group ${e.group} ${e.outcome}: ${e.ok}/${e.total} ok, ${e.failed} failed, ${e.cancelled} cancelled`;
    case 'device-done':
      return `${e.device}@${e.station || '-'}: ${e.result}${e.error ? ` ${e.error.code}: ${e.error.message}` : ''}${e.deliveries > 1 ? ` (${e.deliveries} deliveries)` : ''}`;
    default:
      return `${e.device}: ${e.step} ${e.bytes}/${e.total}`;
  }
}
