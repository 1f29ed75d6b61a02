/**
 * Serves a simulated device over UDP (PROTOCOL.md §5.1): one datagram = one SMP packet, no
 * framing; answers go to the sender's address and port. Datagrams longer than the UDP MTU (1500)
 * are cut there, and the net_buf pool, processing model and faults of {@link DeviceLink} apply.
 * @module
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { DeviceLink, type LinkOptions } from './link/index.js';
import type { SimDeviceCore } from './types.js';
import type { SimServer } from './server.js';

/** Options of {@link serveUdp}. */
export type ServeUdpOptions = Omit<LinkOptions, 'mode' | 'onOutput' | 'via'> & {
  /** Address to bind. Default `127.0.0.1` (use `::1` for IPv6). */
  host?: string;
  /** Port to bind; 0 (default) lets the OS choose (read it back from `port`). Zephyr's own default is 1337. */
  port?: number;
};

/** A running UDP server of a simulated device. */
export interface SimUdpServer extends SimServer {
  /** The bound address. */
  readonly address: string;
  /** The bound port. */
  readonly port: number;
  /** Connection string for the client, e.g. `udp:127.0.0.1:40123` (IPv6 in brackets). */
  readonly connection: string;
}

/**
 * Binds a UDP socket and serves `core` on it.
 *
 * @example
 * const srv = await serveUdp(createZephyrDevice(), { host: '127.0.0.1', port: 0 });
 * console.log(srv.connection); // udp:127.0.0.1:40123
 * await srv.close();
 */
export async function serveUdp(core: SimDeviceCore, opts: ServeUdpOptions = {}): Promise<SimUdpServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  if (typeof host !== 'string' || host.length === 0) throw new TypeError('host must be an address string such as 127.0.0.1');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be an integer 0..65535, got ${String(port)}`);
  const { host: _h, port: _p, ...linkOpts } = opts;
  const socket = dgram.createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
  let closed = false;
  const link = new DeviceLink(core, {
    ...linkOpts,
    mode: 'packet',
    via: 'udp',
    onOutput: (data, to) => {
      if (closed) return;
      const dst = to as { address: string; port: number } | undefined;
      if (!dst) return;
      socket.send(data, dst.port, dst.address, () => {
        // A send error (e.g. the client went away: ICMP unreachable) is not the device's problem.
      });
    },
  });
  socket.on('message', (msg, rinfo) => {
    if (!closed) link.receivePacket(msg, { address: rinfo.address, port: rinfo.port });
  });
  socket.on('error', () => {
    // Errors after bind (ICMP port unreachable on some systems) are ignored, as a device would.
  });
  await new Promise<void>((resolve, reject) => {
    const onErr = (e: Error): void => {
      link.close();
      reject(e);
    };
    socket.once('error', onErr);
    socket.bind(port, host, () => {
      socket.off('error', onErr);
      resolve();
    });
  });
  const addr = socket.address();
  const connection = `udp:${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  return {
    address: addr.address,
    port: addr.port,
    connection,
    link,
    device: core,
    stats: () => link.stats(),
    unref: () => {
      socket.unref();
      link.unref();
    },
    close: () => {
      if (closed) return Promise.resolve();
      closed = true;
      link.close();
      return new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}
