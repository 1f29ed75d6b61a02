/**
 * Serves a simulated device over an in-memory packet link: the client gets a {@link Transport}
 * whose packets go through the {@link DeviceLink} packet model (latency, optional pacing, the
 * net_buf pool, one request at a time, faults) to the core.
 * @module
 */
import { SmpClosedError } from '../errors.js';
import { TransportEmitter } from '../transport/emitter.js';
import type { Transport, TransportEvents } from '../transport/transport.js';
import { DeviceLink, type LinkOptions, type LinkStats } from './link/index.js';
import type { SimDeviceCore } from './types.js';

/** Options of {@link serveMemory}: the link model's, without the parts the server sets. */
export type ServeMemoryOptions = Omit<LinkOptions, 'mode' | 'onOutput' | 'via'> & {
  /** Transport name given to the core. Default `memory`. */
  via?: string;
};

/** The client end of an in-memory simulated device. */
export interface SimMemoryTransport extends Transport {
  /** The link model (stats, fault log, resets). */
  readonly link: DeviceLink;
  /** The device's protocol core, for inspection. */
  readonly device: SimDeviceCore;
  /** The link's counters. */
  stats(): LinkStats;
  /** Lets the process exit while packets are in flight. */
  unref(): void;
}

class MemoryClient implements SimMemoryTransport {
  readonly kind = 'memory';
  readonly maxPacket: number | undefined = undefined;
  readonly link: DeviceLink;
  readonly device: SimDeviceCore;
  readonly #events = new TransportEmitter();
  #closed = false;

  constructor(core: SimDeviceCore, opts: ServeMemoryOptions) {
    this.device = core;
    this.link = new DeviceLink(core, {
      ...opts,
      mode: 'packet',
      via: opts.via ?? 'memory',
      onOutput: (data) => {
        if (!this.#closed) this.#events.emit('packet', Buffer.from(data));
      },
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(packet: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new SmpClosedError('the simulated device link is closed'));
    if (!(packet instanceof Uint8Array)) return Promise.reject(new TypeError('send(packet): packet must be a Buffer or Uint8Array'));
    this.link.receivePacket(packet);
    return Promise.resolve();
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): () => void {
    return this.#events.on(event, listener);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.link.close();
      this.#events.emit('close');
    }
    return Promise.resolve();
  }

  unref(): void {
    this.link.unref();
  }

  stats(): LinkStats {
    return this.link.stats();
  }
}

/**
 * Serves `core` in memory and returns the client's transport.
 *
 * @example
 * const t = serveMemory(createZephyrDevice(), { latencyMs: 1, faults: { toDevice: { drop: 0.05 } }, seed: 7 });
 * t.on('packet', (p) => console.log(p));
 * await t.send(request);
 */
export function serveMemory(core: SimDeviceCore, opts: ServeMemoryOptions = {}): SimMemoryTransport {
  return new MemoryClient(core, opts);
}
