/**
 * `mcumgr list`: the serial ports present, with USB VID:PID, serial number and names; with
 * `--ble`, the Bluetooth LE devices that advertise the SMP service, with their RSSI.
 * @module
 */
import type { Command } from 'commander';
import { listSerialPorts } from '../transport/list-ports.js';
import { action, type CliContext } from './context.js';
import { table } from './output.js';

/** Registers `list`. */
export function registerList(program: Command, ctx: CliContext): void {
  program
    .command('list')
    .description('serial ports with their USB VID:PID and serial number (use them as --conn usb:VID:PID[:SERIAL])')
    .option('--usb', 'only USB ports')
    .option('--ble', 'scan for Bluetooth LE devices advertising SMP instead (needs @abandonware/noble)')
    .option('--scan-time <ms>', 'how long --ble listens', '5000')
    .action(
      action(ctx, async (env, o: { usb?: boolean; ble?: boolean; scanTime: string }) => {
        if (o.ble) {
          const ms = Number(o.scanTime);
          if (!Number.isInteger(ms) || ms < 100 || ms > 600000) throw new RangeError(`--scan-time must be a whole number of ms 100..600000, got ${o.scanTime}`);
          const { scanSmpDevices } = await import('../transport/ble/scan.js');
          const found = (await scanSmpDevices({ timeoutMs: ms })).map((d) => ({ ...d, conn: `ble:${d.name ?? d.address ?? d.id}` }));
          env.out.result({ devices: found }, (v) =>
            v.devices.length === 0
              ? `(no device advertised the SMP service within ${ms} ms)`
              : table(
                  ['name', 'address', 'id', 'rssi', 'conn'],
                  v.devices.map((d) => [d.name ?? '-', d.address ?? '-', d.id, `${d.rssi} dBm`, d.conn]),
                ),
          );
          return;
        }
        let ports = await listSerialPorts();
        if (o.usb) ports = ports.filter((p) => p.vendorId !== undefined);
        const rows = ports.map((p) => ({
          ...p,
          usb: p.vendorId !== undefined && p.productId !== undefined ? `${p.vendorId}:${p.productId}` : undefined,
          conn:
            p.vendorId !== undefined && p.productId !== undefined
              ? `usb:${p.vendorId}:${p.productId}${p.serialNumber ? `:${p.serialNumber}` : ''}`
              : `serial:${p.path}`,
        }));
        env.out.result({ ports: rows }, (v) =>
          v.ports.length === 0
            ? '(no serial ports found)'
            : table(
                ['path', 'vid:pid', 'serial', 'manufacturer', 'product'],
                v.ports.map((p) => [p.path, p.usb ?? '-', p.serialNumber ?? '-', p.manufacturer ?? '-', p.product ?? '-']),
              ),
        );
      }),
    );
}
