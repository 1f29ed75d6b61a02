/**
 * What one kind of upload (an image, a file) plugs into the pipelined engine of `window.ts`.
 * @module
 */
import type { CborMap } from '../codec/cbor.js';
import type { PreparedRequest, ResponseSink, SmpResponse } from '../session.js';
import type { ByteSource } from './source.js';

/** What one kind of upload plugs into the engine. */
export interface UploadSpec {
  source: ByteSource;
  maxRequest: number;
  /** Request fields other than `data` for a chunk at `off` (`first` = the off 0 chunk): a new object each call (the engine adds `data` to it). */
  fields(off: number, first: boolean): CborMap;
  /**
   * Sends one chunk request and hands its raw answer (device errors are not exceptions) or its
   * error to `sink` (`SmpSession.sendTo`: no promise per chunk); throws on bad input.
   */
  send(body: CborMap, timeoutMs: number | undefined, signal: AbortSignal | undefined, sink: ResponseSink): void;
  /**
   * Builds a chunk request into `req` to send later with {@link UploadSpec.sendPrepared}
   * (`SmpSession.prepare`): the engine builds the next chunk while the device works on the
   * current one. Optional: without it every chunk is built when it is sent.
   */
  prepare?(req: PreparedRequest, body: CborMap): void;
  /** Sends a request built by {@link UploadSpec.prepare}, as {@link UploadSpec.send} does. */
  sendPrepared?(req: PreparedRequest, timeoutMs: number | undefined, signal: AbortSignal | undefined, sink: ResponseSink): void;
  /**
   * Reads the device's next offset from an answer. Throws a typed error for a fatal answer;
   * returns `undefined` when the answer is an error that says nothing about the offset (the
   * engine then asks `recover`).
   */
  offsetOf(rsp: SmpResponse): number | undefined;
  /** Asks the device where it stands after an answer that did not say (e.g. fs status). */
  recover?(): Promise<number>;
  /** Called with the answer that completed the upload. */
  onComplete?(rsp: SmpResponse): void;
  /** Deadline of the first chunk (erase). */
  firstTimeoutMs: number;
  /**
   * Deadline of the last chunk, when the device does slow work before it answers it (Zephyr's
   * img_mgmt hashes the whole slot). Default: the normal deadline; an fs upload only closes the
   * file, and a long wait there would only delay the resend of a lost last chunk.
   */
  lastTimeoutMs?: number;
  /** Default alignment of chunk sizes. */
  alignment: number;
  /** The first chunk carries at least this many bytes (an image header: 32). */
  minFirstChunk?: number;
  /**
   * The answer to the first chunk must be exactly its length (no resume at offset 0: fs upload).
   * Anything else means the device mixed this upload with a stale one: start over once, then fail.
   */
  exactFirst?: boolean;
  /** Runs before every first chunk (fs: close any stale file context on the device). */
  beforeFirst?(): Promise<void>;
  bufCount?: number;
  encoding?: 'console' | 'raw' | 'cobs';
}
