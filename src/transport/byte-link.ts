/**
 * A byte link: the part of a serial transport that moves bytes and nothing else. The native fd I/O
 * (`serial-native.ts`) and the `serialport` package (`serial-port-fallback.ts`) each implement it;
 * {@link SerialTransport} puts the framing (console, raw, COBS) on top of any of them. A new way to
 * reach a serial device (a USB stack, a TCP bridge) is one more `ByteLink`, not one more transport.
 * Types only.
 * @module
 */
import type { TransportError } from '../errors.js';

/** Where a byte link goes. */
export interface ByteLinkTarget {
  /** Device path, e.g. `/dev/ttyACM0` or a PTY's slave path. */
  readonly path: string;
  /** Line speed. */
  readonly baudRate: number;
}

/** What a link reports to its owner. */
export interface ByteLinkSink {
  /** Bytes read, in order (any chunking). */
  data(chunk: Buffer): void;
  /**
   * The link failed (the device is gone, a write was refused later): it is closing, and the
   * error's message names the path and what happened.
   */
  fail(err: TransportError): void;
}

/** An open byte link to one device. */
export interface ByteLink {
  /** Where it goes (for messages). */
  readonly path: string;
  /** Starts reporting to `sink`. Called once, right after opening, before any byte can arrive. */
  attach(sink: ByteLinkSink): void;
  /**
   * Writes the pieces in order as one run of bytes (one `writev` where the link can), without
   * joining them first; what the OS does not take at once is queued. Throws when the OS refuses
   * the bytes outright; later failures go to {@link ByteLinkSink.fail}.
   */
  write(pieces: readonly Uint8Array[]): void;
  /** Bytes queued that the OS has not accepted yet. */
  pending(): number;
  /** Resolves once the OS has accepted every byte written so far. */
  drain(): Promise<void>;
  /** Closes the link (queued bytes are dropped); idempotent. A promise when closing takes a while. */
  close(): void | Promise<void>;
  /** Lets the process exit while the link is open (a no-op where the link cannot). */
  unref(): void;
  /** Undoes {@link ByteLink.unref}. */
  ref(): void;
}

/**
 * Opens a byte link. Throws (or rejects) a TransportError naming the path when it cannot, and a
 * RangeError for a baud rate the link does not support.
 */
export type OpenByteLink = (target: ByteLinkTarget) => ByteLink | Promise<ByteLink>;
