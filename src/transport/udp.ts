/**
 * SMP over UDP (PROTOCOL.md §5.1): one datagram carries one SMP packet, no framing, no CRC.
 * Zephyr listens on port 1337 and answers to the request's source address and port
 * (`smp_udp.c`: `recvfrom` keeps the sender's address, the reply goes out with `sendto` on the same
 * socket, bound to the SMP port on the any-address). So the answer's source port is the device's
 * SMP port, but its source address is whatever the device's stack picks: not the address a
 * request went to when that was a multicast or broadcast address, and not necessarily it on a
 * device with several addresses. {@link UdpTransportOptions.acceptFrom} says what is accepted;
 * everything else is dropped and counted ({@link UdpTransportStats.foreign}).
 * @module
 */
import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
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
  /**
   * Which datagrams count as the device's answers (others are dropped and counted as `foreign`):
   * - `'device'`: only from the device's address and port. Addresses are compared without an
   *   IPv6 zone, and an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) equals its IPv4 form.
   * - `'port'`: from any address, but only from the device's port. Zephyr answers from its SMP
   *   port with a source address its stack chooses: use this when `host` is one of several
   *   addresses of the device, or a link-local address answered from another one.
   * - `'any'`: from any address and port (a NAT or port forward that rewrites the source port).
   *
   * Anything on the network that can reach the local socket can then answer in the device's
   * place, so widen this only as far as the network needs. Default `'device'`, or `'port'` when
   * `host` is a multicast address or 255.255.255.255 (no answer ever comes from those).
   */
  acceptFrom?: UdpAcceptFrom;
}

/** Which senders a {@link UdpTransport} accepts answers from; see {@link UdpTransportOptions.acceptFrom}. */
export type UdpAcceptFrom = 'device' | 'port' | 'any';

const ACCEPT_FROM: readonly UdpAcceptFrom[] = ['device', 'port', 'any'];

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
  if (opts.acceptFrom !== undefined && !ACCEPT_FROM.includes(opts.acceptFrom)) {
    throw new RangeError(`acceptFrom must be 'device', 'port' or 'any', got ${JSON.stringify(opts.acceptFrom)}`);
  }

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
  const group = isGroupAddress(address);
  const acceptFrom = opts.acceptFrom ?? (group ? 'port' : 'device');
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
  // The kernel refuses to send to a broadcast address without SO_BROADCAST.
  if (family === 4 && isBroadcastAddress(normaliseAddress(address))) socket.setBroadcast(true);
  return new UdpTransport(socket, address, port, family, maxPacket, acceptFrom);
}

/** A {@link Transport} over one UDP socket talking to one device. */
export class UdpTransport implements Transport {
  readonly kind = 'udp';
  /** Largest SMP packet sent in one datagram. */
  readonly maxPacket: number;
  /** The device's address, port and family. */
  readonly remote: { address: string; port: number; family: 4 | 6 };
  /** Which senders are accepted (see {@link UdpTransportOptions.acceptFrom}). */
  readonly acceptFrom: UdpAcceptFrom;
  /**
   * The remote is a multicast or the broadcast address: every device there acts on each request
   * and the first answer wins, so transfers (whose state lives on one device) are refused.
   */
  readonly groupAddress: boolean;
  /** dgram hands each datagram in a buffer of its own. */
  readonly ownPackets = true;
  readonly #socket: Socket;
  readonly #emitter = new TransportEmitter();
  readonly #stats: UdpTransportStats = { sent: 0, received: 0, foreign: 0 };
  readonly #remoteKey: string;
  #closed = false;

  /** @internal Use {@link openUdpTransport}. */
  constructor(socket: Socket, address: string, port: number, family: 4 | 6, maxPacket: number, acceptFrom: UdpAcceptFrom = 'device') {
    this.#socket = socket;
    this.remote = { address, port, family };
    this.acceptFrom = acceptFrom;
    this.maxPacket = maxPacket;
    this.#remoteKey = normaliseAddress(address);
    this.groupAddress = isGroupAddress(address);
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
    const portOk = this.acceptFrom === 'any' || rinfo.port === this.remote.port;
    const addressOk = this.acceptFrom !== 'device' || normaliseAddress(rinfo.address) === this.#remoteKey;
    if (!portOk || !addressOk) {
      this.#stats.foreign++;
      return;
    }
    this.#stats.received++;
    this.#emitter.emit('packet', msg);
  }

  send(packet: Buffer): Promise<void> {
    return this.sendParts([packet]);
  }

  /** Sends the packet made of `parts` as one datagram (sendmsg with the pieces: no join). */
  sendParts(parts: readonly Buffer[]): Promise<void> {
    if (this.#closed) return Promise.reject(new SmpClosedError('the UDP transport is closed'));
    let size = 0;
    for (const p of parts) size += p.length;
    if (size > this.maxPacket) {
      return Promise.reject(
        new SmpFrameSizeError(`a ${size}-byte packet does not fit one ${this.maxPacket}-byte UDP datagram; send less data per request`),
      );
    }
    return new Promise((resolve, reject) => {
      this.#socket.send(parts.length === 1 ? parts[0]! : (parts as Buffer[]), this.remote.port, this.remote.address, (err) => {
        if (err) reject(new TransportError(`UDP send to ${this.remote.address}:${this.remote.port} failed: ${err.message}`, { cause: err }));
        else {
          this.#stats.sent++;
          resolve();
        }
      });
    });
  }

  /** The device's address (for messages). */
  get peerName(): string {
    return this.remote.address;
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

/** A multicast address, or IPv4's limited broadcast: requests to it are answered from unicast addresses. */
function isGroupAddress(address: string): boolean {
  const a = normaliseAddress(address);
  if (isIP(a) === 4) {
    const first = Number(a.split('.')[0]);
    return (first >= 224 && first <= 239) || isBroadcastAddress(a);
  }
  // IPv6 multicast is ff00::/8: the first group must have four digits starting with ff
  // ("ff0::1" is 0ff0::1, not multicast).
  return /^ff[0-9a-f]{2}:/.test(a);
}

/**
 * The limited broadcast address, or the directed broadcast address of a subnet this host is on
 * (e.g. 192.168.1.255 on 192.168.1.0/24): a netmask is needed to tell it from a host address.
 */
function isBroadcastAddress(ipv4: string): boolean {
  if (ipv4 === '255.255.255.255') return true;
  const n = ipv4ToInt(ipv4);
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.family !== 'IPv4') continue;
      const mask = ipv4ToInt(i.netmask);
      if (mask >= 0xfffffffe) continue; // /31 and /32 links have no broadcast address
      if (n === ((ipv4ToInt(i.address) & mask) | ~mask) >>> 0) return true;
    }
  }
  return false;
}

function ipv4ToInt(a: string): number {
  return a.split('.').reduce((v, o) => ((v << 8) | Number(o)) >>> 0, 0);
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
