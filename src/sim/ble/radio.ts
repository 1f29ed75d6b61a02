/**
 * The simulated BLE radio between one central (the client's adapter) and one peripheral (the
 * {@link SmpGattServer}): connection events every `connIntervalMs`, each carrying up to
 * `packetsPerEvent` link-layer packets each way (one central packet, one peripheral packet per
 * exchange). Writes queue at the central and go in the first exchange after they were made;
 * notifications leave the device as its SMP thread hands them over. An event closes at the first
 * exchange where neither side has anything to send (the MD bit). The link layer is reliable: what
 * is lost is lost by injected faults or by a dropped link.
 *
 * Time is virtual (ms on `performance.now()`'s scale) and runs with the wall clock: an event is
 * processed once real time has reached it, so a late timer delays delivery but never changes
 * what the device does or when it thinks it happened.
 * @module
 */
import { createRng, type Rng } from '../rng.js';
import type { SimDeviceCore } from '../types.js';
import { llPackets, resolveBleLink, type BleLinkOptions, type ResolvedBleLink } from './options.js';
import { SmpGattServer, type SmpGattDrops } from './peripheral.js';

/** Counters of a {@link SimBleRadio}. */
export interface SimBleStats {
  /** Connection events that carried at least one packet. */
  events: number;
  /** Writes the device received. */
  writes: number;
  /** Bytes of those writes (ATT values). */
  bytesUp: number;
  /** Link-layer packets the central sent. */
  llUp: number;
  /** Notifications sent by the device (including lost ones). */
  notifications: number;
  /** Notifications lost by injected faults. */
  notificationsLost: number;
  /** Links dropped (faults, `dropLink()`, resets). */
  linkDrops: number;
  /** Device resets. */
  resets: number;
  /** Requests the core handled. */
  handled: number;
  /** Free net_bufs now. */
  netbufFree: number;
  drops: SmpGattDrops;
}

/** The central's side of a connection, as the adapter sees it. */
export interface RadioConnection {
  readonly mtu: number;
  /** Queues a write command; false when the link is down. */
  write(piece: Uint8Array): boolean;
  /** Ends the connection from the central's side. */
  disconnect(): void;
}

/** What the adapter gives the radio to reach it. */
export interface CentralHandlers {
  notification(piece: Uint8Array): void;
  disconnected(reason: string): void;
}

/** Options of a {@link SimBleRadio}. */
export interface SimBleRadioOptions extends BleLinkOptions {
  /** `MCUMGR_TRANSPORT_BT_REASSEMBLY`. Default true. */
  reassembly?: boolean;
}

interface Pdu {
  data: Uint8Array;
  at: number;
  left: number;
}

/** One simulated peripheral on the air, with its link model. */
export class SimBleRadio {
  readonly link: ResolvedBleLink;
  readonly server: SmpGattServer;
  readonly #rng: Rng;
  readonly #drop: Set<number>;
  readonly #stats = { events: 0, writes: 0, bytesUp: 0, llUp: 0, notifications: 0, notificationsLost: 0, linkDrops: 0, resets: 0 };
  #conn: { id: number; mtu: number; h: CentralHandlers; anchor: number; k: number } | undefined;
  #connId = 0;
  readonly #up: Pdu[] = [];
  #down: Pdu | undefined;
  #timer: NodeJS.Timeout | undefined;
  #resetAt: number | undefined;
  #advertiseAt = 0;
  #closed = false;
  #unref = false;

  constructor(core: SimDeviceCore, opts: SimBleRadioOptions = {}) {
    this.link = resolveBleLink(opts);
    this.#rng = createRng(this.link.faults.seed);
    this.#drop = new Set(this.link.faults.dropNotifications ?? []);
    this.server = new SmpGattServer(core, {
      netbufSize: core.limits.netbufSize,
      netbufCount: core.limits.netbufCount,
      reassembly: opts.reassembly ?? true,
      notifyDepth: this.link.notifyQueueDepth,
      onReset: (t) => {
        this.#resetAt = t;
        this.#arm();
      },
      onCoreError: (e) => process.emitWarning(`simulated BLE device: the core threw: ${String(e)}`),
    });
  }

  /** Whether the device advertises now (not connected, not booting). */
  get advertising(): boolean {
    return !this.#closed && this.#conn === undefined && performance.now() >= this.#advertiseAt;
  }

  /** Whether a central is connected. */
  get connected(): boolean {
    return this.#conn !== undefined;
  }

  /** Counters. */
  stats(): SimBleStats {
    return { ...this.#stats, handled: this.server.handled, netbufFree: this.server.netbufFree, drops: { ...this.server.drops } };
  }

  /** Connects a central asking for ATT MTU `askMtu`; resolves after `connectMs` with the link. */
  async connect(askMtu: number, h: CentralHandlers): Promise<RadioConnection> {
    if (this.#closed) throw new Error('the simulated BLE device is closed');
    if (!this.advertising) throw new Error('the simulated BLE device is not advertising (connected to another central, or booting)');
    const id = ++this.#connId;
    const mtu = Math.max(23, Math.min(askMtu, this.link.attMtu));
    // Taken at once, so a second central cannot connect while this one sets up.
    this.#conn = { id, mtu, h, anchor: performance.now() + this.link.connectMs, k: 0 };
    this.server.setMtu(mtu);
    await new Promise((r) => setTimeout(r, this.link.connectMs));
    if (this.#conn?.id !== id) throw new Error('the simulated BLE link dropped while connecting');
    return {
      mtu,
      write: (piece) => {
        if (this.#conn?.id !== id) return false;
        this.#up.push({ data: Uint8Array.from(piece), at: performance.now(), left: llPackets(piece.length + 3, this.link.llPayload) });
        this.#arm();
        return true;
      },
      disconnect: () => {
        if (this.#conn?.id === id) this.#lose('disconnected by the central', performance.now(), false);
      },
    };
  }

  /** Drops the link now, as a radio fault would (the central sees a supervision timeout). */
  dropLink(reason = 'supervision timeout'): void {
    if (this.#conn) this.#lose(reason, performance.now(), true);
  }

  /** Lets the process exit while the radio has work. */
  unref(): void {
    this.#unref = true;
    this.#timer?.unref();
  }

  /** Stops the radio; a connected central sees a disconnect. */
  close(): void {
    if (this.#closed) return;
    if (this.#conn) this.#lose('the simulated device was closed', performance.now(), false);
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #eventTime(k: number): number {
    return this.#conn!.anchor + k * this.link.connIntervalMs;
  }

  /** Sets the timer for the next thing that can happen, if anything can. */
  #arm(): void {
    if (this.#closed || this.#timer) return;
    let at: number | undefined;
    const c = this.#conn;
    if (c) {
      // Connection events happen every interval anyway; skip the ones with nothing to carry.
      let from: number | undefined;
      if (this.#down || this.server.sending) from = this.#eventTime(c.k);
      else if (this.#up.length > 0) from = this.#up[0]!.at;
      else from = this.server.nextWake();
      if (from !== undefined) {
        c.k = Math.max(c.k, Math.ceil((from - c.anchor) / this.link.connIntervalMs - 1e-9));
        at = this.#eventTime(c.k);
      }
    }
    if (this.#resetAt !== undefined) at = at === undefined ? this.#resetAt : Math.min(at, this.#resetAt);
    if (at === undefined) return;
    this.#timer = setTimeout(this.#tick, Math.max(0, at - performance.now()));
    if (this.#unref) this.#timer.unref();
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    for (;;) {
      const c = this.#conn;
      const next = c ? this.#eventTime(c.k) : Infinity;
      if (this.#resetAt !== undefined && this.#resetAt <= Math.min(next, now)) {
        this.#reset(this.#resetAt);
        continue;
      }
      if (!c || next > now || !this.#pending()) break;
      this.#event(next);
      if (this.#conn === c) c.k++;
    }
    this.#arm();
  };

  #pending(): boolean {
    return this.#up.length > 0 || this.#down !== undefined || this.server.sending || this.server.nextWake() !== undefined;
  }

  #event(t: number): void {
    const c = this.#conn!;
    const ex = this.link.connIntervalMs / this.link.packetsPerEvent;
    let used = 0;
    let acked = true;
    for (let i = 0; i < this.link.packetsPerEvent; i++) {
      const tx = t + i * ex;
      // The central's next packet acknowledges the last notification; the device's host learns
      // it (Number Of Completed Packets) and the SMP thread goes on, without waiting for the event's end.
      if (!acked) {
        this.server.eventEnd(tx);
        acked = true;
      }
      let sent = false;
      const up = this.#up[0];
      if (up && up.at <= tx) {
        sent = true;
        this.#stats.llUp++;
        if (--up.left === 0) {
          this.#up.shift();
          this.#stats.writes++;
          this.#stats.bytesUp += up.data.length;
          // The piece is whole once the central's packet has been received, mid-exchange.
          this.server.write(up.data, tx + ex / 2);
          const limit = this.link.faults.dropLinkAfterWrites;
          if (limit !== undefined && this.#stats.writes === limit) {
            this.#stats.events++;
            this.#lose(`link lost after ${limit} writes (injected)`, tx, true);
            return;
          }
        }
      }
      if (!this.#down) {
        const piece = this.server.takeNotification(tx);
        if (piece) this.#down = { data: piece, at: tx, left: llPackets(piece.length + 3, this.link.llPayload) };
      }
      if (this.#down) {
        sent = true;
        if (--this.#down.left === 0) {
          this.#notify(this.#down.data, c.h);
          this.#down = undefined;
          acked = false;
        }
      }
      if (!sent) break;
      used = i + 1;
      // The event goes on only while a side had more to send when it sent this packet (the MD bit).
      const up2 = this.#up[0];
      if (!(up2 && up2.at <= tx) && !this.#down && !this.server.notificationReady(tx)) break;
    }
    if (used > 0) this.#stats.events++;
    this.server.eventEnd(t + Math.max(1, used) * ex);
  }

  #notify(piece: Uint8Array, h: CentralHandlers): void {
    const n = ++this.#stats.notifications;
    const p = this.link.faults.notificationLoss ?? 0;
    if (this.#drop.has(n) || (p > 0 && this.#rng.chance(p))) {
      this.#stats.notificationsLost++;
      return;
    }
    const copy = Uint8Array.from(piece);
    // Delivered after the radio's own bookkeeping, as a host stack's event would be.
    setImmediate(() => h.notification(copy));
  }

  #lose(reason: string, t: number, count: boolean): void {
    const c = this.#conn;
    if (!c) return;
    this.#conn = undefined;
    if (count) this.#stats.linkDrops++;
    this.#up.length = 0;
    this.#down = undefined;
    this.server.disconnect(t);
    setImmediate(() => c.h.disconnected(reason));
  }

  #reset(t: number): void {
    this.#resetAt = undefined;
    this.#stats.resets++;
    if (this.#conn) this.#lose('the device reset', t, true);
    this.server.reboot(t);
    this.#advertiseAt = Math.max(performance.now(), t) + this.link.bootMs;
  }
}
