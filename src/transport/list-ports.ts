/**
 * Serial port discovery: the ports present with their USB identity, and picking one by
 * `VID:PID[:SERIAL]`.
 *
 * `serialport`'s `SerialPort.list()` is used where it works; on Linux it needs udev (it runs
 * `udevadm`), so without udev (containers, minimal images) or when it fails, the ports are read
 * from sysfs: every `/sys/class/tty/NAME` with a `device` link, and the USB device above it
 * (`idVendor`, `idProduct`, `serial`, `manufacturer`, `product`).
 * @module
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';

/** A serial port and, for USB ones, the USB device's identity. IDs are 4 lower-case hex digits. */
export interface SerialPortInfo {
  path: string;
  vendorId?: string;
  productId?: string;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
}

/** Where {@link listSerialPorts} looks. */
export interface ListPortsOptions {
  /**
   * `auto` (default): `serialport` when it works (on Linux only with udev present), else sysfs;
   * `serialport` or `sysfs` force one source.
   */
  source?: 'auto' | 'serialport' | 'sysfs';
  /** Root of sysfs (default `/sys`); tests point it at a fake tree. */
  sysfsRoot?: string;
  /** Directory of the device nodes (default `/dev`). */
  devRoot?: string;
}

/** A USB selector: `VID:PID` or `VID:PID:SERIAL`. */
export interface UsbSelector {
  vendorId: string;
  productId: string;
  serialNumber?: string;
}

function hexId(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = v.trim().toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]{1,4}$/.test(s)) return undefined;
  return s.padStart(4, '0');
}

function clean(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = v.trim();
  return s.length > 0 ? s : undefined;
}

function compact(info: SerialPortInfo): SerialPortInfo {
  const out: SerialPortInfo = { path: info.path };
  for (const k of ['vendorId', 'productId', 'serialNumber', 'manufacturer', 'product'] as const) {
    if (info[k] !== undefined) out[k] = info[k];
  }
  return out;
}

async function readAttr(dir: string, name: string): Promise<string | undefined> {
  try {
    return clean(await readFile(join(dir, name), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Reads the serial ports from sysfs (Linux). Returns `[]` when there is no `class/tty` there. */
export async function listSysfsPorts(sysfsRoot = '/sys', devRoot = '/dev'): Promise<SerialPortInfo[]> {
  const root = resolve(sysfsRoot);
  const ttyDir = join(root, 'class', 'tty');
  let names: string[];
  try {
    names = await readdir(ttyDir);
  } catch {
    return [];
  }
  const ports: SerialPortInfo[] = [];
  for (const name of names) {
    const entry = join(ttyDir, name);
    let device: string;
    try {
      device = await realpath(join(entry, 'device'));
      if (!(await stat(device)).isDirectory()) continue;
    } catch {
      continue; // virtual terminals, ptys, console: no device behind them
    }
    // 8250 ports that exist only as placeholders report UART type 0 (PORT_UNKNOWN).
    if (/^ttyS\d+$/.test(name) && (await readAttr(entry, 'type')) === '0') continue;
    const info: SerialPortInfo = { path: join(devRoot, name) };
    // The USB device is the nearest ancestor with an idVendor (ACM: one level up from the interface,
    // usb-serial: two).
    let dir = device;
    for (let i = 0; i < 6; i++) {
      if (!dir.startsWith(root + sep) || dir === root) break;
      const vid = await readAttr(dir, 'idVendor');
      if (vid !== undefined) {
        info.vendorId = hexId(vid);
        info.productId = hexId(await readAttr(dir, 'idProduct'));
        info.serialNumber = await readAttr(dir, 'serial');
        info.manufacturer = await readAttr(dir, 'manufacturer');
        info.product = await readAttr(dir, 'product');
        break;
      }
      dir = dirname(dir);
    }
    ports.push(compact(info));
  }
  ports.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
  return ports;
}

async function listWithSerialport(): Promise<SerialPortInfo[]> {
  const { SerialPort } = await import('serialport');
  const list = await SerialPort.list();
  return list.map((p) =>
    compact({
      path: p.path,
      vendorId: hexId(p.vendorId),
      productId: hexId(p.productId),
      serialNumber: clean(p.serialNumber),
      manufacturer: clean(p.manufacturer),
    }),
  );
}

/**
 * Lists the serial ports present, with USB vendor/product ids, serial number, manufacturer and
 * product name where known.
 * @throws Error only when a forced `source` fails.
 */
export async function listSerialPorts(opts: ListPortsOptions = {}): Promise<SerialPortInfo[]> {
  const source = opts.source ?? 'auto';
  if (source !== 'auto' && source !== 'serialport' && source !== 'sysfs') {
    throw new RangeError(`listSerialPorts option "source" must be 'auto', 'serialport' or 'sysfs'; got ${String(source)}`);
  }
  const sysfsRoot = opts.sysfsRoot ?? '/sys';
  const devRoot = opts.devRoot ?? '/dev';
  if (source === 'sysfs') return listSysfsPorts(sysfsRoot, devRoot);
  if (source === 'serialport') return listWithSerialport();

  const linux = process.platform === 'linux';
  const customSysfs = opts.sysfsRoot !== undefined;
  const udev = linux && existsSync('/run/udev');
  if (!linux || (udev && !customSysfs)) {
    try {
      const ports = await listWithSerialport();
      if (!linux) return ports;
      if (ports.length > 0) {
        // udev knows no product name; sysfs does.
        const sys = new Map((await listSysfsPorts(sysfsRoot, devRoot)).map((p) => [p.path, p]));
        return ports.map((p) => compact({ ...sys.get(p.path), ...p, product: p.product ?? sys.get(p.path)?.product }));
      }
    } catch (e) {
      if (!linux) throw e;
    }
  }
  return listSysfsPorts(sysfsRoot, devRoot);
}

/**
 * Parses `VID:PID` or `VID:PID:SERIAL` (hex ids, e.g. `2fe3:0004` or `2fe3:0004:E6614C311B5A`).
 * @throws TypeError with the expected form.
 */
export function parseUsbSelector(selector: string): UsbSelector {
  if (typeof selector !== 'string') {
    throw new TypeError(`USB selector must be a string like 2fe3:0004 or 2fe3:0004:SERIAL; got ${typeof selector}`);
  }
  const m = /^(?:0x)?([0-9a-fA-F]{1,4}):(?:0x)?([0-9a-fA-F]{1,4})(?::(.+))?$/.exec(selector.trim());
  if (!m) {
    throw new TypeError(
      `USB selector must be VID:PID or VID:PID:SERIAL with hex ids, e.g. 2fe3:0004 or 2fe3:0004:E6614C311B5A; got ${JSON.stringify(selector)}`,
    );
  }
  const sel: UsbSelector = { vendorId: m[1]!.toLowerCase().padStart(4, '0'), productId: m[2]!.toLowerCase().padStart(4, '0') };
  if (m[3] !== undefined) sel.serialNumber = m[3];
  return sel;
}

/** `2fe3:0004` or `2fe3:0004:SERIAL`. */
export function formatUsbSelector(sel: UsbSelector): string {
  return `${sel.vendorId}:${sel.productId}${sel.serialNumber !== undefined ? `:${sel.serialNumber}` : ''}`;
}

/** A port in one line: its path, with its USB id and names when known. */
export function describePort(p: SerialPortInfo): string {
  if (p.vendorId === undefined) return p.path;
  const id = `${p.vendorId}:${p.productId ?? '????'}${p.serialNumber ? `:${p.serialNumber}` : ''}`;
  const name = [p.manufacturer, p.product].filter(Boolean).join(' ');
  return `${p.path} (${id}${name ? ` ${name}` : ''})`;
}

/** Whether a port matches a selector (ids case-insensitively, the serial number exactly). */
export function matchesUsbSelector(port: SerialPortInfo, sel: UsbSelector): boolean {
  if (port.vendorId === undefined || port.productId === undefined) return false;
  if (hexId(port.vendorId) !== hexId(sel.vendorId) || hexId(port.productId) !== hexId(sel.productId)) return false;
  return sel.serialNumber === undefined || port.serialNumber === sel.serialNumber;
}

/**
 * The one port that matches a USB selector.
 * @throws TypeError when no port or several ports match; the message lists the ports present.
 */
export async function findUsbPort(selector: string | UsbSelector, opts: ListPortsOptions = {}): Promise<SerialPortInfo> {
  const sel = typeof selector === 'string' ? parseUsbSelector(selector) : parseUsbSelector(formatUsbSelector(selector));
  const ports = await listSerialPorts(opts);
  const hits = ports.filter((p) => matchesUsbSelector(p, sel));
  if (hits.length === 1) return hits[0]!;
  const present = ports.length > 0 ? ports.map(describePort).join(', ') : 'none';
  if (hits.length === 0) {
    throw new TypeError(`no serial port matches USB ${formatUsbSelector(sel)}; ports present: ${present}`);
  }
  throw new TypeError(
    `${hits.length} serial ports match USB ${formatUsbSelector(sel)}: ${hits.map(describePort).join(', ')}; ` +
      `add the serial number (VID:PID:SERIAL) to pick one`,
  );
}
