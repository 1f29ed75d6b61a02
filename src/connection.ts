/**
 * Connection strings: one line of text that says how to reach a device.
 *
 * ```text
 * serial:/dev/ttyACM0?baud=115200&encoding=console
 * serial:COM3
 * usb:2fe3:0004                     (first USB serial port with that VID:PID)
 * usb:2fe3:0004:0123ABC?baud=1000000 (…and that serial number)
 * udp:192.0.2.1:1337
 * udp:[2001:db8::1]:1337
 * udp:device.local                  (port 1337)
 * ble:Zephyr                        (Bluetooth LE, by advertised name)
 * ble:C0:FF:EE:00:00:01             (…by address)
 * ble:5f1a…                         (…by noble peripheral id, e.g. on macOS)
 * ```
 *
 * Every form also takes the client options `timeout` (ms), `frameSize`, `smp` (`1` or `2`) and
 * `retries` as query parameters. UDP takes `mtu` (link MTU, bytes) and `acceptFrom`
 * (`device`, `port` or `any`: which senders' answers count, see `UdpTransportOptions.acceptFrom`),
 * e.g. `udp:[fe80::1%eth0]?acceptFrom=port`.
 * @module
 */
import { checkEncoding, type SerialEncoding } from './transport/framing.js';

/** Client options a connection string can carry. */
export interface ConnectionClientOptions {
  /** Default request deadline, ms (`timeout=`). */
  timeoutMs?: number;
  /** Device buffer size to assume (`frameSize=`). */
  frameSize?: number;
  /** Header version: 0 = SMP v1, 1 = SMP v2 (`smp=1` / `smp=2`). */
  version?: 0 | 1;
  /** Retries of idempotent reads after a timeout (`retries=`). */
  retries?: number;
}

/** A serial port given by path. */
export interface SerialConnection {
  kind: 'serial';
  /** Device path, e.g. `/dev/ttyACM0` or `COM3`. */
  path: string;
  baudRate?: number;
  encoding?: SerialEncoding;
  client: ConnectionClientOptions;
}

/** A USB serial port found by vendor/product id (and serial number). */
export interface UsbConnection {
  kind: 'usb';
  /** `vid:pid[:serial]`, the form `findUsbPort` takes. */
  id: string;
  /** Vendor id, 4 lower-case hex digits. */
  vid: string;
  /** Product id, 4 lower-case hex digits. */
  pid: string;
  /** USB serial number, when given. */
  serialNumber?: string;
  baudRate?: number;
  encoding?: SerialEncoding;
  client: ConnectionClientOptions;
}

/** A device reached over UDP. */
export interface UdpConnection {
  kind: 'udp';
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  /** UDP port. Default 1337 (Zephyr's). */
  port: number;
  /** Link MTU in bytes, when given. */
  mtu?: number;
  /** Which senders' answers are accepted (`acceptFrom=`), when given. */
  acceptFrom?: 'device' | 'port' | 'any';
  client: ConnectionClientOptions;
}

/** A device reached over Bluetooth LE (SMP over GATT). */
export interface BleConnection {
  kind: 'ble';
  /** Advertised name, address `AA:BB:CC:DD:EE:FF`, or peripheral id. */
  target: string;
  /** How long to scan for it, ms (`scanTimeout=`), when given. */
  scanTimeoutMs?: number;
  client: ConnectionClientOptions;
}

/** A parsed connection string. */
export type Connection = SerialConnection | UsbConnection | UdpConnection | BleConnection;

/** Zephyr's default SMP UDP port. */
export const DEFAULT_UDP_PORT = 1337;

const SCHEMES = ['serial', 'usb', 'udp', 'ble'] as const;
const CLIENT_PARAMS = ['timeout', 'frameSize', 'smp', 'retries'];
const SERIAL_PARAMS = ['baud', 'encoding', ...CLIENT_PARAMS];
const UDP_PARAMS = ['mtu', 'acceptFrom', ...CLIENT_PARAMS];
const BLE_PARAMS = ['scanTimeout', ...CLIENT_PARAMS];
const ACCEPT_FROM = ['device', 'port', 'any'] as const;

/**
 * Parses a connection string.
 * @throws TypeError when `text` is not a string.
 * @throws RangeError naming the part that is wrong and showing a correct form.
 * @example
 * ```ts
 * parseConnection('udp:[::1]:1337'); // { kind: 'udp', host: '::1', port: 1337, client: {} }
 * ```
 */
export function parseConnection(text: string): Connection {
  if (typeof text !== 'string') throw new TypeError(`a connection string must be a string, got ${typeof text}`);
  const s = text.trim();
  const bad = (part: string, fix: string): RangeError => new RangeError(`connection string ${JSON.stringify(text)}: ${part}; ${fix}`);
  const colon = s.indexOf(':');
  if (colon <= 0) {
    throw bad('no scheme', 'start it with serial:, usb:, udp: or ble: (e.g. serial:/dev/ttyACM0, usb:2fe3:0004, udp:192.0.2.1:1337, ble:Zephyr)');
  }
  const scheme = s.slice(0, colon).toLowerCase();
  if (!(SCHEMES as readonly string[]).includes(scheme)) {
    throw bad(`unknown scheme "${s.slice(0, colon)}"`, 'use serial:, usb:, udp: or ble:');
  }
  let rest = s.slice(colon + 1);
  // Accept URL-like spellings: serial:///dev/ttyACM0, udp://host:port.
  if (scheme === 'serial' && rest.startsWith('///')) rest = rest.slice(2);
  else if (rest.startsWith('//')) rest = rest.slice(2);
  const q = rest.indexOf('?');
  const target = q >= 0 ? rest.slice(0, q) : rest;
  const params = parseQuery(q >= 0 ? rest.slice(q + 1) : '', scheme === 'udp' ? UDP_PARAMS : scheme === 'ble' ? BLE_PARAMS : SERIAL_PARAMS, bad);
  const client = clientOptions(params, bad);

  if (scheme === 'ble') {
    const t = decodeURIComponent(target).trim();
    if (t === '') throw bad('the BLE device is missing', 'write ble:NAME, ble:AA:BB:CC:DD:EE:FF or ble:PERIPHERAL_ID (mcumgr list --ble shows them)');
    const c: BleConnection = { kind: 'ble', target: t, client };
    if (params.scanTimeout !== undefined) c.scanTimeoutMs = intParam('scanTimeout', params.scanTimeout, 1, 600000, bad);
    return c;
  }

  if (scheme === 'serial') {
    if (target === '') throw bad('the serial port path is missing', 'write e.g. serial:/dev/ttyACM0 or serial:COM3');
    const c: SerialConnection = { kind: 'serial', path: decodeURIComponent(target), client };
    serialOptions(c, params, bad);
    return c;
  }

  if (scheme === 'usb') {
    const m = /^(?:0x)?([0-9a-fA-F]{1,4}):(?:0x)?([0-9a-fA-F]{1,4})(?::(.+))?$/.exec(target);
    if (!m) {
      throw bad(`"${target}" is not a USB id`, 'write usb:VID:PID or usb:VID:PID:SERIAL with hex ids, e.g. usb:2fe3:0004');
    }
    const vid = m[1]!.toLowerCase().padStart(4, '0');
    const pid = m[2]!.toLowerCase().padStart(4, '0');
    const serialNumber = m[3] !== undefined ? decodeURIComponent(m[3]) : undefined;
    const c: UsbConnection = {
      kind: 'usb',
      id: serialNumber !== undefined ? `${vid}:${pid}:${serialNumber}` : `${vid}:${pid}`,
      vid,
      pid,
      client,
    };
    if (serialNumber !== undefined) c.serialNumber = serialNumber;
    serialOptions(c, params, bad);
    return c;
  }

  // udp
  let host: string;
  let portText: string | undefined;
  if (target.startsWith('[')) {
    const end = target.indexOf(']');
    if (end < 0) throw bad('the IPv6 address has no closing "]"', 'write e.g. udp:[2001:db8::1]:1337');
    host = target.slice(1, end);
    const after = target.slice(end + 1);
    if (after !== '' && !after.startsWith(':')) throw bad(`unexpected "${after}" after the IPv6 address`, 'write e.g. udp:[2001:db8::1]:1337');
    portText = after === '' ? undefined : after.slice(1);
    if (!host.includes(':')) throw bad(`"${host}" in brackets is not an IPv6 address`, 'use brackets only around IPv6 addresses');
  } else {
    const parts = target.split(':');
    if (parts.length > 2) {
      throw bad(`"${target}" has several ":"`, 'put an IPv6 address in brackets, e.g. udp:[2001:db8::1]:1337');
    }
    host = parts[0]!;
    portText = parts[1];
  }
  if (host === '') throw bad('the host is missing', 'write e.g. udp:192.0.2.1:1337');
  if (!/^[A-Za-z0-9._%:-]+$/.test(host)) throw bad(`"${host}" is not a valid host name or address`, 'write e.g. udp:192.0.2.1 or udp:device.local');
  let port = DEFAULT_UDP_PORT;
  if (portText !== undefined) {
    if (!/^\d+$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw bad(`port "${portText}" is not a number 1..65535`, `write e.g. udp:${host.includes(':') ? `[${host}]` : host}:1337`);
    }
    port = Number(portText);
  }
  const c: UdpConnection = { kind: 'udp', host, port, client };
  if (params.mtu !== undefined) c.mtu = intParam('mtu', params.mtu, 68, 65535, bad);
  if (params.acceptFrom !== undefined) {
    const a = params.acceptFrom;
    if (!(ACCEPT_FROM as readonly string[]).includes(a)) {
      throw bad(`acceptFrom "${a}" is not device, port or any`, 'write e.g. acceptFrom=port (answers from any address of the device, on its port)');
    }
    c.acceptFrom = a as UdpConnection['acceptFrom'];
  }
  return c;
}

/** Formats a {@link Connection} back into its connection string. */
export function formatConnection(c: Connection): string {
  const q: string[] = [];
  if (c.kind === 'ble') {
    if (c.scanTimeoutMs !== undefined) q.push(`scanTimeout=${c.scanTimeoutMs}`);
  } else if (c.kind !== 'udp') {
    if (c.baudRate !== undefined) q.push(`baud=${c.baudRate}`);
    if (c.encoding !== undefined) q.push(`encoding=${c.encoding}`);
  } else {
    if (c.mtu !== undefined) q.push(`mtu=${c.mtu}`);
    if (c.acceptFrom !== undefined) q.push(`acceptFrom=${c.acceptFrom}`);
  }
  const o = c.client;
  if (o.timeoutMs !== undefined) q.push(`timeout=${o.timeoutMs}`);
  if (o.frameSize !== undefined) q.push(`frameSize=${o.frameSize}`);
  if (o.version !== undefined) q.push(`smp=${o.version + 1}`);
  if (o.retries !== undefined) q.push(`retries=${o.retries}`);
  const query = q.length ? `?${q.join('&')}` : '';
  switch (c.kind) {
    case 'serial':
      return `serial:${encodeURI(c.path).replace(/\?/g, '%3F')}${query}`;
    case 'usb':
      return `usb:${c.vid}:${c.pid}${c.serialNumber !== undefined ? `:${encodeURIComponent(c.serialNumber)}` : ''}${query}`;
    case 'udp':
      return `udp:${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port}${query}`;
    case 'ble':
      return `ble:${encodeURIComponent(c.target).replace(/%3A/gi, ':')}${query}`;
  }
}

const EXAMPLES: Record<string, number> = { baud: 115200, timeout: 5000, frameSize: 384, retries: 2, mtu: 1500, scanTimeout: 10000 };

type Bad = (part: string, fix: string) => RangeError;

function parseQuery(query: string, allowed: readonly string[], bad: Bad): Record<string, string> {
  const out: Record<string, string> = {};
  if (query === '') return out;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw bad(`parameter "${pair}" has no value`, 'write name=value pairs joined by &, e.g. ?baud=115200&encoding=console');
    const key = decodeURIComponent(pair.slice(0, eq));
    const value = decodeURIComponent(pair.slice(eq + 1));
    const known = allowed.find((a) => a.toLowerCase() === key.toLowerCase());
    if (!known) throw bad(`unknown parameter "${key}"`, `use ${allowed.join(', ')}`);
    if (out[known] !== undefined) throw bad(`parameter "${key}" is given twice`, 'give it once');
    out[known] = value;
  }
  return out;
}

function intParam(name: string, v: string, min: number, max: number, bad: Bad): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw bad(`${name}=${v} is not a whole number ${min}..${max}`, `write e.g. ${name}=${EXAMPLES[name] ?? min}`);
  }
  return Number(v);
}

function clientOptions(p: Record<string, string>, bad: Bad): ConnectionClientOptions {
  const o: ConnectionClientOptions = {};
  if (p.timeout !== undefined) o.timeoutMs = intParam('timeout', p.timeout, 1, 2 ** 31 - 1, bad);
  if (p.frameSize !== undefined) o.frameSize = intParam('frameSize', p.frameSize, 64, 65535, bad);
  if (p.retries !== undefined) o.retries = intParam('retries', p.retries, 0, 100, bad);
  if (p.smp !== undefined) {
    if (p.smp !== '1' && p.smp !== '2') throw bad(`smp=${p.smp} is not 1 or 2`, 'write smp=2 (the default) or smp=1 for old devices');
    o.version = p.smp === '1' ? 0 : 1;
  }
  return o;
}

function serialOptions(c: SerialConnection | UsbConnection, p: Record<string, string>, bad: Bad): void {
  if (p.baud !== undefined) c.baudRate = intParam('baud', p.baud, 1, 100_000_000, bad);
  if (p.encoding !== undefined) {
    try {
      c.encoding = checkEncoding(p.encoding);
    } catch {
      throw bad(`encoding=${p.encoding} is not known`, 'use encoding=console (default), raw or cobs');
    }
  }
}
