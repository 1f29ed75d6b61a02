/**
 * `mcumgr fleet up|devices` and `mcumgr station`: the embedded database of a one-machine fleet,
 * the registry, and the station agent. The fleet's packages are loaded only when one of these
 * commands runs (`mcumgr-toolkit/fleet`), so the rest of the CLI never loads pg-boss.
 * @module
 */
import type { Command } from 'commander';
import { listSerialPorts } from '../transport/list-ports.js';
import type { PageStation } from '../page/index.js';
import { action, parseUint, type CliContext } from './context.js';
import { checkServeFlags, servePageFor, type ServedPage } from './page-serve.js';
import { CliUsageError, table } from './output.js';

/** The `--db` value, or MCUMGR_FLEET_DB. */
export function dbUrlOf(o: { db?: string }): string {
  const url = o.db ?? process.env.MCUMGR_FLEET_DB;
  if (!url) throw new CliUsageError('no database: pass --db postgres://user:pw@host:5432/db or set MCUMGR_FLEET_DB ("mcumgr fleet up" starts one and prints its URL)');
  return url;
}

/** Options every fleet command takes. */
export function addDbOptions(cmd: Command): Command {
  return cmd
    .option('--db <url>', 'PostgreSQL URL of the fleet (default: $MCUMGR_FLEET_DB)')
    .option('--schema <name>', 'schema of the fleet tables', 'mcumgr_fleet');
}

/** Opens the fleet named by the command's options. */
export async function fleetOf(o: { db?: string; schema?: string }): Promise<import('../fleet/index.js').Fleet> {
  const url = dbUrlOf(o);
  const { openFleet } = await import('../fleet/index.js');
  return openFleet({ url, ...(o.schema ? { schema: o.schema } : {}) });
}

/** Parses `--conn id=connection` (or a bare connection string: its id is the port's name). */
export function parseStationDevice(text: string): { id: string; connection: string } {
  const m = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,62})=([a-z]+:.+)$/.exec(text);
  if (m) return { id: m[1]!, connection: m[2]! };
  if (!/^[a-z]+:.+/.test(text)) throw new CliUsageError(`--conn ${JSON.stringify(text)}: give id=connection, e.g. --conn board-7=serial:/dev/ttyACM0`);
  const base = text.replace(/\?.*$/, '').split(/[/:]/).filter(Boolean).pop() ?? 'device';
  return { id: base.replace(/[^A-Za-z0-9_.-]/g, '_'), connection: text };
}

/** `--discover usb:VID:PID`: every serial port with that USB id, named by its serial number. */
async function discover(spec: string): Promise<Array<{ id: string; connection: string }>> {
  const m = /^usb:([0-9a-f]{4}):([0-9a-f]{4})$/i.exec(spec);
  if (!m) throw new CliUsageError(`--discover ${JSON.stringify(spec)}: give usb:VID:PID in hex, e.g. usb:2fe3:0004`);
  const ports = await listSerialPorts();
  return ports
    .filter((p) => p.vendorId?.toLowerCase() === m[1]!.toLowerCase() && p.productId?.toLowerCase() === m[2]!.toLowerCase())
    .map((p) => ({ id: (p.serialNumber ?? p.path.split('/').pop()!).replace(/[^A-Za-z0-9_.-]/g, '_'), connection: `serial:${p.path}` }));
}

/** Registers `fleet up|devices` and `station`. */
export function registerFleet(program: Command, ctx: CliContext): void {
  const fleet = program.command('fleet').description('the fleet database: start an embedded one, list stations and devices');

  fleet
    .command('up')
    .description('start an embedded PostgreSQL on a data directory and print its URL; runs until Ctrl-C')
    .option('--data <dir>', 'data directory (created when empty)', './mcumgr-fleet-db')
    .option('--port <n>', 'TCP port on 127.0.0.1', '54329')
    .action(
      action(ctx, async (env, o: { data: string; port: string }) => {
        const port = parseUint('--port', o.port, 1, 65535);
        const { startEmbeddedPostgres } = await import('../fleet/index.js');
        const pg = await startEmbeddedPostgres({ dataDir: o.data, port });
        env.out.note(`PostgreSQL is up: ${pg.url}\n  export MCUMGR_FLEET_DB=${pg.url}\n  (Ctrl-C stops it; the data stays in ${o.data})`);
        if (!env.out.json) env.out.line(pg.url);
        const sig = await ctx.waitForStop();
        await pg.stop();
        env.out.result({ url: pg.url, port, dataDir: o.data, stoppedBy: sig }, () => `stopped (${sig})`);
      }),
    );

  addDbOptions(fleet.command('devices').description('the stations and the devices each reaches, alive or not')).action(
    action(ctx, async (env, o: { db?: string; schema?: string }) => {
      const f = await fleetOf(o);
      try {
        const { listStations } = await import('../fleet/index.js');
        const stations = await listStations(f);
        env.out.result({ stations }, () =>
          table(
            ['station', 'alive', 'host', 'device', 'connection'],
            stations.flatMap((s) => s.devices.map((d) => [s.name, s.alive ? 'yes' : 'no', s.host, d.id, d.connection])),
          ),
        );
      } finally {
        await f.close();
      }
    }),
  );

  addDbOptions(program.command('station').description('run a station agent: register the --conn devices, take their jobs, report results; runs until SIGTERM'))
    .requiredOption('--name <name>', 'station name, unique in the fleet (e.g. st-3)')
    .option('--discover <usb:VID:PID>', 'also every USB serial port with this id (named by serial number)')
    .option('--heartbeat <ms>', 'heartbeat period', '2000')
    .option('--ttl <ms>', 'the station counts as dead this long after its last heartbeat (default 5 heartbeats)')
    .option('--threads <n>', 'worker threads per bulk run')
    .option('--cache <dir>', 'directory of verified local image copies')
    .option('--serve <[host:]port>', "show the station's devices, jobs and results live on a web page (read-only; 127.0.0.1 unless a host is given)")
    .action(
      action(ctx, async (env, o: { db?: string; schema?: string; name: string; discover?: string; heartbeat: string; ttl?: string; threads?: string; cache?: string; serve?: string }) => {
        const devices = env.g.conn.map(parseStationDevice);
        if (o.discover) devices.push(...(await discover(o.discover)));
        if (devices.length === 0) throw new CliUsageError('no devices: pass --conn id=connection once per device, or --discover usb:VID:PID');
        const heartbeatMs = parseUint('--heartbeat', o.heartbeat, 100, 600_000);
        const ttlMs = o.ttl !== undefined ? parseUint('--ttl', o.ttl, heartbeatMs + 1, 3_600_000) : undefined;
        const threads = o.threads !== undefined ? parseUint('--threads', o.threads, 1, 256) : undefined;
        const serve = await checkServeFlags({ serve: o.serve, linger: o.serve !== undefined ? '0' : undefined });
        let served: ServedPage | undefined;
        let shown: PageStation | undefined;
        if (serve) {
          served = await servePageFor(ctx, env.out, serve, { readOnly: true });
          const { pageStation } = await import('../page/index.js');
          shown = pageStation(served.page, { name: o.name, devices });
        }
        const f = await fleetOf(o).catch(async (e: unknown) => {
          await served?.page.close();
          throw e;
        });
        const { startStation } = await import('../fleet/index.js');
        let station: Awaited<ReturnType<typeof startStation>>;
        try {
          station = await startStation(f, {
            ...(shown ? { onEvent: shown.onEvent } : {}),
            name: o.name,
            devices,
            heartbeatMs,
            ...(ttlMs !== undefined ? { ttlMs } : {}),
            ...(threads !== undefined ? { threads } : {}),
            ...(o.cache ? { cacheDir: o.cache } : {}),
            log: (l) => env.out.debug(`${o.name}: ${l}`),
          });
        } catch (e) {
          await served?.page.close(); // a bad device list or a database away: nothing left running
          await f.close();
          throw e;
        }
        env.out.note(`station ${o.name} is up with ${devices.length} devices (${devices.map((d) => d.id).join(', ')})`);
        const sig = await ctx.waitForStop();
        env.out.note(`${sig}: station ${o.name} stops (running devices finish or are handed back)`);
        await station.stop({ graceful: true });
        shown?.finish(`stopped by ${sig}`);
        await served?.linger();
        await f.close();
        env.out.result({ station: o.name, instance: station.instance, devices, stoppedBy: sig }, () => `station ${o.name} stopped`);
      }),
    );
}
