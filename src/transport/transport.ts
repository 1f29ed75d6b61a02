/**
 * The one interface every transport implements (serial, UDP, in-memory, the simulator's ends).
 * A transport moves whole SMP packets (header + CBOR); framing is its own business.
 * @module
 */

/** What a transport reports to its user. */
export interface TransportEvents {
  /** A whole SMP packet arrived from the peer. */
  packet: (packet: Buffer) => void;
  /** The transport failed; it is closed afterwards. */
  error: (err: Error) => void;
  /** The transport closed (by `close()` or after an error). */
  close: () => void;
}

/** A packet-oriented link to one device. */
export interface Transport {
  /** A short name for messages: `serial`, `udp`, `memory`, … */
  readonly kind: string;
  /**
   * Largest SMP packet (header + CBOR) this transport can carry in one piece, if it has a limit of
   * its own (e.g. a UDP datagram). The device's buffer size is a separate limit.
   */
  readonly maxPacket: number | undefined;
  /** Sends one SMP packet. Resolves once the bytes are handed to the OS (not when answered). */
  send(packet: Buffer): Promise<void>;
  /** Subscribes to an event; returns a function that unsubscribes. */
  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): () => void;
  /** Closes the link; idempotent. */
  close(): Promise<void>;
  /** True once closed. */
  readonly closed: boolean;
  /** Lets the process exit while the transport is open (for long-lived background use). */
  unref?(): void;
}
