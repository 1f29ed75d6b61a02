/**
 * A tiny typed listener set used by transports (no EventEmitter: an 'error' with no listener
 * must not throw out of a read callback and crash the host).
 * @module
 */
import type { TransportEvents } from './transport.js';

type Listener = (arg?: unknown) => void;

export class TransportEmitter {
  // Copy on write: `on` and its undo replace the array, so `emit` walks the listeners of the
  // moment without copying them for every packet.
  readonly #listeners: Record<keyof TransportEvents, readonly Listener[]> = { packet: [], error: [], close: [] };

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): () => void {
    const l = listener as Listener;
    if (!this.#listeners[event].includes(l)) this.#listeners[event] = [...this.#listeners[event], l];
    return () => {
      this.#listeners[event] = this.#listeners[event].filter((x) => x !== l);
    };
  }

  emit<E extends keyof TransportEvents>(event: E, ...args: Parameters<TransportEvents[E]>): void {
    const list = this.#listeners[event];
    const arg: unknown = args[0]; // every transport event carries at most one argument
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(arg);
      } catch (e) {
        // A listener's bug must not break the read loop; report it out of band.
        rethrowApart(e);
      }
    }
  }
}

/** Throws `e` on its own after the current loop: a callback's bug reported without breaking its caller. */
export function rethrowApart(e: unknown): void {
  queueMicrotask(() => {
    throw e;
  });
}
