/**
 * Short labels for devices in progress bars: a bulk target without a name is named after its
 * connection string, and `serial:/dev/ttyACM0?baud=115200&encoding=console` cut to a bar's width
 * from the left reads `…ncoding=console` on every bar. The label keeps what tells devices apart:
 * the port, the USB id, or the host and port.
 * @module
 */
import { parseConnection } from '../connection.js';

/** What tells a device apart in a connection string (the string itself when it does not parse). */
export function deviceLabel(nameOrConnection: string): string {
  let c;
  try {
    c = parseConnection(nameOrConnection);
  } catch {
    return nameOrConnection; // a name the user gave
  }
  if (c.kind === 'serial') return c.path;
  if (c.kind === 'usb') return `usb:${c.id}`;
  if (c.kind === 'ble') return `ble:${c.target}`;
  return c.host.includes(':') ? `[${c.host}]:${c.port}` : `${c.host}:${c.port}`;
}

/**
 * Labels of one width (the longest, at most `max`); a longer one is shortened in the middle so
 * that both its start (the device kind or path) and its end (the port number) stay readable.
 */
export function barLabels(names: readonly string[], max = 24): string[] {
  const labels = names.map(deviceLabel);
  const width = Math.min(max, Math.max(5, ...labels.map((l) => l.length)));
  return labels.map((l) => {
    if (l.length <= width) return l.padEnd(width);
    const tail = Math.ceil((width - 1) / 2);
    return `${l.slice(0, width - 1 - tail)}…${l.slice(l.length - tail)}`;
  });
}
