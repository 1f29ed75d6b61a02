/**
 * SMP over UDP (PROTOCOL.md §5.1): one datagram carries one SMP packet, no framing, no CRC.
 * Zephyr listens on port 1337 and answers to the request's source address and port.
 *
 * Only datagrams from the device's address and port are accepted; anything else is dropped and
 * counted ({@link UdpTransportStats.foreign}).
 * @module
 */
import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { TransportEmitter } from './emitter.js';
import type { Transport, TransportEvents } from './transport.js';
import { SmpClosedError, SmpFrameSizeError, TransportError } from '../errors.js';

/** Zephyr's default SMP UDP port (`CONFIG_MCUMGR_TRANSPORT_UDP_PORT`). */
export const DEFAULT_UDP_PORT = 1337;
/** Zephyr's default UDP receive buffer for SMP (`CONFIG_MCUMGR_TRANSPORT_UDP_MTU`), bytes of SMP. */
export const DEFAULT_DEVICE_UDP_MTU = 1500;
/** Default link MTU (Ethernet). */
export const DEFAULT_LINK_MTU = 1500;

/** Options of {@link openUdpTransport}. */
export interface UdpTransportOptions {
  /** Device host name or IP address (IPv6 without brackets). */
  host: string;
  /** Device UDP port. Default 1337. */
  port?: number;
  /** Address family to resolve a host name to. Default: whatever the resolver gives first. */
  family?: 4 | 6;
  /**
   * Link MTU in bytes (default 1500). A request must fit one unfragmented datagram, so the
   * largest SMP packet is the MTU minus the IP (20 or 40 bytes) and UDP (8 bytes) headers:
   * 1472 over IPv4, 1452 over IPv6 by default.
   */
  mtu?: number;
  /**
   * The device's UDP receive buffer (`CONFIG_MCUMGR_TRANSPORT_UDP_MTU`, default 1500 bytes of
   * SMP). The packet limit is the smaller of this and the MTU-derived size.
   */
  deviceMtu?: number;
  /** Overrides the computed packet limit. */
  maxPacket?: number;
  /** Local address to bind (default: any). */
  localAddress?: string;
  /** Local port to bind (default: an ephemeral port). */
  localPort?: number;
}

/** Counters of a {@link UdpTransport}. */
export interface UdpTransportStats {
  /** Datagrams sent. */
  sent: number;
  /** Datagrams accepted from the device. */
  received: number;
  /** Datagrams from any other address or port: dropped. */
  foreign: number;
}

/**
 * Opens a UDP transport to a device: resolves the host, binds a local socket.
 * @throws TypeError/RangeError for bad options, TransportError when resolving or binding fails.
 * @example
 * ```ts
 * const t = await openUdpTransport({ host: '192.0.2.1' });
 * const client = MCUmgrClient.fromTransport(t);
 * ```
 */
export async function openUdpTransport(opts: UdpTransportOptions): Promise<UdpTransport> {
  if (opts === null || typeof opts !== 'object') throw new TypeError('openUdpTransport needs an options object with a host');
  if (typeof opts.host !== 'string' || opts.host === '') {
    throw new TypeError(`host must be a non-empty host name or IP address, got ${JSON.stringify(opts.host)}`);
  }
  const port = opts.port ?? DEFAULT_UDP_PORT;
  checkInt('port', port, 1, 65535);
  if (opts.family !== undefined && opts.family !== 4 && opts.family !== 6) throw new RangeError(`family must be 4 or 6, got ${opts.family}`);
  const mtu = opts.mtu ?? DEFAULT_LINK_MTU;
  checkInt('mtu', mtu, 68, 65535);
  const deviceMtu = opts.deviceMtu ?? DEFAULT_DEVICE_UDP_MTU;
  checkInt('deviceMtu', deviceMtu, 8, 65507);
  if (opts.maxPacket !== undefined) checkInt('maxPacket', opts.maxPacket, 8, 65507);
  if (opts.localPort !== undefined) checkInt('localPort', opts.localPort, 0, 65535);

  const host = opts.host.startsWith('[') && opts.host.endsWith(']') ? opts.host.slice(1, -1) : opts.host;
  let address: string;
  let family: 4 | 6;
  const literal = isIP(host.replace(/%.*$/, ''));
  if (literal) {
    address = host;
    family = literal as 4 | 6;
    if (opts.family !== undefined && opts.family !== family) {
      throw new RangeError(`family is ${opts.family} but host ${host} is an IPv${family} address`);
    }
  } else {
    try {
      const r = await lookup(host, opts.family !== undefined ? { family: opts.family } : {});
      address = r.address;
      family = r.family as 4 | 6;
    } catch (e) {
      throw new TransportError(`cannot resolve UDP host "${host}": ${(e as Error).message}`, { cause: e });
    }
  }
  const fromMtu = mtu - (family === 4 ? 20 : 40) - 8;
  const maxPacket = opts.maxPacket ?? Math.min(fromMtu, deviceMtu);
  const socket = createSocket({ type: family === 4 ? 'udp4' : 'udp6' });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => {
      socket.close();
      reject(new TransportError(`cannot bind a UDP socket: ${e.message}`, { cause: e }));
    };
    socket.once('error', onError);
    socket.bind({ port: opts.localPort ?? 0, address: opts.localAddress }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  return new UdpTransport(socket, address, port, family, maxPacket);
}

/** A {@link Transport} over one UDP socket talking to one device. */
export class UdpTransport implements Transport {
  readonly kind = 'udp';
  /** Largest SMP packet sent in one datagram. */
  readonly maxPacket: number;
  /** The device's address, port and family. */
  readonly remote: { address: string; port: number; family: 4 | 6 };
  readonly #socket: Socket;
  readonly #emitter = new TransportEmitter();
  readonly #stats: UdpTransportStats = { sent: 0, received: 0, foreign: 0 };
  readonly #remoteKey: string;
  #closed = false;

  /** @internal Use {@link openUdpTransport}. */
  constructor(socket: Socket, address: string, port: number, family: 4 | 6, maxPacket: number) {
    this.#socket = socket;
    this.remote = { address, port, family };
    this.maxPacket = maxPacket;
    this.#remoteKey = normaliseAddress(address);
    socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.#onMessage(msg, rinfo));
    socket.on('error', (e: Error) => {
      if (this.#closed) return;
      this.#emitter.emit('error', new TransportError(`UDP socket error: ${e.message}`, { cause: e }));
      void this.close();
    });
  }

  /** The local address and port the socket is bound to. */
  get local(): { address: string; port: number } {
    const a = this.#socket.address();
    return { address: a.address, port: a.port };
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A snapshot of the counters. */
  stats(): UdpTransportStats {
    return { ...this.#stats };
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.#closed) return;
    if (rinfo.port !== this.remote.port || normaliseAddress(rinfo.address) !== this.#remoteKey) {
      this.#stats.foreign++;
      return;
    }
    this.#stats.received++;
    this.#emitter.emit('packet', msg);
  }

  send(packet: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new SmpClosedError('the UDP transport is closed'));
    if (packet.length > this.maxPacket) {
      return Promise.reject(
        new SmpFrameSizeError(`a ${packet.length}-byte packet does not fit one ${this.maxPacket}-byte UDP datagram; send less data per request`),
      );
    }
    return new Promise((resolve, reject) => {
      this.#socket.send(packet, this.remote.port, this.remote.address, (err) => {
        if (err) reject(new TransportError(`UDP send to ${this.remote.address}:${this.remote.port} failed: ${err.message}`, { cause: err }));
        else {
          this.#stats.sent++;
          resolve();
        }
      });
    });
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): () => void {
    return this.#emitter.on(event, listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await new Promise<void>((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    this.#emitter.emit('close');
  }

  unref(): void {
    this.#socket.unref();
  }
}

/** Lower-case, without an IPv6 zone, IPv4-mapped IPv6 reduced to IPv4. */
function normaliseAddress(a: string): string {
  let s = a.toLowerCase().replace(/%.*$/, '');
  if (s.startsWith('::ffff:') && isIP(s.slice(7)) === 4) return s.slice(7);
  if (isIP(s) === 6) {
    // One spelling per address (the kernel reports the compressed form).
    try {
      s = new URL(`http://[${s}]/`).hostname.slice(1, -1);
    } catch {
      /* keep as is */
    }
  }
  return s;
}

function checkInt(name: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${name} must be an integer ${min}..${max}, got ${String(v)}`);
  }
}
