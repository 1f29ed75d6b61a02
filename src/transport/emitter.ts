/**
 * A tiny typed listener set used by transports (no EventEmitter: an 'error' with no listener
 * must not throw out of a read callback and crash the host).
 * @module
 */
import type { TransportEvents } from './transport.js';

export class TransportEmitter {
  readonly #listeners: { [E in keyof TransportEvents]: Set<TransportEvents[E]> } = {
    packet: new Set(),
    error: new Set(),
    close: new Set(),
  };

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): () => void {
    const set = this.#listeners[event] as Set<TransportEvents[E]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<E extends keyof TransportEvents>(event: E, ...args: Parameters<TransportEvents[E]>): void {
    for (const l of [...this.#listeners[event]] as Array<(...a: unknown[]) => void>) {
      try {
        l(...args);
      } catch (e) {
        // A listener's bug must not break the read loop; report it out of band.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
}
