/**
 * An in-memory {@link Transport} pair: what one end sends, the other receives as a whole packet,
 * asynchronously (never inside `send()`), in order, after an optional latency. For tests, and for
 * wiring a client to something that speaks packets in the same process.
 * @module
 */
import { SmpClosedError } from '../errors.js';
import { TransportEmitter } from './emitter.js';
import type { Transport, TransportEvents } from './transport.js';

/** Options of {@link createMemoryPair}. */
export interface MemoryPairOptions {
  /** One-way delay of every packet, in ms. Default 0 (delivered on the next turn of the event loop). */
  latencyMs?: number;
  /** Largest packet either end accepts; larger sends reject with a `RangeError`. Default: no limit. */
  maxPacket?: number;
  /** `kind` of both ends. Default `memory`. */
  kind?: string;
}

class MemoryEnd implements Transport {
  readonly kind: string;
  readonly maxPacket: number | undefined;
  /** The peer receives a copy of what was sent. */
  readonly ownPackets = true;
  readonly #events = new TransportEmitter();
  readonly #latency: number;
  #peer: MemoryEnd | undefined;
  #closed = false;
  readonly #timers = new Set<NodeJS.Timeout | NodeJS.Immediate>();
  #unref = false;
  /** Delivery time of the last packet sent, to keep order when timers would not. */
  #lastDue = 0;

  constructor(kind: string, latency: number, maxPacket: number | undefined) {
    this.kind = kind;
    this.#latency = latency;
    this.maxPacket = maxPacket;
  }

  link(peer: MemoryEnd): void {
    this.#peer = peer;
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(packet: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new SmpClosedError(`${this.kind} transport is closed`));
    if (!(packet instanceof Uint8Array)) return Promise.reject(new TypeError('send(packet): packet must be a Buffer or Uint8Array'));
    return this.#post(packet.length, () => Buffer.from(packet));
  }

  /** Delivers the joined pieces: the peer gets a packet of its own either way (the one copy). */
  sendParts(parts: readonly Buffer[]): Promise<void> {
    let size = 0;
    for (const p of parts) size += p.length;
    return this.#post(size, () => Buffer.concat(parts, size));
  }

  #post(size: number, copyOf: () => Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new SmpClosedError(`${this.kind} transport is closed`));
    if (this.maxPacket !== undefined && size > this.maxPacket) {
      return Promise.reject(new RangeError(`packet of ${size} bytes exceeds this transport's maxPacket ${this.maxPacket}`));
    }
    const copy = copyOf();
    const peer = this.#peer!;
    if (this.#latency <= 0) {
      const h = setImmediate(() => {
        this.#timers.delete(h);
        peer.#receive(copy);
      });
      if (this.#unref) h.unref();
      this.#timers.add(h);
    } else {
      const now = performance.now();
      const due = Math.max(now + this.#latency, this.#lastDue);
      this.#lastDue = due;
      const h = setTimeout(() => {
        this.#timers.delete(h);
        peer.#receive(copy);
      }, due - now);
      if (this.#unref) h.unref();
      this.#timers.add(h);
    }
    return Promise.resolve();
  }

  #receive(packet: Buffer): void {
    if (this.#closed) return;
    this.#events.emit('packet', packet);
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): () => void {
    return this.#events.on(event, listener);
  }

  close(): Promise<void> {
    this.#shut();
    const peer = this.#peer;
    if (peer) peer.#shut();
    return Promise.resolve();
  }

  #shut(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const h of this.#timers) {
      clearTimeout(h as NodeJS.Timeout);
      clearImmediate(h as NodeJS.Immediate);
    }
    this.#timers.clear();
    this.#events.emit('close');
  }

  unref(): void {
    this.#unref = true;
    for (const h of this.#timers) h.unref();
  }
}

/**
 * Creates two connected in-memory transports: `a.send(p)` makes `b` emit `packet` with a copy of
 * `p`, and the other way round. Closing either end closes both.
 *
 * @example
 * const [client, device] = createMemoryPair({ latencyMs: 2 });
 * device.on('packet', (p) => device.send(p)); // an echo device
 */
export function createMemoryPair(opts: MemoryPairOptions = {}): [Transport, Transport] {
  const latency = opts.latencyMs ?? 0;
  if (typeof latency !== 'number' || !Number.isFinite(latency) || latency < 0) {
    throw new RangeError(`latencyMs must be a non-negative number, got ${String(latency)}`);
  }
  const max = opts.maxPacket;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new RangeError(`maxPacket must be a positive integer, got ${String(max)}`);
  const kind = opts.kind ?? 'memory';
  const a = new MemoryEnd(kind, latency, max);
  const b = new MemoryEnd(kind, latency, max);
  a.link(b);
  b.link(a);
  return [a, b];
}
