/**
 * How a client opens its link, and opens it again after the device re-enumerated: the openers
 * behind `MCUmgrClient.serial`, `usbSerial`, `udp` and `ble` (each checks its arguments before any port
 * is opened), and the reopening of `MCUmgrClient.reconnect`.
 * @module
 */
import type { SmpSession } from '../session.js';
import { SmpClosedError } from '../errors.js';
import type { Transport } from '../transport/transport.js';
import type { OpenSerialOptions } from '../transport/serial.js';
import { openUdpTransport, type UdpTransportOptions } from '../transport/udp.js';
import { argOptions, describe } from '../groups/util.js';
import { parseConnection, type Connection } from '../connection.js';
import { resolveOptions, serialPart, splitOptions, type ClientOptions, type BleClientOptions, type SerialClientOptions, type UdpClientOptions } from './options.js';
import type { BleTransportOptions } from '../transport/ble/transport.js';

/** Opens the link a client talks through; called again by every reconnect. */
export type Opener = () => Promise<Transport>;

/** The opener of a serial port and the client's share of the options. */
export async function serialOpener(path: string, options?: SerialClientOptions): Promise<[Opener, ClientOptions]> {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`path must be the serial port's device path (e.g. "/dev/ttyACM0" or "COM3"), got ${describe(path)}`);
  }
  const [clientOpts, portOpts] = splitOptions(argOptions('options', options) as Record<string, unknown>);
  resolveOptions(clientOpts); // fail on bad client options before opening the port
  const { openSerialTransport } = await import('../transport/serial.js');
  const open = (): Promise<Transport> => openSerialTransport({ ...(portOpts as Omit<OpenSerialOptions, 'path'>), path });
  return [open, clientOpts];
}

/** The opener of a USB serial device found by `vid:pid[:serial]` and the client's share of the options. */
export async function usbSerialOpener(id: string, options?: SerialClientOptions): Promise<[Opener, ClientOptions]> {
  const { findUsbPort, parseUsbSelector } = await import('../transport/list-ports.js');
  parseUsbSelector(id); // TypeError showing the expected form
  const [clientOpts, portOpts] = splitOptions(argOptions('options', options) as Record<string, unknown>);
  resolveOptions(clientOpts);
  const { openSerialTransport } = await import('../transport/serial.js');
  // The port is looked up again on every (re)open: after a reset the device may come back
  // under another path.
  const open = async (): Promise<Transport> => {
    const port = await findUsbPort(id); // throws, listing the ports present, when none or several match
    return openSerialTransport({ ...(portOpts as Omit<OpenSerialOptions, 'path'>), path: port.path });
  };
  return [open, clientOpts];
}

/** The opener of a UDP link and the client's share of the options. */
export function udpOpener(host: string, port: number, options?: UdpClientOptions): [Opener, ClientOptions] {
  const o = argOptions('options', options);
  const [clientOpts, udpOpts] = splitOptions(o as Record<string, unknown>);
  resolveOptions(clientOpts);
  const open = (): Promise<Transport> => openUdpTransport({ ...(udpOpts as Partial<UdpTransportOptions>), host, port });
  return [open, clientOpts];
}

/**
 * The opener of a Bluetooth LE link (by advertised name, address or peripheral id) and the
 * client's share of the options. The BLE code (and noble, unless an adapter is given) loads only here.
 */
export async function bleOpener(target: string, options?: BleClientOptions): Promise<[Opener, ClientOptions]> {
  if (typeof target !== 'string' || target.trim() === '') {
    throw new TypeError(`target must be the device's advertised name, address (AA:BB:CC:DD:EE:FF) or peripheral id, got ${describe(target)}`);
  }
  const [clientOpts, bleOpts] = splitOptions(argOptions('options', options) as Record<string, unknown>);
  resolveOptions(clientOpts);
  const { openBleTransport } = await import('../transport/ble/transport.js');
  const open = (): Promise<Transport> => openBleTransport({ ...(bleOpts as Omit<BleTransportOptions, 'target'>), target });
  return [open, clientOpts];
}

/** The opener a connection string (or a parsed connection) describes; options in the string win. */
export async function connectionOpener(target: string | Connection, options?: ClientOptions): Promise<[Opener, ClientOptions]> {
  const c = typeof target === 'string' ? parseConnection(target) : target;
  const base = argOptions('options', options);
  switch (c.kind) {
    case 'serial':
      return serialOpener(c.path, { ...base, ...c.client, ...serialPart(c) });
    case 'usb':
      return usbSerialOpener(c.id, { ...base, ...c.client, ...serialPart(c) });
    case 'udp':
      return udpOpener(c.host, c.port, {
        ...base,
        ...c.client,
        ...(c.mtu !== undefined ? { mtu: c.mtu } : {}),
        ...(c.acceptFrom !== undefined ? { acceptFrom: c.acceptFrom } : {}),
      });
    case 'ble':
      return bleOpener(c.target, { ...base, ...c.client, ...(c.scanTimeoutMs !== undefined ? { scanTimeoutMs: c.scanTimeoutMs } : {}) });
    default:
      throw new TypeError(`target must be a connection string or a parsed connection, got ${describe(target)}`);
  }
}

/**
 * Closes a client's session and transport and opens the link again. When the client was closed
 * meanwhile (`closing()`), the new transport is closed at once and `SmpClosedError` thrown.
 */
export async function reopenLink(old: { session: SmpSession; transport: Transport }, open: Opener, closing: () => boolean): Promise<Transport> {
  old.session.close();
  await old.transport.close().catch(() => undefined);
  const t = await open();
  if (closing()) {
    await t.close();
    throw new SmpClosedError();
  }
  return t;
}
