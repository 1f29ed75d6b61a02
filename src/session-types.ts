/**
 * The types of the SMP session's surface: its options, an answer, where an answer goes, its
 * counters, and a request built ahead of its sending.
 * @module
 */
import type { SmpHeader } from './codec/header.js';
import type { CborMap } from './codec/cbor.js';
import type { SmpSession } from './session.js';

/** SMP protocol version of requests: 1 = SMP v2 (`err` maps, the default), 0 = SMP v1 (`rc` only). */
export type SmpVersion = 0 | 1;

/** Options of a {@link SmpSession}. */
export interface SessionOptions {
  /** Header version of requests. Default 1 (SMP v2). */
  version?: SmpVersion;
  /** Default deadline of a request, in ms. Default 5000. */
  timeoutMs?: number;
  /** Largest request packet (header + CBOR) allowed; larger requests fail before sending. */
  maxPacket?: number;
  /** First sequence number; random by default. */
  seqStart?: number;
}

/** Options of one request. */
export interface RequestOptions {
  /** Deadline for the answer, in ms (overrides the session default). */
  timeoutMs?: number;
  /** Cancels the request; its promise rejects with {@link AbortError}. */
  signal?: AbortSignal;
  /** Resend after a timeout this many times. Only allowed for READ requests (idempotent). */
  retries?: number;
  /**
   * Skip turning `rc`/`err` into errors; the caller inspects {@link SmpResponse.body} itself
   * (e.g. shell exec, whose legacy `rc` is the command's own return value).
   */
  rawErrors?: boolean;
}

/** An answer from the device. */
export interface SmpResponse {
  header: SmpHeader;
  /** The CBOR payload as received. */
  payload: Buffer;
  /** The decoded payload map. */
  body: CborMap;
}

/**
 * Receives the outcome of a request sent with {@link SmpSession.sendTo}: exactly one call, the
 * raw answer (device errors are not turned into exceptions) or the error that ended it.
 */
export interface ResponseSink {
  answer(rsp: SmpResponse): void;
  fail(err: Error): void;
}

/** Session counters. */
export interface SessionStats {
  sent: number;
  received: number;
  /** Answers that matched nothing in flight (late, duplicated, or unsolicited): dropped. */
  unmatched: number;
  /** Packets with a header that does not agree with their size, or not a response op. */
  malformed: number;
  timeouts: number;
  retries: number;
}

/**
 * A request built before it is sent, with {@link SmpSession.prepare}: an upload builds its next
 * chunk while the device works on the current one, so that only a few bytes change hands when the
 * answer comes. The session fills the fields in; the caller gives the object to
 * {@link SmpSession.sendPrepared} once, and may prepare another request into it afterwards (the
 * upload engine keeps one for its whole run: nothing is allocated for it per chunk).
 */
export interface PreparedRequest {
  /** The packet as pieces, the header first; undefined until prepared. */
  parts: Buffer[] | undefined;
  /** The sequence number written into the header (the one the session expects to use next). */
  seq: number;
  /** The transport's frame of the packet, when the transport can frame ahead. */
  frame: readonly Uint8Array[] | undefined;
  op: number;
  group: number;
  id: number;
}
