/**
 * Test helper: a transport whose far end answers every request with the same payload, echoing
 * the request's header (op + 1, same group, id and sequence number).
 */
import { decodeHeader, buildPacket } from '../src/codec/header.js';
import { encodeCbor, type CborMap } from '../src/codec/cbor.js';
import { TransportEmitter } from '../src/transport/emitter.js';
import type { Transport, TransportEvents } from '../src/transport/transport.js';

export class FixedAnswer implements Transport {
  readonly kind = 'memory';
  readonly maxPacket = undefined;
  closed = false;
  readonly #em = new TransportEmitter();
  readonly #payload: Buffer;
  /** @param answer a map to encode as CBOR, or the raw payload bytes (e.g. CBOR no encoder makes). */
  constructor(answer: CborMap | Buffer) {
    this.#payload = Buffer.isBuffer(answer) ? answer : encodeCbor(answer);
  }
  on<E extends keyof TransportEvents>(e: E, l: TransportEvents[E]): () => void {
    return this.#em.on(e, l);
  }
  async send(p: Buffer): Promise<void> {
    const h = decodeHeader(p);
    const rsp = buildPacket({ op: h.op + 1, version: h.version, flags: 0, group: h.group, seq: h.seq, id: h.id }, this.#payload);
    setImmediate(() => this.#em.emit('packet', rsp));
  }
  async close(): Promise<void> {
    this.closed = true;
    this.#em.emit('close');
  }
}
