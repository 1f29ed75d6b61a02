/**
 * Shared types of the transfer engine (pipelined image/file upload, file download).
 * @module
 */
import type { SmpSession } from '../session.js';

/** What a transfer needs to know about the connection. */
export interface TransferContext {
  session: SmpSession;
  /**
   * Largest SMP request (header + CBOR) the device accepts in one packet. Over console serial the
   * client already applies the netbuf − 4 rule when it sets this (PROTOCOL.md §4.3).
   */
  maxRequest: number;
  /** `buf_count` from os mcumgr params when known: caps the window at buf_count − 1. */
  bufCount?: number;
  /**
   * The serial encoding, when the link is serial. Raw SMP has no CRC and no resync but a silence
   * timeout, so over raw the engine keeps one request in flight and waits out the device's input
   * timeout after a loss.
   */
  encoding?: 'console' | 'raw' | 'cobs';
}

/**
 * Where upload data comes from: bytes, a file path (read by offset as the upload goes), or an
 * async iterable of chunks (e.g. an HTTP response body). An iterable is read to its end before
 * the first chunk is sent, since the size and SHA-256 go in the first request: up to 4 MiB in
 * memory, beyond that in a temporary file removed when the upload ends (1 GiB at most).
 */
export type UploadSource = Uint8Array | string | AsyncIterable<Uint8Array>;

/** A progress report of a running transfer. */
export interface TransferProgress {
  /** Bytes the device has confirmed. */
  done: number;
  total: number;
  /** Average bytes/s since the transfer started (after the first chunk's erase). */
  rate: number;
  /** Requests currently allowed in flight. */
  window: number;
  /** Times the transfer rewound to the device's offset (lost or reordered chunks). */
  rewinds: number;
  /** Timeouts seen (each one shrinks the window and resends). */
  timeouts: number;
}

/** Options shared by the pipelined transfers. */
export interface TransferOptions {
  /**
   * Requests in flight. `'auto'` (default) starts at 1 and grows while answers arrive in order,
   * up to `maxWindow`. A number fixes it; 1 is plain stop-and-wait. Either way the window never
   * exceeds buf_count − 1 when the device told its buffer count: a Zephyr device must hold every
   * waiting request in a net_buf, and some versions fault when the pool runs dry.
   */
  window?: number | 'auto';
  /**
   * Cap of the auto window. Default: buf_count − 1 when the device told it (`useAutoFrameSize()`),
   * else 1 (nothing is sent that the device may not have room for).
   */
  maxWindow?: number;
  /** Data bytes per chunk; default: the largest that keeps each request within `maxRequest`. */
  chunkSize?: number;
  /** Chunk sizes are rounded down to a multiple of this. Default 1 (4 for images: flash-friendly). */
  alignment?: number;
  /** Deadline of each chunk's answer. Default: the session's. */
  timeoutMs?: number;
  /** Timeouts tolerated in a row before giving up. Default 5. */
  maxTimeouts?: number;
  /** Cancels the transfer cleanly. */
  signal?: AbortSignal;
  /** Raw encoding: silence kept after a loss, longer than the device's input timeout (Zephyr 3 s). Default 3500 ms. */
  rawQuietMs?: number;
  /** Called after each confirmed chunk. */
  onProgress?: (p: TransferProgress) => void;
}

/** The outcome of a finished transfer. */
export interface TransferResult {
  /** Size of the whole source (upload) or file (download). */
  bytes: number;
  /**
   * Data bytes that crossed the link in this run: every chunk sent, resends included (uploads),
   * or every chunk received (downloads). Less than `bytes` when the device already held part of
   * the upload (`resumedAt`) or all of it (`alreadyComplete`).
   */
  sent: number;
  /**
   * The device already held this many bytes of the upload and took the rest from there (an
   * interrupted upload resumed by its `sha`). Absent when the upload started at 0.
   */
  resumedAt?: number;
  /**
   * The device answered the first chunk with the whole length: it already held these bytes
   * (Zephyr with `CONFIG_IMG_ENABLE_IMAGE_CHECK` skips an image already in the slot).
   */
  alreadyComplete?: boolean;
  seconds: number;
  /** Bytes per second over the whole transfer, counting only the bytes that crossed the link (`sent`). */
  throughput: number;
  rewinds: number;
  timeouts: number;
  /** Largest window used. */
  maxWindowUsed: number;
}
