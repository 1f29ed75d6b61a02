/**
 * The one interface every transport implements (serial, UDP, in-memory, the simulator's ends).
 * A transport moves whole SMP packets (header + CBOR); framing is its own business.
 * @module
 */
import type { SerialEncoding } from './framing.js';

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
  /**
   * The serial encoding, for a transport over a serial byte stream (`kind` `serial`); undefined
   * for packet transports (UDP, memory). A `serial` transport without it is taken as `console`.
   */
  readonly encoding?: SerialEncoding;
  /**
   * True when the peer is a group of devices (a UDP multicast or broadcast address): every device
   * acts on each request and only the first answer counts, so transfers are refused.
   */
  readonly groupAddress?: boolean;
  /** The device's address or path, for messages (e.g. `/dev/ttyACM0`, `192.0.2.1`). */
  readonly peerName?: string;
  /**
   * True when every packet this transport emits is a buffer of its own that it never writes to
   * again: the session then keeps an answer's payload as it came instead of copying it. Leave it
   * unset for a transport that reuses a receive buffer.
   */
  readonly ownPackets?: boolean;
  /** Sends one SMP packet. Resolves once the bytes are handed to the OS (not when answered). */
  send(packet: Buffer): Promise<void>;
  /**
   * Sends one SMP packet given as pieces in order (the first holds the header): what
   * {@link Transport.send} does with their concatenation, without joining them. A transport that
   * writes to a byte stream or a socket implements it so an upload chunk is not copied to be sent;
   * the session uses it when present. The pieces must not be changed until the promise settles.
   */
  sendParts?(parts: readonly Buffer[]): Promise<void>;
  /**
   * {@link Transport.sendParts} for a transport that queues its writes at once: throws what that
   * would reject with, and costs no promise per packet (the session's choice when present).
   */
  sendPartsNow?(parts: readonly Buffer[]): void;
  /**
   * Frames a packet now, to be sent later with {@link Transport.sendFrame}: the encoding of an
   * upload's next chunk done while the device works on the current one. Throws what
   * {@link Transport.sendPartsNow} would for a packet it refuses (its size). A frame covers every
   * byte of the packet (a serial frame's CRC), so a packet changed afterwards is framed again.
   */
  frameAhead?(parts: readonly Buffer[]): readonly Uint8Array[];
  /** Sends a frame made by {@link Transport.frameAhead}, as {@link Transport.sendPartsNow} sends a packet. */
  sendFrame?(frame: readonly Uint8Array[]): void;
  /** Subscribes to an event; returns a function that unsubscribes. */
  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): () => void;
  /** Closes the link; idempotent. */
  close(): Promise<void>;
  /** True once closed. */
  readonly closed: boolean;
  /** Lets the process exit while the transport is open (for long-lived background use). */
  unref?(): void;
}
