/**
 * Serves a simulated device on a real PTY: any serial client (this toolkit, `mcumgr`, smpclient,
 * a plain `fs.open`) opens the printed path. The device speaks the chosen serial encoding (console
 * lines in Zephyr's split, raw SMP, or COBS) at the modelled baud rate, through {@link DeviceLink}.
 * @module
 */
import { createPty, type Pty } from './pty.js';
import { checkEncoding, type SerialEncoding } from '../transport/framing.js';
import { DeviceLink, type LinkOptions } from './link/index.js';
import type { SimDeviceCore } from './types.js';
import type { SimServer } from './server.js';

/** Options of {@link servePty}. */
export type ServePtyOptions = Omit<LinkOptions, 'mode' | 'onOutput'> & {
  /** Serial encoding. Default `console`. */
  encoding?: SerialEncoding;
  /** Makes the PTY; for tests and for platforms with another PTY provider. Default: the addon's `createPty`. */
  createPty?: () => Pty;
};

/** A running PTY server of a simulated device. */
export interface SimPtyServer extends SimServer {
  /** Slave path to give the client, e.g. `/dev/pts/5`. */
  readonly path: string;
  /** The encoding spoken. */
  readonly encoding: SerialEncoding;
  /** The modelled baud rate (0: unpaced). */
  readonly baudRate: number;
  /** Connection string for the client, e.g. `serial:/dev/pts/5?baud=115200&encoding=console` (no `baud` when unpaced). */
  readonly connection: string;
}

/**
 * Opens a PTY and serves `core` on it.
 * @throws TransportError when PTYs are not available (no native addon, or Windows).
 *
 * @example
 * const srv = servePty(createZephyrDevice(), { encoding: 'console', baudRate: 115200 });
 * console.log(srv.connection); // serial:/dev/pts/5?baud=115200&encoding=console
 */
export function servePty(core: SimDeviceCore, opts: ServePtyOptions = {}): SimPtyServer {
  const encoding = checkEncoding(opts.encoding ?? 'console');
  const baudRate = opts.baudRate ?? 115200;
  const { encoding: _e, createPty: make = createPty, ...linkOpts } = opts;
  let closed = false;
  let pty: Pty | undefined;
  const link = new DeviceLink(core, {
    ...linkOpts,
    baudRate,
    mode: encoding,
    onOutput: (data) => {
      if (closed || !pty || pty.closed) return;
      try {
        pty.write(data);
      } catch {
        // The master failed; the error listener below closes the server.
      }
    },
  });
  try {
    pty = make();
  } catch (e) {
    link.close();
    throw e;
  }
  const p = pty;
  const offData = p.onData((chunk) => {
    if (!closed) link.receiveBytes(chunk);
  });
  const offErr = p.onError(() => {
    closed = true;
    link.close();
  });
  // An unpaced link (baud 0) has no baud to tell the client; a PTY ignores the client's setting.
  const connection = baudRate > 0 ? `serial:${p.path}?baud=${baudRate}&encoding=${encoding}` : `serial:${p.path}?encoding=${encoding}`;
  return {
    path: p.path,
    encoding,
    baudRate,
    connection,
    link,
    device: core,
    stats: () => link.stats(),
    unref: () => {
      p.unref();
      link.unref();
    },
    close: () => {
      if (!closed) {
        closed = true;
        link.close();
      }
      offData();
      offErr();
      p.close();
      return Promise.resolve();
    },
  };
}
