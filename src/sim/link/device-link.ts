/**
 * The link model of one simulated device: what the host sends goes through the wire model
 * (`uart.ts`), a receiver (`console-rx.ts`, `raw-rx.ts`, `cobs-rx.ts`, or whole packets here) and
 * reaches the SMP thread (Zephyr) or the serial-recovery loop (MCUboot), which call the core and
 * write its answers back through the wire. See `index.ts` for what is modelled.
 * @module
 */
import type { DeviceLimits, DeviceStep, SimDeviceCore } from '../types.js';
import { FaultInjector, type FaultLogEntry, type UnitStyle } from '../faults.js';
import type { LinkMode, LinkOptions, LinkStats } from './types.js';
import { resolveLimits, resolveLinkOptions, type ResolvedLink } from './options.js';
import { DeviceState, type Request, type RxHost } from './state.js';
import { Scheduler } from './scheduler.js';
import { Uart } from './uart.js';
import { UnitSplitter, SPLIT_STALL_MS } from './splitter.js';
import { ConsoleReceiver } from './console-rx.js';
import { RawReceiver } from './raw-rx.js';
import { CobsReceiver } from './cobs-rx.js';
import { enomemResponse } from './enomem.js';
import { wireUnits } from './wire-units.js';

/**
 * The link model of one simulated device: feed it what the host sends ({@link receiveBytes} or
 * {@link receivePacket}); it calls the core at the right virtual times and hands the device's
 * output to `onOutput` when real time reaches it.
 */
export class DeviceLink {
  /** The protocol core behind this link. */
  readonly core: SimDeviceCore;
  /** What the link carries. */
  readonly mode: LinkMode;
  /** Transport name passed to the core. */
  readonly via: string;
  /** The fault injector (settings, counters, log). */
  readonly faults: FaultInjector;

  readonly #o: ResolvedLink;
  readonly #opts: LinkOptions;
  readonly #clock: () => number;
  readonly #t0: number;
  readonly #st: DeviceState;
  readonly #sched: Scheduler;
  readonly #uart: Uart;
  readonly #splitter: UnitSplitter | undefined;
  #splitTimer: NodeJS.Timeout | undefined;
  readonly #console: ConsoleReceiver;
  readonly #raw: RawReceiver;
  readonly #cobs: CobsReceiver | undefined;
  #bootUntil = -Infinity;
  #bytesIn = 0;
  readonly #resetBytes: number[];

  /** Builds the link; it starts its clock now. */
  constructor(core: SimDeviceCore, opts: LinkOptions) {
    const o = resolveLinkOptions(core, opts);
    this.#o = o;
    this.#opts = opts;
    this.core = core;
    this.mode = o.mode;
    this.via = o.via;
    this.#clock = opts.clock ?? (() => performance.now());
    this.#t0 = this.#clock();
    this.#st = new DeviceState(o.limits, o.model);

    this.faults = new FaultInjector(opts.faults, opts.seed ?? Math.floor(Math.random() * 0x100000000), () => this.#clock() - this.#t0);
    const slow = this.faults.config.slowBytesPerSec;
    this.#uart = new Uart(
      {
        rxByteMs: o.rxByteMs,
        txByteMs: slow !== undefined ? 1000 / slow : o.rxByteMs,
        oneByOne: slow !== undefined,
        latIn: o.latIn,
        latOut: o.latOut,
        packets: this.mode === 'packet',
      },
      this.#t0,
      this.#st.stats,
      opts.onOutput,
    );
    this.#sched = new Scheduler(this.#clock, {
      gen: () => this.#st.gen,
      nextInput: () => this.#uart.nextInput(),
      takeInput: (t) => this.#byte(this.#uart.takeInput(), t),
      nextOutput: () => this.#uart.nextOutput(),
      flush: (now) => this.#uart.flush(now),
    });
    this.#resetBytes = [...this.faults.config.resetAfterBytes];
    for (const ms of this.faults.config.resetAt) {
      this.#sched.schedule(this.#t0 + ms, null, (t) => this.#reboot(t, `resetAt ${ms} ms`, true));
    }

    const host: RxHost = {
      st: this.#st,
      schedule: (t, gen, run) => this.#sched.schedule(t, gen, run),
      enqueue: (req, t) => this.#enqueue(req, t),
      loopKick: (t) => this.#loopKick(t),
    };
    this.#console = new ConsoleReceiver(host, o.decodeMs, this.#t0);
    this.#raw = new RawReceiver(host, o.rawTimeoutMs);
    this.#cobs = this.mode === 'cobs' ? new CobsReceiver(host) : undefined;
    this.#splitter = this.mode !== 'packet' && this.faults.active('toDevice') ? new UnitSplitter(this.mode) : undefined;
  }

  /** The buffer limits in force (the core's, with overrides); a board may change them at a reboot. */
  get limits(): Readonly<DeviceLimits> {
    return this.#st.limits;
  }

  /** Processing model: MCUboot's loop or Zephyr's SMP thread (follows the core across reboots). */
  get model(): 'zephyr' | 'mcuboot' {
    return this.#st.model;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#sched.closed;
  }

  /** Milliseconds since the link started. */
  elapsed(): number {
    return this.#clock() - this.#t0;
  }

  /** Bytes the host wrote to the serial line (serial modes). */
  receiveBytes(chunk: Uint8Array): void {
    if (this.closed || chunk.length === 0) return;
    if (this.mode === 'packet') throw new Error('receiveBytes() is for serial links; use receivePacket()');
    const r = this.#clock();
    const splitter = this.#splitter;
    if (splitter) {
      for (const unit of splitter.push(chunk)) {
        for (const piece of this.faults.apply('toDevice', unit, this.mode === 'console' ? 'line' : this.mode)) this.#uart.toWire(piece, r);
      }
      if (this.#splitTimer) clearTimeout(this.#splitTimer);
      this.#splitTimer = undefined;
      if (splitter.pending > 0) {
        this.#splitTimer = setTimeout(() => {
          this.#splitTimer = undefined;
          if (this.closed) return;
          const rest = splitter.takePartial();
          if (rest.length) this.#uart.toWire(rest, this.#clock());
          this.#sched.arm();
        }, SPLIT_STALL_MS);
        if (this.#sched.unrefd) this.#splitTimer.unref();
      }
    } else {
      this.#uart.toWire(Buffer.from(chunk), r);
    }
    this.#sched.arm();
  }

  /** One packet (datagram, in-memory message) from the host; `from` is passed back with the answers. */
  receivePacket(packet: Uint8Array, from?: unknown): void {
    if (this.closed) return;
    if (this.mode !== 'packet') throw new Error('receivePacket() is for packet links; use receiveBytes()');
    const r = this.#clock();
    for (const piece of this.faults.apply('toDevice', Buffer.from(packet), this.#packetStyle)) {
      const end = this.#uart.packetArrival(piece.length, r);
      this.#sched.schedule(end, null, (t) => this.#packetArrived(piece, from, t));
    }
    this.#sched.arm();
  }

  /** Resets the device now, as a power cycle (counted with the scheduled resets). */
  resetNow(reason = 'resetNow()'): void {
    if (this.closed) return;
    this.#sched.schedule(this.#clock(), null, (t) => this.#reboot(t, reason, true));
    this.#sched.arm();
  }

  /** Lets the process exit while the link has pending timers. */
  unref(): void {
    this.#sched.unref();
    this.#splitTimer?.unref();
  }

  /** Stops the link: pending input and output are dropped, no more calls to the core or to `onOutput`. */
  close(): void {
    if (this.closed) return;
    this.#sched.close();
    if (this.#splitTimer) clearTimeout(this.#splitTimer);
    this.#uart.clear();
  }

  /** A snapshot of the counters. */
  stats(): LinkStats {
    this.#cobs?.sync();
    return this.#st.snapshot({ seed: this.faults.seed, uptimeMs: this.elapsed(), faults: this.faults.stats() });
  }

  /** The log of injected faults (oldest first). */
  faultLog(): FaultLogEntry[] {
    return this.faults.log();
  }

  /** UDP datagrams are checksummed by the network stack (damaged ones vanish); in-memory packets are not. */
  get #packetStyle(): UnitStyle {
    return this.via === 'udp' ? 'datagram' : 'packet';
  }

  // ---------------------------------------------------------------- receive side

  #booting(t: number): boolean {
    return t < this.#bootUntil;
  }

  /** Counts received bytes; true when a `resetAfterBytes` threshold was crossed (the device resets at `t`). */
  #countIn(n: number, t: number): boolean {
    this.#bytesIn += n;
    this.#st.stats.bytesToDevice += n;
    const next = this.#resetBytes[0];
    if (next !== undefined && this.#bytesIn >= next) {
      while (this.#resetBytes.length && this.#bytesIn >= this.#resetBytes[0]!) this.#resetBytes.shift();
      this.#reboot(t, `resetAfterBytes ${next}`, true);
      return true;
    }
    return false;
  }

  #byte(b: number, t: number): void {
    if (this.#booting(t)) {
      this.#st.stats.drops.duringBoot++;
      return;
    }
    if (this.#countIn(1, t)) return;
    if (this.mode === 'console') this.#console.byte(b, t);
    else if (this.mode === 'raw') this.#raw.byte(b, t);
    else this.#cobs!.byte(b, t);
  }

  /** A datagram / in-memory packet reaches the device. */
  #packetArrived(pkt: Buffer, from: unknown, t: number): void {
    const st = this.#st;
    if (this.#booting(t)) {
      st.stats.drops.duringBoot++;
      return;
    }
    if (this.#countIn(pkt.length, t)) return;
    let p = pkt;
    if (this.via === 'udp' && p.length > this.#o.udpMtu) {
      st.stats.drops.udpTruncated++;
      p = p.subarray(0, this.#o.udpMtu);
    }
    if (p.length > this.limits.netbufSize) {
      st.stats.drops.oversize++;
      return;
    }
    if (this.model === 'zephyr') {
      if (st.netbufFree === 0) {
        st.stats.drops.netbufExhausted++;
        return;
      }
      st.netbufFree--;
      this.#enqueue({ packet: p, from, holdsBuf: true, backlog: 0 }, t);
    } else {
      if (st.backlog + p.length > st.rxCapacity() && st.busy) {
        st.stats.drops.rxOverflow++;
        return;
      }
      st.backlog += p.length;
      this.#enqueue({ packet: p, from, holdsBuf: false, backlog: p.length }, t);
    }
  }

  // ---------------------------------------------------------------- processing

  #enqueue(req: Request, t: number): void {
    const st = this.#st;
    st.stats.requests++;
    st.queue.push(req);
    const waiting = st.queue.length;
    if (waiting > st.stats.maxWaiting) st.stats.maxWaiting = waiting;
    if (this.model === 'zephyr') this.#smpKick(t);
    else this.#loopKick(t);
  }

  #callCore(packet: Buffer): DeviceStep {
    try {
      const step = this.core.handle(packet, this.via);
      this.#st.stats.handled++;
      const busy = Number.isFinite(step.busyMs) && step.busyMs > 0 ? step.busyMs : 0;
      return { responses: step.responses ?? [], busyMs: busy, ...(step.resetAfterMs !== undefined ? { resetAfterMs: step.resetAfterMs } : {}) };
    } catch (e) {
      this.#coreError(e);
      return { responses: [], busyMs: 0 };
    }
  }

  /** The SMP work-queue thread: one request at a time, in order. */
  #smpKick(t: number): void {
    const st = this.#st;
    if (st.busy || this.#booting(t)) return;
    const req = st.queue.shift();
    if (!req) return;
    st.busy = true;
    const rspBuf = st.netbufFree > 0;
    let step: DeviceStep;
    if (rspBuf) {
      st.netbufFree--;
      step = this.#callCore(req.packet);
    } else {
      st.stats.drops.enomem++;
      const r = enomemResponse(req.packet);
      step = { responses: r ? [r] : [], busyMs: 0 };
    }
    const done = this.#transmit(step.responses, t + step.busyMs, req.from);
    this.#sched.schedule(done, st.gen, (td) => {
      st.netbufFree += (req.holdsBuf ? 1 : 0) + (rspBuf ? 1 : 0);
      st.busy = false;
      this.#afterStep(step, td);
      this.#smpKick(td);
    });
  }

  /** MCUboot's serial-recovery loop: read a line (or packet), handle it, answer, repeat. */
  #loopKick(t: number): void {
    const st = this.#st;
    if (st.busy || this.#booting(t)) return;
    let packet: Buffer | undefined;
    let from: unknown;
    let readyAt = t;
    if (st.queue.length > 0) {
      const req = st.queue.shift()!;
      st.backlog -= req.backlog;
      packet = req.packet;
      from = req.from;
    } else if (this.mode === 'console' && this.#console.hasLine) {
      const line = this.#console.takeLine()!;
      readyAt = t + this.#console.decodeMs;
      packet = this.#console.frag(line, false);
      if (packet) st.stats.requests++;
      if (!packet) {
        st.busy = true;
        this.#sched.schedule(readyAt, st.gen, (td) => {
          st.busy = false;
          this.#loopKick(td);
        });
        return;
      }
    } else {
      return;
    }
    st.busy = true;
    const step = this.#callCore(packet);
    const done = this.#transmit(step.responses, readyAt + step.busyMs, from);
    this.#sched.schedule(done, st.gen, (td) => {
      st.busy = false;
      this.#afterStep(step, td);
      this.#loopKick(td);
    });
  }

  #coreError(e: unknown): void {
    this.#st.stats.coreErrors++;
    try {
      this.#o.onCoreError(e);
    } catch {
      // The reporter's own failure must not break the link.
    }
  }

  #afterStep(step: DeviceStep, t: number): void {
    if (step.resetAfterMs !== undefined && Number.isFinite(step.resetAfterMs)) {
      this.#sched.schedule(t + Math.max(0, step.resetAfterMs), this.#st.gen, (tr) => this.#reboot(tr, 'os reset', false));
    }
  }

  /** Writes responses at the UART's pace (through the toHost faults); returns when the last byte is out. */
  #transmit(responses: Buffer[], t: number, to: unknown): number {
    const st = this.#st;
    let end = t;
    for (const r of responses) {
      st.stats.responses++;
      if (this.faults.config.silent) {
        st.stats.drops.silenced++;
        continue;
      }
      if (this.mode === 'packet') {
        for (const p of this.faults.apply('toHost', r, this.#packetStyle)) end = this.#uart.write(p, end, to);
        continue;
      }
      const { units, style } = wireUnits(this.mode, this.model, r);
      for (const u of units) for (const p of this.faults.apply('toHost', u, style)) end = this.#uart.write(p, end, to);
    }
    return end;
  }

  /**
   * After a reboot the core may run other firmware (a board's MCUboot starting the application):
   * its personality and buffers are then the ones the link models from now on.
   */
  #retarget(): void {
    const st = this.#st;
    const model = this.#opts.model ?? this.core.personality;
    if (model !== 'zephyr' && model !== 'mcuboot') return;
    try {
      st.limits = resolveLimits(this.core, this.#opts.limits, this.mode);
    } catch (e) {
      this.#coreError(e);
    }
    st.model = model;
  }

  /** Power cycle at `t`: the core reboots, buffers and queues are lost, output stops, boot silence. */
  #reboot(t: number, reason: string, injected: boolean): void {
    this.#st.stats.resets++;
    if (injected) this.faults.noteReset(reason);
    try {
      this.core.reboot();
    } catch (e) {
      this.#coreError(e);
    }
    this.#boot(t);
  }

  /** Other firmware starts at `t` (after a reboot, or MCUboot jumping to the application). */
  #boot(t: number): void {
    const st = this.#st;
    st.gen++;
    this.#retarget();
    st.reset();
    this.#console.reset(t);
    this.#raw.reset();
    this.#cobs?.reset();
    this.#uart.cutOutput(t);
    this.#bootUntil = t + this.#o.bootMs;
    const banner = this.#o.bootBanner;
    if (banner) {
      this.#sched.schedule(this.#bootUntil, st.gen, (tb) => {
        this.#uart.write(banner, tb, undefined);
      });
    }
    const wait = this.core.bootWaitMs;
    if (wait !== undefined && this.core.endBootWait) {
      this.#sched.schedule(t + wait, st.gen, (tw) => {
        let started = false;
        try {
          started = this.core.endBootWait!();
        } catch (e) {
          this.#coreError(e);
        }
        if (started) this.#boot(tw);
      });
    }
  }
}
