/**
 * Server-sent events for the station page. A page that connects (or reconnects after a blip)
 * first gets the whole state as a `snapshot` event, then `update` events carrying only the rows
 * that changed. Updates go out at most once per interval however many device events arrive, so 64
 * boards reporting ten times a second do not flood a browser.
 *
 * Event ids are the state's change numbers. A reconnecting browser sends `Last-Event-ID`; it gets
 * a fresh snapshot anyway (a few KiB even for a full line), and since every row in an update is
 * the row's whole state, not a delta, an update the page had already seen changes nothing: no gap,
 * no double counting, and no backlog to keep per client.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RunState } from './model.js';

/** Bytes a slow client may leave unread before it is dropped (it reconnects and gets a snapshot). */
const MAX_BACKLOG = 1 << 20;
/** A comment line this often keeps proxies and idle-timeouts from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

/** The set of connected pages and the throttle in front of them. */
export class SseHub {
  readonly #clients = new Set<ServerResponse>();
  readonly #intervalMs: number;
  readonly #maxClients: number;
  #state: RunState;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #last = -Infinity;
  /** Messages written (to any client), for tests and benches. */
  sent = 0;

  constructor(state: RunState, intervalMs: number, maxClients: number) {
    this.#state = state;
    this.#intervalMs = intervalMs;
    this.#maxClients = maxClients;
  }

  /** Connected pages. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Starts an event stream on `res`; false (and nothing written) when the client limit is reached. */
  add(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.#clients.size >= this.#maxClients) return false;
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write('retry: 1000\n\n');
    this.#clients.add(res);
    const drop = (): void => {
      this.#clients.delete(res);
      if (this.#clients.size === 0 && this.#heartbeat) {
        clearInterval(this.#heartbeat);
        this.#heartbeat = undefined;
      }
    };
    req.on('close', drop);
    res.on('error', drop);
    this.#heartbeat ??= setInterval(() => this.#broadcast(': keep-alive\n\n'), HEARTBEAT_MS).unref();
    const snap = this.#state.snapshot();
    this.#write(res, `id: ${snap.seq}\nevent: snapshot\ndata: ${JSON.stringify(snap)}\n\n`);
    return true;
  }

  /** Replaces the state (a new run) and sends every page a snapshot of it. */
  reset(state: RunState): void {
    this.#state = state;
    state.takeUpdate(); // the snapshot below carries everything
    const snap = state.snapshot();
    this.#broadcast(`id: ${snap.seq}\nevent: snapshot\ndata: ${JSON.stringify(snap)}\n\n`);
  }

  /** Something changed: an update goes out at the end of the current interval (or now, when the last one is older). */
  changed(): void {
    if (this.#timer !== undefined) return;
    const wait = Math.max(0, this.#last + this.#intervalMs - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, wait);
    this.#timer.unref();
  }

  /** Sends the pending changes now. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#last = performance.now();
    const u = this.#state.takeUpdate();
    if (!u) return;
    this.#broadcast(`id: ${u.seq}\nevent: update\ndata: ${JSON.stringify(u)}\n\n`);
  }

  /** Ends every stream. */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#timer = this.#heartbeat = undefined;
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }

  #broadcast(text: string): void {
    for (const res of this.#clients) this.#write(res, text);
  }

  #write(res: ServerResponse, text: string): void {
    if (res.writableLength > MAX_BACKLOG) {
      this.#clients.delete(res);
      res.destroy();
      return;
    }
    res.write(text);
    this.sent++;
  }
}
