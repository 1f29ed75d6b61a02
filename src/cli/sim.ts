/**
 * `mcumgr sim`: starts simulated devices on PTYs or UDP ports, prints their connection strings
 * (one JSON document with `--json`: `{"simulators":[{"connection",…}]}`; with `--json-lines`, one
 * JSON line per device as soon as it is ready), and serves them until Ctrl-C / SIGTERM. Any
 * MCUmgr client, this one included, can then connect to them.
 *
 * Every buffer flag configures the simulated device itself (one source: what it answers in
 * `os mcumgr params` is what its link accepts). `--personality mcuboot` starts a board in MCUboot
 * serial recovery; a reset boots the application in its primary slot unless `--hold-recovery`.
 * @module
 */
import type { Command } from 'commander';
import type { Simulator } from '../sim/index.js';
import { action, parseUint, type CliContext } from './context.js';
import { CliUsageError } from './output.js';

interface SimFlags {
  personality: string;
  transport: string;
  baud?: string;
  count: string;
  latency?: string;
  netbufSize?: string;
  netbufCount?: string;
  lineBufSize?: string;
  lineBufCount?: string;
  fsSize?: string;
  host: string;
  seed?: string;
  jsonLines?: boolean;
  echo: boolean;
  mcumgrParams: boolean;
  slotInfo: boolean;
  imageState: boolean;
  imageHash: boolean;
  rawInputTimeout?: string | boolean;
  holdRecovery?: boolean;
  waitForDfu?: string | boolean;
}

/** The device options the flags ask for (MCUboot's apply to `--personality mcuboot` only). */
function deviceOptions(o: SimFlags): Record<string, unknown> {
  const dev: Record<string, unknown> = {};
  if (o.fsSize !== undefined) {
    const fsSize = parseUint('--fs-size', o.fsSize, 0, 2 ** 32 - 1);
    if (o.personality === 'mcuboot') dev.app = { fsSize };
    else dev.fsSize = fsSize;
  }
  const mcubootOnly = !o.echo || !o.mcumgrParams || !o.slotInfo || !o.imageState || !o.imageHash || (o.rawInputTimeout !== undefined && o.rawInputTimeout !== true) || o.holdRecovery || o.waitForDfu !== undefined;
  if (o.personality !== 'mcuboot') {
    if (mcubootOnly) throw new CliUsageError('--no-echo, --no-mcumgr-params, --no-slot-info, --no-image-state, --no-image-hash, --raw-input-timeout, --hold-recovery and --wait-for-dfu are MCUboot options: add --personality mcuboot');
    return dev;
  }
  Object.assign(dev, { echo: o.echo, mcumgrParams: o.mcumgrParams, slotInfo: o.slotInfo, imageState: o.imageState, imageHash: o.imageHash, holdRecovery: o.holdRecovery ?? false });
  if (o.rawInputTimeout === false) dev.rawInputTimeout = false;
  else if (typeof o.rawInputTimeout === 'string') dev.rawInputTimeoutMs = parseUint('--raw-input-timeout', o.rawInputTimeout, 1, 3_600_000);
  if (o.waitForDfu === true) dev.waitForDfuMs = 500;
  else if (typeof o.waitForDfu === 'string') dev.waitForDfuMs = parseUint('--wait-for-dfu', o.waitForDfu, 1, 3_600_000);
  return dev;
}

/** Registers `sim`. */
export function registerSim(program: Command, ctx: CliContext): void {
  program
    .command('sim')
    .description('run simulated devices on PTYs or UDP and print their connection strings; stops on Ctrl-C/SIGTERM')
    .option('--personality <zephyr|mcuboot>', 'Zephyr application, or a board in MCUboot serial recovery that boots its application after a reset', 'zephyr')
    .option('--transport <pty|udp>', 'how the devices are served', 'pty')
    .option('--baud <n>', 'UART speed of a PTY (default 115200); packet pacing for UDP')
    .option('--count <n>', 'number of devices', '1')
    .option('--latency <ms>', 'one-way latency, ms')
    .option('--netbuf-size <n>', 'MCUMGR_TRANSPORT_NETBUF_SIZE (MCUboot: BOOT_SERIAL_MAX_RECEIVE_SIZE)')
    .option('--netbuf-count <n>', 'MCUMGR_TRANSPORT_NETBUF_COUNT (MCUboot: always 1)')
    .option('--line-buf-size <n>', 'UART_MCUMGR_RX_BUF_SIZE (MCUboot: BOOT_MAX_LINE_INPUT_LEN)')
    .option('--line-buf-count <n>', 'UART_MCUMGR_RX_BUF_COUNT (MCUboot: BOOT_LINE_BUFS)')
    .option('--fs-size <bytes>', 'size of the simulated file system (a full one answers as Zephyr fs_mgmt does)')
    .option('--no-echo', 'MCUboot: build without BOOT_MGMT_ECHO')
    .option('--no-mcumgr-params', 'MCUboot: build without BOOT_MGMT_MCUMGR_PARAMS')
    .option('--no-slot-info', 'MCUboot: build without BOOT_SERIAL_IMG_GRP_SLOT_INFO')
    .option('--no-image-state', 'MCUboot: build without BOOT_SERIAL_IMG_GRP_IMAGE_STATE')
    .option('--no-image-hash', 'MCUboot: build without BOOT_SERIAL_IMG_GRP_HASH')
    .option('--raw-input-timeout <ms>', 'MCUboot: BOOT_SERIAL_RAW_PROTOCOL_INPUT_TIMEOUT_MS (default 3000)')
    .option('--no-raw-input-timeout', 'MCUboot: build without BOOT_SERIAL_RAW_PROTOCOL_INPUT_TIMEOUT')
    .option('--hold-recovery', 'MCUboot: the recovery button stays held, so a reset enters recovery again')
    .option('--wait-for-dfu [ms]', 'MCUboot: BOOT_SERIAL_WAIT_FOR_DFU: after a reset, listen this long (default 500) before starting the application')
    .option('--json-lines', 'print one JSON line per device as soon as it is ready')
    .option('--host <addr>', 'UDP: address to bind', '127.0.0.1')
    .option('--seed <n>', 'seed of the fault streams')
    .action(
      action(ctx, async (env, o: SimFlags) => {
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
        const seed = o.seed !== undefined ? parseUint('--seed', o.seed, 0, 2 ** 32 - 1) : undefined;
        const knob = (flag: string, v: string | undefined, min: number, max: number): number | undefined => (v !== undefined ? parseUint(flag, v, min, max) : undefined);
        const limits = Object.fromEntries(
          Object.entries({
            netbufSize: knob('--netbuf-size', o.netbufSize, 64, 65535),
            netbufCount: knob('--netbuf-count', o.netbufCount, 1, 64),
            lineBufSize: knob('--line-buf-size', o.lineBufSize, 4, 65535),
            lineBufCount: knob('--line-buf-count', o.lineBufCount, 1, 1024),
          }).filter(([, v]) => v !== undefined),
        );
        if (o.personality === 'mcuboot' && limits.netbufCount !== undefined && limits.netbufCount !== 1) {
          throw new CliUsageError('--netbuf-count: MCUboot serial recovery has one receive buffer; leave it out or give 1');
        }
        const device = deviceOptions(o);

        const { startSimulator } = await import('../sim/index.js');
        const sims: Simulator[] = [];
        const closeAll = async (): Promise<void> => {
          await Promise.all(sims.map((s) => s.close().catch(() => {})));
        };
        const describe = (s: Simulator) => ({ connection: s.connection, personality: s.personality, kind: s.kind, seed: s.stats().seed });
        const lines = o.jsonLines === true;
        try {
          for (let i = 0; i < count; i++) {
            const s = await startSimulator({
              personality: o.personality,
              transport: o.transport,
              ...(o.transport === 'pty' ? { encoding: env.g.encoding ?? 'console' } : { host: o.host }),
              ...(baudRate !== undefined ? { baudRate } : {}),
              ...(latencyMs !== undefined ? { latencyMs } : {}),
              ...(Object.keys(limits).length ? { limits } : {}),
              device,
              ...(seed !== undefined ? { seed: seed + i } : {}),
            });
            sims.push(s);
            // Scripts that start many devices take the first ones while the rest start.
            if (lines) env.out.streams.stdout.write(JSON.stringify({ index: i, ...describe(s) }) + '\n');
          }
        } catch (e) {
          await closeAll();
          throw e;
        }
        const stop = ctx.waitForStop();
        if (!lines) {
          const simulators = sims.map(describe);
          env.out.result({ simulators }, (v) => v.simulators.map((s) => s.connection).join('\n'));
        }
        env.out.note(`${count} simulated ${o.personality} device${count > 1 ? 's' : ''} running; Ctrl-C to stop`);
        const sig = await stop;
        env.out.debug(`${sig}: stopping the simulators`);
        await closeAll();
      }),
    );
}
