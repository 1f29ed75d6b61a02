/**
 * `mcumgr list`: the serial ports present, with USB VID:PID, serial number and names.
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
    .action(
      action(ctx, async (env, o: { usb?: boolean }) => {
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
