/**
 * `diagnostics_channel` events of the SMP session, so requests can be traced without patching
 * (as Node's own HTTP client publishes its request events). Channels are looked up by name, so
 * every copy of the package in the process publishes to the same ones. Nothing is built or
 * published while a channel has no subscriber (`channel.hasSubscribers` is checked first).
 *
 * Every request publishes one `start` per attempt (a retried read publishes again), then exactly
 * one of `answer`, `timeout` or `error`. `session` and `seq` together name the request.
 *
 * @example
 * ```ts
 * import diagnostics_channel from 'node:diagnostics_channel';
 * import { REQUEST_CHANNELS, type RequestStartEvent } from 'mcumgr-toolkit';
 *
 * diagnostics_channel.subscribe(REQUEST_CHANNELS.start, (m) => {
 *   const e = m as RequestStartEvent;
 *   console.log(`-> group ${e.group} id ${e.id} seq ${e.seq} (${e.bytes} bytes)`);
 * });
 * ```
 * @module
 */
import diagnostics_channel from 'node:diagnostics_channel';
import type { SmpResponse, SmpSession } from './session.js';

/** The names of the request channels; stable across versions. */
export const REQUEST_CHANNELS = {
  /** A request was handed to the transport: {@link RequestStartEvent}. */
  start: 'mcumgr:request:start',
  /** The device answered it (also with a device error in the body): {@link RequestAnswerEvent}. */
  answer: 'mcumgr:request:answer',
  /** Its deadline passed without an answer: {@link RequestTimeoutEvent}. */
  timeout: 'mcumgr:request:timeout',
  /** It ended otherwise (aborted, closed, transport failure, undecodable answer): {@link RequestErrorEvent}. */
  error: 'mcumgr:request:error',
} as const;

/** What every request event carries: the session that sent the request and its header fields. */
export interface RequestEvent {
  session: SmpSession;
  /** Sequence number of the request (the answer carries the same). */
  seq: number;
  /** Operation of the request: 0 read, 2 write. */
  op: number;
  group: number;
  /** Command id within the group. */
  id: number;
}

/** Published on `mcumgr:request:start`. */
export interface RequestStartEvent extends RequestEvent {
  /** Bytes of the packet: 8-byte header plus CBOR payload. */
  bytes: number;
  /** The deadline of this attempt, in ms. */
  timeoutMs: number;
}

/** Published on `mcumgr:request:answer`, before a device error in the body is turned into an exception. */
export interface RequestAnswerEvent extends RequestEvent {
  response: SmpResponse;
}

/** Published on `mcumgr:request:timeout`. */
export interface RequestTimeoutEvent extends RequestEvent {
  timeoutMs: number;
}

/** Published on `mcumgr:request:error`. */
export interface RequestErrorEvent extends RequestEvent {
  error: Error;
}

/** @internal A channel whose `publish` takes one payload type. */
export interface TypedChannel<T> {
  readonly hasSubscribers: boolean;
  publish(message: T): void;
}

/** @internal The channels, for the session's publish calls. */
export const requestChannels = {
  start: diagnostics_channel.channel(REQUEST_CHANNELS.start) as TypedChannel<RequestStartEvent>,
  answer: diagnostics_channel.channel(REQUEST_CHANNELS.answer) as TypedChannel<RequestAnswerEvent>,
  timeout: diagnostics_channel.channel(REQUEST_CHANNELS.timeout) as TypedChannel<RequestTimeoutEvent>,
  error: diagnostics_channel.channel(REQUEST_CHANNELS.error) as TypedChannel<RequestErrorEvent>,
};

/** @internal Publishes `error` for a request that ends without answer or timeout (when subscribed). */
export function publishRequestError(session: SmpSession, p: { seq: number; group: number; id: number; rspOp: number }, error: Error): void {
  if (!requestChannels.error.hasSubscribers) return;
  requestChannels.error.publish({ session, seq: p.seq, op: p.rspOp - 1, group: p.group, id: p.id, error });
}
