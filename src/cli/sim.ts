/**
 * `mcumgr sim`: starts simulated devices on PTYs or UDP ports, prints their connection strings
 * (one JSON line with `--json`: `{"simulators":[{"connection",…}]}`), and serves them until
 * Ctrl-C / SIGTERM. Any MCUmgr client, this one included, can then connect to them.
 * @module
 */
import type { Command } from 'commander';
import type { Simulator } from '../sim/index.js';
import { action, parseUint, type CliContext } from './context.js';
import { CliUsageError } from './output.js';

/** Registers `sim`. */
export function registerSim(program: Command, ctx: CliContext): void {
  program
    .command('sim')
    .description('run simulated devices on PTYs or UDP and print their connection strings; stops on Ctrl-C/SIGTERM')
    .option('--personality <zephyr|mcuboot>', 'Zephyr application or MCUboot serial recovery', 'zephyr')
    .option('--transport <pty|udp>', 'how the devices are served', 'pty')
    .option('--baud <n>', 'UART speed of a PTY (default 115200); packet pacing for UDP')
    .option('--count <n>', 'number of devices', '1')
    .option('--latency <ms>', 'one-way latency, ms')
    .option('--netbuf-size <n>', 'MCUMGR_TRANSPORT_NETBUF_SIZE of the simulated device')
    .option('--netbuf-count <n>', 'MCUMGR_TRANSPORT_NETBUF_COUNT of the simulated device')
    .option('--host <addr>', 'UDP: address to bind', '127.0.0.1')
    .option('--seed <n>', 'seed of the fault streams')
    .action(
      action(
        ctx,
        async (
          env,
          o: {
            personality: string;
            transport: string;
            baud?: string;
            count: string;
            latency?: string;
            netbufSize?: string;
            netbufCount?: string;
            host: string;
            seed?: string;
          },
        ) => {
          if (o.personality !== 'zephyr' && o.personality !== 'mcuboot') {
            throw new CliUsageError(`--personality must be zephyr or mcuboot, got ${JSON.stringify(o.personality)}`);
          }
          if (o.transport !== 'pty' && o.transport !== 'udp') {
            throw new CliUsageError(`--transport must be pty or udp (use --conn sim for an in-process device), got ${JSON.stringify(o.transport)}`);
          }
          if (env.g.conn.length > 0) throw new CliUsageError('sim starts devices of its own; it takes no --conn');
          const count = parseUint('--count', o.count, 1, 256);
          const baudRate = o.baud !== undefined ? parseUint('--baud', o.baud, 1, 100_000_000) : undefined;
          const latencyMs = o.latency !== undefined ? parseUint('--latency', o.latency, 0, 60_000) : undefined;
          const netbufSize = o.netbufSize !== undefined ? parseUint('--netbuf-size', o.netbufSize, 64, 65535) : undefined;
          const netbufCount = o.netbufCount !== undefined ? parseUint('--netbuf-count', o.netbufCount, 1, 64) : undefined;
          const seed = o.seed !== undefined ? parseUint('--seed', o.seed, 0, 2 ** 32 - 1) : undefined;
          const limits = {
            ...(netbufSize !== undefined ? { netbufSize } : {}),
            ...(netbufCount !== undefined ? { netbufCount } : {}),
          };

          const { startSimulator } = await import('../sim/index.js');
          const sims: Simulator[] = [];
          const closeAll = async (): Promise<void> => {
            await Promise.all(sims.map((s) => s.close().catch(() => {})));
          };
          try {
            for (let i = 0; i < count; i++) {
              sims.push(
                await startSimulator({
                  personality: o.personality,
                  transport: o.transport,
                  ...(o.transport === 'pty' ? { encoding: env.g.encoding ?? 'console' } : { host: o.host }),
                  ...(baudRate !== undefined ? { baudRate } : {}),
                  ...(latencyMs !== undefined ? { latencyMs } : {}),
                  ...(Object.keys(limits).length ? { limits } : {}),
                  ...(seed !== undefined ? { seed: seed + i } : {}),
                }),
              );
            }
          } catch (e) {
            await closeAll();
            throw e;
          }
          const stop = ctx.waitForStop();
          const simulators = sims.map((s) => ({ connection: s.connection, personality: s.personality, kind: s.kind, seed: s.stats().seed }));
          env.out.result({ simulators }, (v) => v.simulators.map((s) => s.connection).join('\n'));
          env.out.note(`${count} simulated ${o.personality} device${count > 1 ? 's' : ''} running; Ctrl-C to stop`);
          const sig = await stop;
          env.out.debug(`${sig}: stopping the simulators`);
          await closeAll();
        },
      ),
    );
}
