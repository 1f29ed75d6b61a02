/**
 * The SMP session: sequence numbers, the in-flight table, response matching, deadlines,
 * cancellation, retries of idempotent reads, and device errors turned into typed errors.
 *
 * Several requests may be in flight at once (the transfer engine keeps a window of them).
 * A sequence number is never reused while its request is in flight; numbers advance
 * monotonically (8-bit wrap, random start), so a late answer to a timed-out request cannot
 * be taken for the answer to a new one until 256 requests later, and even then it must also
 * match the group and command.
 * @module
 */
import { decodeHeader, Op, SMP_HEADER_SIZE, type SmpHeader } from './codec/header.js';
import { decodeCborMap, type CborMap } from './codec/cbor.js';
import { packetParts, setSeq } from './codec/packet.js';
import type { Transport } from './transport/transport.js';
import { rethrowApart } from './transport/emitter.js';
import {
  AbortError,
  SmpClosedError,
  SmpFrameError,
  SmpFrameSizeError,
  SmpTimeoutError,
} from './errors.js';
import { abortErrorFrom, checkTimeout, checkVersion, throwIfDeviceError } from './session-checks.js';
import { publishRequestError, requestChannels } from './session-diagnostics.js';
import { InFlightTable } from './session-table.js';
import { DeadlineTimer } from './session-deadlines.js';
import type { PreparedRequest, ResponseSink, SessionOptions, SessionStats, SmpResponse, SmpVersion, RequestOptions } from './session-types.js';

export type { SmpVersion, SessionOptions, RequestOptions, SmpResponse, ResponseSink, SessionStats, PreparedRequest } from './session-types.js';

/**
 * One request awaiting its answer. Its abort listener is this object (no closure per request:
 * this is the hot path of every upload chunk); its deadline is watched by the session's one timer.
 */
class Pending {
  /** When it times out (performance.now() scale). */
  deadline = 0;
  constructor(
    readonly session: SmpSession,
    readonly seq: number,
    readonly group: number,
    readonly id: number,
    readonly rspOp: number,
    readonly timeoutMs: number,
    readonly signal: AbortSignal | undefined,
    readonly sink: ResponseSink,
  ) {}

  cleanup(): void {
    this.signal?.removeEventListener('abort', this);
  }

  /** Hands the answer to the sink; a sink that throws cannot stop the session's own loops. */
  answer(rsp: SmpResponse): void {
    try {
      this.sink.answer(rsp);
    } catch (e) {
      rethrowApart(e);
    }
  }

  /** Hands the error to the sink, as {@link answer} does. */
  fail(err: Error): void {
    try {
      this.sink.fail(err);
    } catch (e) {
      rethrowApart(e);
    }
  }

  /** The abort listener (EventTarget calls `handleEvent` of an object listener). */
  handleEvent(): void {
    settle(this, abortErrorFrom(this.signal!));
  }
}

/** Ends a request with an error if it is still in flight; set by SmpSession (it owns the table). */
let settle: (p: Pending, err: Error) => void;

const DEFAULT_TIMEOUT_MS = 5000;
/** The header fields of the request being built (one object for all: packetParts reads it at once). */
const HEADER = { op: 0, version: 1, flags: 0, group: 0, seq: 0, id: 0 };
/** Upper bound on requests in flight, well below 256 so numbers are never exhausted. */
export const MAX_IN_FLIGHT = 128;

/** One SMP conversation over a {@link Transport}. */
export class SmpSession {
  readonly transport: Transport;
  version: SmpVersion;
  timeoutMs: number;
  maxPacket: number | undefined;
  #seq: number;
  readonly #inFlight = new InFlightTable<Pending>();
  readonly #deadlines = new DeadlineTimer((now) => this.#expire(now));
  #closed = false;
  readonly #stats: SessionStats = { sent: 0, received: 0, unmatched: 0, malformed: 0, timeouts: 0, retries: 0 };
  readonly #unsubscribe: Array<() => void>;

  constructor(transport: Transport, opts: SessionOptions = {}) {
    this.transport = transport;
    this.version = checkVersion(opts.version ?? 1);
    this.timeoutMs = checkTimeout('timeoutMs', opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.maxPacket = opts.maxPacket;
    this.#seq = opts.seqStart ?? Math.floor(Math.random() * 256);
    if (!Number.isInteger(this.#seq) || this.#seq < 0 || this.#seq > 255) {
      throw new RangeError(`seqStart must be an integer 0..255, got ${opts.seqStart}`);
    }
    this.#unsubscribe = [
      transport.on('packet', (p) => this.#onPacket(p)),
      transport.on('error', (e) => this.#failAll(e)),
      transport.on('close', () => this.#failAll(new SmpClosedError('the transport closed'))),
    ];
  }

  /** Number of requests awaiting an answer. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** A snapshot of the counters. */
  stats(): SessionStats {
    return { ...this.#stats };
  }

  /**
   * Sends a request and resolves with the device's answer.
   *
   * @param op `Op.READ` or `Op.WRITE`.
   * @param body A map to encode as CBOR, or the encoded payload itself.
   * @throws SmpDeviceError when the device answers with `rc` ≠ 0 or an `err` map.
   * @throws SmpTimeoutError, AbortError, SmpClosedError, SmpFrameSizeError.
   * @example
   * const { body } = await session.request(Op.READ, 0, 0, { d: 'hi' }); // body.r === 'hi'
   */
  request(op: number, group: number, id: number, body: CborMap | Uint8Array = {}, opts: RequestOptions = {}): Promise<SmpResponse> {
    // Not an async function: an upload chunk (no retries, raw errors) costs one promise, the
    // answer's own. Bad arguments still reject rather than throw.
    let parts: Buffer[];
    let timeoutMs: number;
    let retries: number;
    try {
      retries = opts.retries ?? 0;
      if (!Number.isInteger(retries) || retries < 0) throw new RangeError(`retries must be a non-negative integer, got ${retries}`);
      if (retries > 0 && op !== Op.READ) {
        throw new RangeError('retries are only allowed for READ requests: a write is never replayed silently');
      }
      timeoutMs = checkTimeout('timeoutMs', opts.timeoutMs ?? this.timeoutMs);
      parts = this.#packet(op, group, id, body);
    } catch (e) {
      return Promise.reject(e);
    }
    if (retries > 0) return this.#requestWithRetries(op, group, id, parts, timeoutMs, retries, opts);
    const sent = this.#send(op, group, id, parts, timeoutMs, opts.signal);
    if (opts.rawErrors) return sent;
    return sent.then((rsp) => {
      throwIfDeviceError(rsp, group, id);
      return rsp;
    });
  }

  /**
   * Sends a request and hands its raw answer, or the error that ended it, to `sink`: the upload
   * engine's path, with no promise per chunk. Bad arguments throw here, before anything is sent.
   */
  sendTo(op: number, group: number, id: number, body: CborMap | Uint8Array, timeoutMs: number | undefined, signal: AbortSignal | undefined, sink: ResponseSink): void {
    const parts = this.#packet(op, group, id, body);
    this.#dispatch(sink, op, group, id, parts, checkTimeout('timeoutMs', timeoutMs ?? this.timeoutMs), signal);
  }

  /**
   * Builds a request into `req` now, to send later with {@link SmpSession.sendPrepared}: the
   * packet with the sequence number the session expects to use next, and its frame when the
   * transport frames ahead. Throws on bad input, as {@link SmpSession.sendTo} does.
   * @example
   * // An upload builds chunk k + 1 while the device writes chunk k:
   * const req: PreparedRequest = { parts: undefined, seq: 0, frame: undefined, op: 0, group: 0, id: 0 };
   * session.prepare(req, Op.WRITE, 1, 1, { off, data });
   * // …the answer to chunk k comes:
   * session.sendPrepared(req, undefined, undefined, { answer: onAnswer, fail: onError });
   */
  prepare(req: PreparedRequest, op: number, group: number, id: number, body: CborMap | Uint8Array): void {
    req.parts = undefined;
    req.frame = undefined;
    const parts = this.#packet(op, group, id, body);
    const seq = this.#freeSeq();
    setSeq(parts[0]!, seq);
    const t = this.transport;
    req.frame = t.frameAhead && t.sendFrame ? t.frameAhead(parts) : undefined;
    req.parts = parts;
    req.seq = seq;
    req.op = op;
    req.group = group;
    req.id = id;
  }

  /**
   * Sends a request built by {@link SmpSession.prepare}, once, and hands its outcome to `sink`
   * as {@link SmpSession.sendTo} does. When another request took the sequence number in the
   * meantime, the packet gets the next one and is framed again.
   * @throws TypeError when `req` was not prepared or was sent already; SmpFrameSizeError when the
   *   frame size was lowered below the packet since it was prepared.
   */
  sendPrepared(req: PreparedRequest, timeoutMs: number | undefined, signal: AbortSignal | undefined, sink: ResponseSink): void {
    const parts = req.parts;
    if (parts === undefined) throw new TypeError('sendPrepared(req): req was not prepared, or was sent already');
    const frame = req.frame;
    req.parts = undefined;
    req.frame = undefined;
    this.#checkSize(parts, req.group, req.id); // the frame size may have been lowered since
    this.#dispatch(sink, req.op, req.group, req.id, parts, checkTimeout('timeoutMs', timeoutMs ?? this.timeoutMs), signal, frame, req.seq);
  }

  /** Checks the request's address and builds its packet, as pieces; throws on bad input. */
  #packet(op: number, group: number, id: number, body: CborMap | Uint8Array): Buffer[] {
    if (op !== Op.READ && op !== Op.WRITE) throw new RangeError(`op must be Op.READ (0) or Op.WRITE (2), got ${op}`);
    if (!Number.isInteger(group) || group < 0 || group > 0xffff) throw new RangeError(`group must be 0..65535, got ${group}`);
    if (!Number.isInteger(id) || id < 0 || id > 0xff) throw new RangeError(`command id must be 0..255, got ${id}`);
    // Built once as pieces (large byte strings by reference); each send writes its sequence number
    // into the header in place.
    const h = HEADER;
    h.op = op;
    h.version = this.version;
    h.group = group;
    h.id = id;
    const parts = packetParts(h, body); // reads the header at once, keeps nothing of it
    this.#checkSize(parts, group, id);
    return parts;
  }

  /** Throws when the packet made of `parts` exceeds the frame size. */
  #checkSize(parts: Buffer[], group: number, id: number): void {
    if (this.maxPacket === undefined) return;
    let size = 0;
    for (let i = 0; i < parts.length; i++) size += parts[i]!.length;
    if (size > this.maxPacket) {
      throw new SmpFrameSizeError(
        `request of ${size} bytes (group ${group} command ${id}) exceeds the frame size ${this.maxPacket}; ` +
          'raise it with setFrameSize() if the device accepts more, or send less data',
      );
    }
  }

  async #requestWithRetries(op: number, group: number, id: number, parts: Buffer[], timeoutMs: number, retries: number, opts: RequestOptions): Promise<SmpResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        // A retry gets a header of its own: the previous one may still sit in a write queue.
        if (attempt > 0) parts[0] = Buffer.from(parts[0]!);
        const rsp = await this.#send(op, group, id, parts, timeoutMs, opts.signal);
        if (!opts.rawErrors) throwIfDeviceError(rsp, group, id);
        return rsp;
      } catch (e) {
        if (e instanceof SmpTimeoutError && attempt < retries) {
          this.#stats.retries++;
          continue;
        }
        throw e;
      }
    }
  }

  /** The number the next request gets: the first from the counter that is not in flight. */
  #freeSeq(): number {
    let s = this.#seq;
    for (let i = 0; i < 256; i++, s = (s + 1) & 0xff) if (!this.#inFlight.has(s)) return s;
    throw new Error('unreachable: more than 255 requests in flight');
  }

  #nextSeq(): number {
    const s = this.#freeSeq();
    this.#seq = (s + 1) & 0xff;
    return s;
  }

  #send(op: number, group: number, id: number, parts: Buffer[], timeoutMs: number, signal?: AbortSignal): Promise<SmpResponse> {
    return new Promise<SmpResponse>((resolve, reject) => this.#dispatch({ answer: resolve, fail: reject }, op, group, id, parts, timeoutMs, signal));
  }

  /** Sends `parts` (or `frame`, made ahead for sequence number `frameSeq`) and tracks the answer for `sink`. */
  #dispatch(
    sink: ResponseSink,
    op: number,
    group: number,
    id: number,
    parts: Buffer[],
    timeoutMs: number,
    signal: AbortSignal | undefined,
    frame?: readonly Uint8Array[],
    frameSeq?: number,
  ): void {
    let refused: Error | undefined;
    if (this.#closed) refused = new SmpClosedError();
    else if (signal?.aborted) refused = abortErrorFrom(signal);
    else if (this.#inFlight.size >= MAX_IN_FLIGHT) {
      refused = new RangeError(`more than ${MAX_IN_FLIGHT} requests in flight; wait for answers before sending more`);
    }
    if (refused) {
      const err = refused;
      queueMicrotask(() => sink.fail(err)); // never before the caller has its own bookkeeping done
      return;
    }
    const seq = this.#nextSeq();
    if (seq !== frameSeq) {
      setSeq(parts[0]!, seq);
      frame = undefined; // made for another number: framed again below
    }
    const p = new Pending(this, seq, group, id, op + 1, timeoutMs, signal, sink);
    signal?.addEventListener('abort', p, { once: true });
    this.#inFlight.set(seq, p);
    const now = performance.now();
    p.deadline = now + timeoutMs;
    this.#deadlines.arm(p.deadline, now);
    this.#stats.sent++;
    if (requestChannels.start.hasSubscribers) {
      const bytes = parts.reduce((n, b) => n + b.length, 0);
      requestChannels.start.publish({ session: this, seq, op, group, id, bytes, timeoutMs });
    }
    const t = this.transport;
    if (t.sendPartsNow) {
      try {
        if (frame !== undefined) t.sendFrame!(frame);
        else t.sendPartsNow(parts);
      } catch (e) {
        queueMicrotask(() => this.#settle(p, e as Error)); // as a rejected send would: after the caller's bookkeeping
      }
      return;
    }
    const sent = t.sendParts ? t.sendParts(parts) : t.send(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    sent.catch((e: Error) => this.#settle(p, e));
  }

  /**
   * Ends every request due by `now` (a millisecond early is on time); returns the next deadline,
   * read after the sinks ran (one may have closed the session or ended other requests).
   */
  #expire(now: number): number {
    const due: Pending[] = [];
    this.#inFlight.forEach((p) => {
      if (p.deadline <= now + 1) due.push(p);
    });
    for (const p of due) SmpSession.#onTimeout(p);
    let next = Infinity;
    this.#inFlight.forEach((p) => {
      if (p.deadline < next) next = p.deadline;
    });
    return next;
  }

  static #onTimeout(p: Pending): void {
    const self = p.session;
    if (self.#inFlight.get(p.seq) !== p) return;
    self.#stats.timeouts++;
    if (requestChannels.timeout.hasSubscribers) {
      requestChannels.timeout.publish({ session: self, seq: p.seq, op: p.rspOp - 1, group: p.group, id: p.id, timeoutMs: p.timeoutMs });
    }
    self.#settle(p, new SmpTimeoutError(`no answer to group ${p.group} command ${p.id} (seq ${p.seq}) within ${p.timeoutMs} ms`, p.timeoutMs));
  }

  static {
    settle = (p, err) => p.session.#settle(p, err);
  }

  /** Ends `p` with `err` if it is still in flight (abort, timeout, a failed send). */
  #settle(p: Pending, err: Error): void {
    if (this.#inFlight.get(p.seq) !== p) return;
    this.#inFlight.delete(p.seq);
    if (this.#inFlight.size === 0) this.#deadlines.idle();
    p.cleanup();
    if (!(err instanceof SmpTimeoutError)) publishRequestError(this, p, err);
    p.fail(err);
  }

  #onPacket(packet: Buffer): void {
    if (packet.length < SMP_HEADER_SIZE) {
      this.#stats.malformed++;
      return;
    }
    const h = decodeHeader(packet);
    if (h.length !== packet.length - SMP_HEADER_SIZE || (h.op !== Op.READ_RSP && h.op !== Op.WRITE_RSP)) {
      this.#stats.malformed++;
      return;
    }
    const p = this.#inFlight.get(h.seq);
    if (!p || p.group !== h.group || p.id !== h.id || p.rspOp !== h.op) {
      this.#stats.unmatched++;
      return;
    }
    this.#inFlight.delete(h.seq);
    p.cleanup();
    this.#stats.received++;
    const payload = packet.subarray(SMP_HEADER_SIZE);
    let body: CborMap;
    try {
      // MCUboot and old devices may answer with an empty payload; treat it as an empty map.
      body = payload.length === 0 ? {} : decodeCborMap(payload);
    } catch (e) {
      const err = e instanceof SmpFrameError ? e : new SmpFrameError(String(e));
      publishRequestError(this, p, err);
      p.fail(err);
      this.#idleWhenEmpty();
      return;
    }
    // A transport that may reuse its receive buffer gets the payload copied: the answer is the caller's to keep.
    const response: SmpResponse = { header: h, payload: this.transport.ownPackets ? payload : Buffer.from(payload), body };
    if (requestChannels.answer.hasSubscribers) {
      requestChannels.answer.publish({ session: this, seq: p.seq, op: p.rspOp - 1, group: p.group, id: p.id, response });
    }
    p.answer(response);
    this.#idleWhenEmpty();
  }

  /**
   * Lets the deadline timer stop holding the process when nothing is in flight: checked after the
   * sink ran, since an upload sends its next chunk from there (no unref and ref per chunk).
   */
  #idleWhenEmpty(): void {
    if (this.#inFlight.size === 0) this.#deadlines.idle();
  }

  #failAll(err: Error): void {
    this.#deadlines.stop();
    for (const p of this.#inFlight.drain()) {
      p.cleanup();
      publishRequestError(this, p, err);
      p.fail(err);
    }
    if (err instanceof SmpClosedError) this.#closed = true;
  }

  /** Rejects everything in flight and detaches from the transport (the transport stays open). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const u of this.#unsubscribe) u();
    this.#failAll(new SmpClosedError());
  }
}

export { throwIfDeviceError } from './session-checks.js';
