/**
 * The device side of SMP over GATT, as Zephyr's `smp_bt.c` and `smp_reassembly.c` do it, in
 * virtual time (ms). The radio (`radio.ts`) hands it each written piece at the time its
 * connection event carried it, and takes notifications from it.
 *
 * - Reassembly (`CONFIG_MCUMGR_TRANSPORT_BT_REASSEMBLY`): one context for all connections. The
 *   first piece must hold the 8-byte header; it takes a net_buf from the pool at once (none free:
 *   the write is refused, ATT "insufficient resources", which a write-without-response sender
 *   never learns); header length + 8 above NETBUF_SIZE, or a piece beyond the expected length,
 *   drops the piece (and the context). Without reassembly every write is one packet in its own
 *   net_buf.
 * - The SMP thread takes complete packets one at a time in arrival order: it takes a second
 *   net_buf for the answer (none: `rc` 2 in the request's buffer), works for the core's `busyMs`,
 *   then notifies the answer in pieces of ATT MTU − 3 bytes and **waits for each notification to
 *   complete** (`smp_notify_sem`) before the next piece, and only then frees both buffers and
 *   takes the next request. So a long answer goes one piece per connection event.
 * - A disconnect drops the reassembly context and the queued requests of the link
 *   (`smp_rx_remove_invalid`); an answer being sent is abandoned.
 * @module
 */
import type { DeviceStep, SimDeviceCore } from '../types.js';
import { enomemResponse } from '../link/enomem.js';

/** Options of a {@link SmpGattServer}. */
export interface SmpGattServerOptions {
  /** `MCUMGR_TRANSPORT_NETBUF_SIZE`. */
  netbufSize: number;
  /** `MCUMGR_TRANSPORT_NETBUF_COUNT`. */
  netbufCount: number;
  /** `MCUMGR_TRANSPORT_BT_REASSEMBLY`. */
  reassembly: boolean;
  /** Notification pieces the stack takes before the SMP thread waits for completion. Zephyr's smp_bt: 1. */
  notifyDepth: number;
  /** Called when the core asks for a reboot (`os reset`), at virtual time `t`. */
  onReset(t: number): void;
  /** Called when the core throws (the request is then lost). */
  onCoreError(err: unknown): void;
}

/** What the server dropped, by reason. */
export interface SmpGattDrops {
  /** First pieces shorter than the header. */
  shortStart: number;
  /** Packets larger than NETBUF_SIZE. */
  oversize: number;
  /** Pieces beyond the length the header announced (the context is dropped). */
  overflow: number;
  /** Writes refused because the net_buf pool was empty. */
  netbufExhausted: number;
  /** Answers with ENOMEM because no buffer was free for the response. */
  enomem: number;
  /** Requests discarded by a disconnect (queued or half reassembled). */
  disconnect: number;
}

interface Queued {
  packet: Buffer;
  at: number;
}

type Thread =
  | { s: 'idle'; freeAt: number }
  | { s: 'busy'; until: number; bufs: number; pieces: Uint8Array[]; resetAfterMs: number | undefined }
  | { s: 'sending'; bufs: number; pieces: Uint8Array[]; inFlight: number; ready: number; resetAfterMs: number | undefined };

/** Zephyr's SMP GATT server in front of a protocol core. */
export class SmpGattServer {
  readonly core: SimDeviceCore;
  readonly drops: SmpGattDrops = { shortStart: 0, oversize: 0, overflow: 0, netbufExhausted: 0, enomem: 0, disconnect: 0 };
  /** Requests handled by the core. */
  handled = 0;
  readonly #o: SmpGattServerOptions;
  #mtu = 23;
  #free: number;
  #ctx: { buf: Buffer; have: number } | undefined;
  readonly #queue: Queued[] = [];
  #thread: Thread = { s: 'idle', freeAt: 0 };

  constructor(core: SimDeviceCore, opts: SmpGattServerOptions) {
    this.core = core;
    this.#o = opts;
    this.#free = opts.netbufCount;
  }

  /** Free net_bufs now. */
  get netbufFree(): number {
    return this.#free;
  }

  /** Sets the ATT MTU of the current link (answers are cut at MTU − 3). */
  setMtu(mtu: number): void {
    this.#mtu = mtu;
  }

  /** A write command arrived at virtual time `t`. */
  write(piece: Uint8Array, t: number): void {
    if (!this.#o.reassembly) {
      if (piece.length > this.#o.netbufSize) this.drops.oversize++;
      else if (!this.#take()) this.drops.netbufExhausted++;
      else this.#queue.push({ packet: Buffer.from(piece), at: t });
      this.advance(t);
      return;
    }
    if (!this.#ctx) {
      if (piece.length < 8) {
        this.drops.shortStart++;
        return;
      }
      const expected = 8 + ((piece[2]! << 8) | piece[3]!);
      if (expected > this.#o.netbufSize || piece.length > this.#o.netbufSize) {
        this.drops.oversize++;
        return;
      }
      if (piece.length > expected) {
        this.drops.overflow++;
        return;
      }
      if (!this.#take()) {
        this.drops.netbufExhausted++;
        return;
      }
      this.#ctx = { buf: Buffer.alloc(expected), have: 0 };
    }
    const ctx = this.#ctx;
    if (piece.length > ctx.buf.length - ctx.have) {
      this.drops.overflow++;
      this.#ctx = undefined;
      this.#free++;
      return;
    }
    ctx.buf.set(piece, ctx.have);
    ctx.have += piece.length;
    if (ctx.have === ctx.buf.length) {
      this.#ctx = undefined;
      this.#queue.push({ packet: ctx.buf, at: t });
    }
    this.advance(t);
  }

  /** Runs the SMP thread up to virtual time `t`. */
  advance(t: number): void {
    for (;;) {
      const th = this.#thread;
      if (th.s === 'idle') {
        const next = this.#queue[0];
        if (!next) return;
        const start = Math.max(th.freeAt, next.at);
        if (start > t) return;
        this.#queue.shift();
        this.#begin(next.packet, start);
      } else if (th.s === 'busy') {
        if (th.until > t) return;
        if (th.pieces.length === 0) this.#finish(th.until, th.bufs, th.resetAfterMs);
        else this.#thread = { s: 'sending', bufs: th.bufs, pieces: th.pieces, inFlight: 0, ready: th.until, resetAfterMs: th.resetAfterMs };
      } else return;
    }
  }

  /** When the thread next changes state on its own (busy work ending), if it will. */
  nextWake(): number | undefined {
    const th = this.#thread;
    if (th.s === 'busy') return th.until;
    if (th.s === 'idle' && this.#queue.length > 0) return Math.max(th.freeAt, this.#queue[0]!.at);
    return undefined;
  }

  /** Whether the SMP thread has an answer to notify. */
  get sending(): boolean {
    return this.#thread.s === 'sending';
  }

  /** Whether anything is queued, being handled or being sent. */
  get active(): boolean {
    return this.#thread.s !== 'idle' || this.#queue.length > 0 || this.#ctx !== undefined;
  }

  /** Whether a notification piece is queued in the stack at `t`. */
  notificationReady(t: number): boolean {
    const th = this.#thread;
    return th.s === 'sending' && th.ready <= t && th.inFlight < this.#o.notifyDepth && th.inFlight < th.pieces.length;
  }

  /** The next notification piece the stack may send at `t`, if any (it counts as in flight). */
  takeNotification(t: number): Uint8Array | undefined {
    this.advance(t);
    const th = this.#thread;
    if (th.s !== 'sending' || th.ready > t || th.inFlight >= this.#o.notifyDepth || th.inFlight >= th.pieces.length) return undefined;
    return th.pieces[th.inFlight++];
  }

  /** The in-flight pieces are acknowledged at `t` (next exchange, or the event's end): their sends complete. */
  eventEnd(t: number): void {
    const th = this.#thread;
    if (th.s === 'sending' && th.inFlight > 0) {
      th.pieces.splice(0, th.inFlight);
      th.inFlight = 0;
      th.ready = t;
      if (th.pieces.length === 0) this.#finish(t, th.bufs, th.resetAfterMs);
    }
    this.advance(t);
  }

  /** The link dropped at `t`. */
  disconnect(t: number): void {
    if (this.#ctx) {
      this.#ctx = undefined;
      this.#free++;
      this.drops.disconnect++;
    }
    this.drops.disconnect += this.#queue.length;
    this.#free += this.#queue.length;
    this.#queue.length = 0;
    const th = this.#thread;
    // The answer being sent is dropped (its connection is gone); work under way finishes first.
    if (th.s === 'sending') this.#finish(t, th.bufs, th.resetAfterMs);
    else if (th.s === 'busy') th.pieces = [];
  }

  /** Power cycle: every buffer back, nothing in progress. */
  reboot(t: number): void {
    this.#ctx = undefined;
    this.#queue.length = 0;
    this.#free = this.#o.netbufCount;
    this.#thread = { s: 'idle', freeAt: t };
    this.core.reboot();
  }

  #take(): boolean {
    if (this.#free === 0) return false;
    this.#free--;
    return true;
  }

  #begin(packet: Buffer, t: number): void {
    let step: DeviceStep;
    let bufs = 1;
    if (this.#take()) {
      bufs = 2;
      try {
        step = this.core.handle(packet, 'ble');
        this.handled++;
      } catch (e) {
        this.#o.onCoreError(e);
        step = { responses: [], busyMs: 0 };
      }
    } else {
      this.drops.enomem++;
      const r = enomemResponse(packet);
      step = { responses: r ? [r] : [], busyMs: 0 };
    }
    const size = this.#mtu - 3;
    const pieces: Uint8Array[] = [];
    for (const r of step.responses) for (let off = 0; off < r.length; off += size) pieces.push(r.subarray(off, Math.min(r.length, off + size)));
    this.#thread = { s: 'busy', until: t + step.busyMs, bufs, pieces, resetAfterMs: step.resetAfterMs };
  }

  #finish(t: number, bufs: number, resetAfterMs: number | undefined): void {
    this.#free += bufs;
    this.#thread = { s: 'idle', freeAt: t };
    if (resetAfterMs !== undefined) this.#o.onReset(t + resetAfterMs);
  }
}
