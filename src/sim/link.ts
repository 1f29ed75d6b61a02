/**
 * The link model between the wire and a simulated device's protocol core (DESIGN.md § The
 * simulated device; PROTOCOL.md §4.3, §5, §6).
 *
 * It is a small discrete-event simulation that runs against the wall clock. Every byte and packet
 * gets a virtual time (when its last bit reaches the device, when the device finishes a request,
 * when a response byte reaches the host); decisions (is a line buffer free? a net_buf?) are made
 * at those virtual times, in time order, and timers only release results once real time has
 * caught up. Timer jitter therefore delays output but never changes what the device does.
 *
 * What is modelled, Zephyr personality:
 * - the UART: 8N1, 10 bits a byte, in both directions; latency each way;
 * - console: the ISR fills line buffers (`lineBufSize` × `lineBufCount`); a line that does not fit,
 *   or starts when no buffer is free, is discarded up to its LF; the system work queue decodes
 *   each line (`frameDecodeMs`) and frees its buffer; the reassembly context takes a net_buf from
 *   the pool for any line it sees (as `mcumgr_serial_process_frag` does) and hands it to the SMP
 *   queue when a packet completes (len + packet + CRC must fit one net_buf: NETBUF_SIZE − 4);
 * - raw: packets by header length, a net_buf taken at the header, a stalled partial packet
 *   discarded after `rawInputTimeoutMs` of silence;
 * - COBS: frames at 0x00, no timeout;
 * - packets (UDP, in-memory): one net_buf per packet when it arrives; UDP datagrams cut at the MTU;
 * - the SMP thread: one request at a time in arrival order; it takes a second net_buf for the
 *   response (if none is free: an `rc` 2 ENOMEM answer in the request's buffer), spends the core's
 *   `busyMs`, writes the response at the UART's pace (blocking, like `uart_poll_out`), then frees
 *   both buffers. So at most `netbufCount − 1` requests are in the device; more are dropped silently.
 *
 * MCUboot personality (serial recovery): one loop reads a line, decodes it and, when a packet
 * completes, handles it and writes the answer before reading the next line. Line buffers
 * (`lineBufCount`, 8 by default) are freed when the loop takes them, so they fill up while the
 * loop is busy (flash erase). For raw/COBS input the same loop reads from a receive buffer of
 * `lineBufSize × lineBufCount` bytes; bytes that do not fit are lost.
 * @module
 */
import type { DeviceLimits, DeviceStep, SimDeviceCore } from './types.js';
import { FaultInjector, type FaultLogEntry, type FaultOptions, type FaultStats, type UnitStyle } from './faults.js';
import type { Seed } from './rng.js';
import { tsCodec, type CobsDecoderStats, type PacketDecoder } from '../codec/index.js';
import { codec } from '../codec/index.js';

/** What the link carries: a serial byte stream in one encoding, or whole packets (UDP, in-memory). */
export type LinkMode = 'console' | 'raw' | 'cobs' | 'packet';

/** Options of a {@link DeviceLink}. */
export interface LinkOptions {
  /** Serial encoding, or `packet` for datagram-like links. */
  mode: LinkMode;
  /** Transport name given to `core.handle(packet, via)`. Default `serial` for serial modes, `memory` for packets. */
  via?: string;
  /**
   * UART speed in bit/s (8N1: a byte takes 10 bit times). Default 115200 for serial modes, none
   * (instant) for packets; 0 turns pacing off. For packets a value makes each packet take
   * `length × 10 / baudRate` seconds on the wire.
   */
  baudRate?: number;
  /** One-way latency in ms (both directions), or per direction. Default 0. */
  latencyMs?: number | { toDevice?: number; toHost?: number };
  /**
   * Time the work queue needs to decode one received console line, in ms. Default 0.05 (0 when
   * `baudRate` is 0: an unpaced wire would otherwise overrun the line buffers at once).
   */
  frameDecodeMs?: number;
  /** Raw encoding: a partial packet is discarded after this many ms without a byte. Default 3000. */
  rawInputTimeoutMs?: number;
  /** The device is deaf and mute for this long after a reset, in ms. Default 200. */
  bootMs?: number;
  /** Text the device prints when it has booted (console mode only), e.g. a Zephyr banner. Default none. */
  bootBanner?: string;
  /** Largest datagram the device receives when `via` is `udp` (`MCUMGR_TRANSPORT_UDP_MTU`). Default 1500. */
  udpMtu?: number;
  /** Overrides of the core's buffer limits (Kconfig knobs). */
  limits?: Partial<DeviceLimits>;
  /** Processing model; default: the core's personality. */
  model?: 'zephyr' | 'mcuboot';
  /** Injected faults. */
  faults?: FaultOptions;
  /** Seed of the fault streams. Default: random (read it back from `stats().seed`). */
  seed?: Seed;
  /** Where the device's output goes: wire bytes (serial modes) or whole packets, with the requester's address for packets. */
  onOutput: (data: Buffer, to: unknown) => void;
  /** Millisecond clock. Default `performance.now`. */
  clock?: () => number;
  /**
   * Called when the core throws (the request is then dropped, as a crashed handler would lose it).
   * Default: a process warning, so a core bug is visible without stopping the simulator.
   */
  onCoreError?: (err: unknown) => void;
}

/** Why the link model lost bytes or packets (not counting injected faults). */
export interface LinkDrops {
  /** Console lines begun when every line buffer was in use. */
  lineNoBuffer: number;
  /** Console lines longer than a line buffer. */
  lineTooLong: number;
  /** Frames/packets lost because the net_buf pool was empty. */
  netbufExhausted: number;
  /** Packets larger than the device accepts (NETBUF_SIZE − 4 console, NETBUF_SIZE raw/COBS/packets). */
  oversize: number;
  /** Raw partial packets discarded by the input timeout. */
  rawTimeout: number;
  /** Raw headers with an invalid op or reserved bits (everything buffered was thrown away). */
  rawBadHeader: number;
  /** MCUboot: bytes or packets that did not fit the receive buffer while the loop was busy. */
  rxOverflow: number;
  /** Datagrams cut at the UDP MTU. */
  udpTruncated: number;
  /** Bytes (serial) or packets that arrived while the device was booting. */
  duringBoot: number;
  /** Responses not sent because the device is `silent`. */
  silenced: number;
  /** Requests whose response buffer could not be allocated (answered with ENOMEM). */
  enomem: number;
}

/** What the device's frame decoder rejected (console lines / COBS frames). */
export interface LinkFrameStats {
  /** Lines without a frame marker (logs, junk). */
  nonFrame: number;
  /** Continuation frames with no packet in progress. */
  orphanContinuation: number;
  /** Frames that were not valid base64 / COBS. */
  badEncoding: number;
  /** Packets whose length prefix was wrong (too short, overrun). */
  badLength: number;
  /** Packets whose CRC did not match. */
  badCrc: number;
}

/** Counters of a link. */
export interface LinkStats {
  /** The fault seed (replays the same faults). */
  seed: Seed;
  /** Milliseconds since the link started. */
  uptimeMs: number;
  /** Bytes that reached the device (after faults; serial and packet payloads). */
  bytesToDevice: number;
  /** Bytes the device put on the wire (after faults). */
  bytesToHost: number;
  /** Requests that reached the SMP queue. */
  requests: number;
  /** Requests the core handled. */
  handled: number;
  /** Response packets the device produced (before toHost faults). */
  responses: number;
  /** The most requests that were waiting at once (queued, not being processed). */
  maxWaiting: number;
  /** Free net_bufs now. */
  netbufFree: number;
  /** Device resets (scheduled faults and `os reset`). */
  resets: number;
  /** Exceptions thrown by the core (the request is then dropped). */
  coreErrors: number;
  drops: LinkDrops;
  frames: LinkFrameStats;
  faults: FaultStats;
}

interface Ev {
  t: number;
  seq: number;
  /** Generation the event belongs to (a reset cancels the device's pending events); null: always runs. */
  gen: number | null;
  run: (t: number) => void;
}

/** A binary min-heap of events ordered by (time, insertion order). */
class EventHeap {
  readonly #a: Ev[] = [];
  get size(): number {
    return this.#a.length;
  }
  peek(): Ev | undefined {
    return this.#a[0];
  }
  push(e: Ev): void {
    const a = this.#a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): Ev | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
  clear(): void {
    this.#a.length = 0;
  }
}

function before(x: Ev, y: Ev): boolean {
  return x.t < y.t || (x.t === y.t && x.seq < y.seq);
}

/** Bytes on the wire towards the device, arriving one every `rxByteMs` from `start`. */
interface RxSeg {
  data: Buffer;
  pos: number;
  start: number;
}

/** Output on the wire towards the host. */
interface TxSeg {
  data: Buffer;
  /** Bytes already handed to `onOutput`. */
  pos: number;
  start: number;
  byteMs: number;
  /** Deliver as one piece when complete (packets) rather than byte by byte (serial). */
  whole: boolean;
  /** Deliver one byte per write (slow device). */
  oneByOne: boolean;
  to: unknown;
}

interface Request {
  packet: Buffer;
  from: unknown;
  /** Holds a net_buf from the pool (Zephyr). */
  holdsBuf: boolean;
  /** Receive-buffer bytes it occupies until the loop takes it (MCUboot). */
  backlog: number;
}

/** A console line in a line buffer. */
interface Line {
  buf: Buffer;
  len: number;
}

const LF = 0x0a;
const ENOMEM_PAYLOAD = Buffer.from([0xbf, 0x62, 0x72, 0x63, 0x02, 0xff]); // {"rc": 2}

/**
 * The answer Zephyr gives when no buffer is free for a response: the request's header turned
 * into a response with `{"rc": 2}` (MGMT_ERR_ENOMEM). Undefined for a packet that is not a request.
 */
export function enomemResponse(req: Uint8Array): Buffer | undefined {
  if (req.length < 8) return undefined;
  const op = req[0]! & 7;
  if (op !== 0 && op !== 2) return undefined;
  const out = Buffer.alloc(8 + ENOMEM_PAYLOAD.length);
  out[0] = (req[0]! & 0x18) | (op + 1);
  out[1] = 0;
  out.writeUInt16BE(ENOMEM_PAYLOAD.length, 2);
  out[4] = req[4]!;
  out[5] = req[5]!;
  out[6] = req[6]!;
  out[7] = req[7]!;
  ENOMEM_PAYLOAD.copy(out, 8);
  return out;
}

function checkNonNeg(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a non-negative number of ms, got ${String(v)}`);
  return v;
}

function checkLimit(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 0xffff) {
    throw new RangeError(`limits.${name} must be an integer ${min}..65535, got ${String(v)}`);
  }
  return v;
}

/** Splits an incoming byte stream into wire units (lines, COBS frames, raw packets) for fault injection. */
class UnitSplitter {
  #buf: Buffer = Buffer.alloc(0);
  constructor(private readonly mode: 'console' | 'raw' | 'cobs') {}

  push(chunk: Uint8Array): Buffer[] {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : Buffer.from(chunk);
    const units: Buffer[] = [];
    for (;;) {
      const n = this.#unitLength();
      if (n === 0) break;
      units.push(this.#buf.subarray(0, n));
      this.#buf = this.#buf.subarray(n);
    }
    return units;
  }

  /** Bytes of an unfinished unit (forwarded as they are after a short stall). */
  takePartial(): Buffer {
    const b = this.#buf;
    this.#buf = Buffer.alloc(0);
    return b;
  }

  get pending(): number {
    return this.#buf.length;
  }

  #unitLength(): number {
    const b = this.#buf;
    if (this.mode === 'raw') {
      if (b.length < 8) return 0;
      const n = 8 + b.readUInt16BE(2);
      return b.length >= n ? n : 0;
    }
    const i = b.indexOf(this.mode === 'console' ? LF : 0);
    if (i >= 0) return i + 1;
    return b.length >= 4096 ? b.length : 0;
  }
}

/** How long an unfinished unit waits for its end before it is forwarded without faults. */
const SPLIT_STALL_MS = 15;

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
  /** The buffer limits in force (the core's, with overrides). */
  readonly limits: Readonly<DeviceLimits>;
  /** Processing model. */
  readonly model: 'zephyr' | 'mcuboot';
  /** Transport name passed to the core. */
  readonly via: string;
  /** The fault injector (settings, counters, log). */
  readonly faults: FaultInjector;

  readonly #clock: () => number;
  readonly #t0: number;
  readonly #onOutput: (data: Buffer, to: unknown) => void;
  readonly #rxByteMs: number;
  readonly #txByteMs: number;
  readonly #oneByOne: boolean;
  readonly #latIn: number;
  readonly #latOut: number;
  readonly #decodeMs: number;
  readonly #rawTimeout: number;
  readonly #bootMs: number;
  readonly #bootBanner: Buffer | undefined;
  readonly #udpMtu: number;
  readonly #split: 'zephyr' | 'plain';
  readonly #onCoreError: (err: unknown) => void;

  readonly #heap = new EventHeap();
  #seq = 0;
  #gen = 0;
  #closed = false;
  #timer: { handle: NodeJS.Timeout | NodeJS.Immediate; at: number; immediate: boolean } | undefined;
  #unref = false;

  // Wire towards the device.
  readonly #rx: RxSeg[] = [];
  #rxFreeAt = 0;
  readonly #splitter: UnitSplitter | undefined;
  #splitTimer: NodeJS.Timeout | undefined;
  // Wire towards the host.
  readonly #tx: TxSeg[] = [];
  #txFreeAt = 0;

  // Device state (reset by a reboot).
  #bootUntil = -Infinity;
  #bytesIn = 0;
  readonly #resetBytes: number[];
  #netbufFree: number;
  // Console line layer (ISR).
  #curLine: Line | null = null;
  #ignoring = false;
  #linesInUse = 0;
  #wqFreeAt = 0;
  // Console reassembly context.
  #ctxHasBuf = false;
  #ctxBuf: Buffer;
  #ctxLen = 0;
  #ctxTotal = 0;
  #ctxWant = 0;
  // Raw receiver.
  readonly #rawHdr = Buffer.alloc(8);
  #rawHdrLen = 0;
  #rawPkt: Buffer | null = null;
  #rawHave = 0;
  #rawSkip = 0;
  #rawHasBuf = false;
  #rawLast = 0;
  #rawTimerArmed = false;
  // COBS receiver.
  readonly #cobs: PacketDecoder<CobsDecoderStats> | undefined;
  readonly #one = Buffer.alloc(1);
  #cobsSeen: CobsDecoderStats | undefined;
  #cobsPartial = 0;
  // SMP thread / MCUboot loop.
  readonly #queue: Request[] = [];
  #busy = false;
  readonly #readyLines: Line[] = [];
  #backlog = 0;

  readonly #stats: Omit<LinkStats, 'seed' | 'uptimeMs' | 'netbufFree' | 'faults'>;

  /** Builds the link; it starts its clock now. */
  constructor(core: SimDeviceCore, opts: LinkOptions) {
    if (!core || typeof core.handle !== 'function' || typeof core.reboot !== 'function') {
      throw new TypeError('core must be a SimDeviceCore (handle(), reboot(), limits)');
    }
    if (!opts || typeof opts.onOutput !== 'function') throw new TypeError('opts.onOutput must be a function');
    const mode = opts.mode;
    if (mode !== 'console' && mode !== 'raw' && mode !== 'cobs' && mode !== 'packet') {
      throw new RangeError(`mode must be console, raw, cobs or packet, got ${String(mode)}`);
    }
    this.core = core;
    this.mode = mode;
    this.model = opts.model ?? core.personality;
    if (this.model !== 'zephyr' && this.model !== 'mcuboot') throw new RangeError(`model must be zephyr or mcuboot, got ${String(this.model)}`);
    const lim = { ...core.limits, ...(opts.limits ?? {}) };
    this.limits = Object.freeze({
      netbufSize: checkLimit('netbufSize', lim.netbufSize, 16),
      netbufCount: checkLimit('netbufCount', lim.netbufCount, 1),
      lineBufSize: checkLimit('lineBufSize', lim.lineBufSize, 4),
      lineBufCount: checkLimit('lineBufCount', lim.lineBufCount, 1),
      encodings: [...(lim.encodings ?? ['console'])],
    });
    if (mode !== 'packet' && !this.limits.encodings.includes(mode)) {
      throw new RangeError(`a ${core.personality} device does not speak the ${mode} encoding (it speaks ${this.limits.encodings.join(', ')})`);
    }
    this.via = opts.via ?? (mode === 'packet' ? 'memory' : 'serial');
    this.#clock = opts.clock ?? (() => performance.now());
    this.#t0 = this.#clock();
    this.#rxFreeAt = this.#t0;
    this.#txFreeAt = this.#t0;
    this.#wqFreeAt = this.#t0;
    this.#onOutput = opts.onOutput;

    const baud = opts.baudRate ?? (mode === 'packet' ? 0 : 115200);
    if (typeof baud !== 'number' || !Number.isFinite(baud) || baud < 0) throw new RangeError(`baudRate must be a non-negative number, got ${String(baud)}`);
    this.#rxByteMs = baud > 0 ? 10_000 / baud : 0;
    const lat = opts.latencyMs ?? 0;
    if (typeof lat === 'object' && lat !== null) {
      this.#latIn = checkNonNeg('latencyMs.toDevice', lat.toDevice, 0);
      this.#latOut = checkNonNeg('latencyMs.toHost', lat.toHost, 0);
    } else {
      this.#latIn = this.#latOut = checkNonNeg('latencyMs', lat, 0);
    }
    this.#decodeMs = checkNonNeg('frameDecodeMs', opts.frameDecodeMs, this.#rxByteMs > 0 ? 0.05 : 0);
    this.#rawTimeout = checkNonNeg('rawInputTimeoutMs', opts.rawInputTimeoutMs, 3000);
    this.#bootMs = checkNonNeg('bootMs', opts.bootMs, 200);
    this.#bootBanner = opts.bootBanner !== undefined && mode === 'console' ? Buffer.from(opts.bootBanner, 'latin1') : undefined;
    const mtu = opts.udpMtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 8) throw new RangeError(`udpMtu must be an integer >= 8, got ${String(mtu)}`);
    this.#udpMtu = mtu;
    this.#split = this.model === 'mcuboot' ? 'plain' : 'zephyr';
    this.#onCoreError =
      opts.onCoreError ??
      ((e) => process.emitWarning(`simulated device core threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, 'McuMgrSimWarning'));

    this.faults = new FaultInjector(opts.faults, opts.seed ?? Math.floor(Math.random() * 0x100000000), () => this.#clock() - this.#t0);
    const slow = this.faults.config.slowBytesPerSec;
    this.#txByteMs = slow !== undefined ? 1000 / slow : this.#rxByteMs;
    this.#oneByOne = slow !== undefined;
    this.#resetBytes = [...this.faults.config.resetAfterBytes];
    for (const ms of this.faults.config.resetAt) {
      this.#schedule(this.#t0 + ms, null, (t) => this.#reboot(t, `resetAt ${ms} ms`, true));
    }

    this.#netbufFree = this.limits.netbufCount;
    this.#ctxBuf = Buffer.alloc(this.limits.netbufSize);
    this.#splitter = mode !== 'packet' && this.faults.active('toDevice') ? new UnitSplitter(mode) : undefined;
    this.#cobs = mode === 'cobs' ? tsCodec.createCobsDecoder({ maxPacket: Math.max(8, this.limits.netbufSize) }) : undefined;
    this.#cobsSeen = this.#cobs?.stats();
    this.#stats = {
      bytesToDevice: 0,
      bytesToHost: 0,
      requests: 0,
      handled: 0,
      responses: 0,
      maxWaiting: 0,
      resets: 0,
      coreErrors: 0,
      drops: {
        lineNoBuffer: 0,
        lineTooLong: 0,
        netbufExhausted: 0,
        oversize: 0,
        rawTimeout: 0,
        rawBadHeader: 0,
        rxOverflow: 0,
        udpTruncated: 0,
        duringBoot: 0,
        silenced: 0,
        enomem: 0,
      },
      frames: { nonFrame: 0, orphanContinuation: 0, badEncoding: 0, badLength: 0, badCrc: 0 },
    };
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Milliseconds since the link started. */
  elapsed(): number {
    return this.#clock() - this.#t0;
  }

  /** Bytes the host wrote to the serial line (serial modes). */
  receiveBytes(chunk: Uint8Array): void {
    if (this.#closed || chunk.length === 0) return;
    if (this.mode === 'packet') throw new Error('receiveBytes() is for serial links; use receivePacket()');
    const r = this.#clock();
    if (this.#splitter) {
      for (const unit of this.#splitter.push(chunk)) {
        for (const piece of this.faults.apply('toDevice', unit, this.mode === 'console' ? 'line' : this.mode)) this.#toWire(piece, r);
      }
      if (this.#splitTimer) clearTimeout(this.#splitTimer);
      this.#splitTimer = undefined;
      if (this.#splitter.pending > 0) {
        this.#splitTimer = setTimeout(() => {
          this.#splitTimer = undefined;
          if (this.#closed || !this.#splitter) return;
          const rest = this.#splitter.takePartial();
          if (rest.length) this.#toWire(rest, this.#clock());
          this.#arm();
        }, SPLIT_STALL_MS);
        if (this.#unref) this.#splitTimer.unref();
      }
    } else {
      this.#toWire(Buffer.from(chunk), r);
    }
    this.#arm();
  }

  /** One packet (datagram, in-memory message) from the host; `from` is passed back with the answers. */
  receivePacket(packet: Uint8Array, from?: unknown): void {
    if (this.#closed) return;
    if (this.mode !== 'packet') throw new Error('receivePacket() is for packet links; use receiveBytes()');
    const r = this.#clock();
    for (const piece of this.faults.apply('toDevice', Buffer.from(packet), this.#packetStyle)) {
      const start = Math.max(r + this.#latIn, this.#rxFreeAt);
      const end = start + piece.length * this.#rxByteMs;
      if (this.#rxByteMs > 0) this.#rxFreeAt = end;
      this.#schedule(end, null, (t) => this.#packetArrived(piece, from, t));
    }
    this.#arm();
  }

  /** Resets the device now, as a power cycle (counted with the scheduled resets). */
  resetNow(reason = 'resetNow()'): void {
    if (this.#closed) return;
    this.#schedule(this.#clock(), null, (t) => this.#reboot(t, reason, true));
    this.#arm();
  }

  /** Lets the process exit while the link has pending timers. */
  unref(): void {
    this.#unref = true;
    const h = this.#timer?.handle;
    if (h && 'unref' in h) h.unref();
    this.#splitTimer?.unref();
  }

  /** Stops the link: pending input and output are dropped, no more calls to the core or to `onOutput`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimer();
    if (this.#splitTimer) clearTimeout(this.#splitTimer);
    this.#heap.clear();
    this.#rx.length = 0;
    this.#tx.length = 0;
  }

  /** A snapshot of the counters. */
  stats(): LinkStats {
    this.#syncCobs();
    const s = this.#stats;
    return {
      seed: this.faults.seed,
      uptimeMs: this.elapsed(),
      bytesToDevice: s.bytesToDevice,
      bytesToHost: s.bytesToHost,
      requests: s.requests,
      handled: s.handled,
      responses: s.responses,
      maxWaiting: s.maxWaiting,
      netbufFree: this.#netbufFree,
      resets: s.resets,
      coreErrors: s.coreErrors,
      drops: { ...s.drops },
      frames: { ...s.frames },
      faults: this.faults.stats(),
    };
  }

  /** The log of injected faults (oldest first). */
  faultLog(): FaultLogEntry[] {
    return this.faults.log();
  }

  // ---------------------------------------------------------------- scheduling

  /** UDP datagrams are checksummed by the network stack (damaged ones vanish); in-memory packets are not. */
  get #packetStyle(): UnitStyle {
    return this.via === 'udp' ? 'datagram' : 'packet';
  }

  #schedule(t: number, gen: number | null, run: (t: number) => void): void {
    this.#heap.push({ t, seq: this.#seq++, gen, run });
  }

  #nextInput(): number {
    const s = this.#rx[0];
    return s ? s.start + (s.pos + 1) * this.#rxByteMs : Infinity;
  }

  #nextOutput(): number {
    const s = this.#tx[0];
    if (!s) return Infinity;
    if (s.whole) return s.start + s.data.length * s.byteMs + this.#latOut;
    return s.start + (s.pos + 1) * s.byteMs + this.#latOut;
  }

  #clearTimer(): void {
    const tm = this.#timer;
    if (!tm) return;
    if (tm.immediate) clearImmediate(tm.handle as NodeJS.Immediate);
    else clearTimeout(tm.handle as NodeJS.Timeout);
    this.#timer = undefined;
  }

  /** Sets the one timer for the next thing due (an event, an input byte, an output byte). */
  #arm(): void {
    if (this.#closed) return;
    const next = Math.min(this.#nextInput(), this.#heap.peek()?.t ?? Infinity, this.#nextOutput());
    if (next === Infinity) {
      this.#clearTimer();
      return;
    }
    if (this.#timer && this.#timer.at <= next) return;
    this.#clearTimer();
    const delay = next - this.#clock();
    if (delay <= 0) {
      const handle = setImmediate(this.#pump);
      if (this.#unref) handle.unref();
      this.#timer = { handle, at: next, immediate: true };
    } else {
      // Node's timers have 1 ms resolution and may fire early by a fraction: round up.
      const handle = setTimeout(this.#pump, Math.ceil(delay));
      if (this.#unref) handle.unref();
      this.#timer = { handle, at: next, immediate: false };
    }
  }

  readonly #pump = (): void => {
    this.#timer = undefined;
    if (this.#closed) return;
    const now = this.#clock();
    for (;;) {
      const ev = this.#heap.peek();
      const tEv = ev ? ev.t : Infinity;
      const tIn = this.#nextInput();
      if (tEv <= tIn) {
        if (tEv > now) break;
        this.#heap.pop();
        if (ev!.gen === null || ev!.gen === this.#gen) ev!.run(tEv);
        if (this.#closed) return;
        continue;
      }
      if (tIn > now) break;
      const seg = this.#rx[0]!;
      const b = seg.data[seg.pos++]!;
      if (seg.pos >= seg.data.length) this.#rx.shift();
      this.#byte(b, tIn);
    }
    this.#flush(now);
    this.#arm();
  };

  /** Puts bytes on the wire towards the device at the UART's pace. */
  #toWire(data: Buffer, r: number): void {
    if (data.length === 0) return;
    const start = Math.max(r + this.#latIn, this.#rxFreeAt);
    this.#rxFreeAt = start + data.length * this.#rxByteMs;
    this.#rx.push({ data, pos: 0, start });
  }

  /** Queues device output; returns when its last byte has left the device. */
  #txWrite(data: Buffer, notBefore: number, to: unknown): number {
    if (data.length === 0) return notBefore;
    const start = Math.max(notBefore, this.#txFreeAt);
    const whole = this.mode === 'packet';
    const byteMs = this.#txByteMs;
    const end = start + data.length * byteMs;
    this.#txFreeAt = end;
    this.#tx.push({ data, pos: 0, start, byteMs, whole, oneByOne: this.#oneByOne && !whole, to });
    this.#stats.bytesToHost += data.length;
    return end;
  }

  /** Hands the host everything that has reached it by `now`. */
  #flush(now: number): void {
    while (this.#tx.length > 0) {
      const s = this.#tx[0]!;
      const n = s.data.length;
      if (s.whole) {
        if (s.start + n * s.byteMs + this.#latOut > now) break;
        this.#tx.shift();
        this.#deliver(s.data, s.to);
        continue;
      }
      // The same expression as #nextOutput, so a due byte is always delivered.
      let k = s.pos;
      if (s.byteMs > 0) {
        k = Math.max(s.pos, Math.min(n, Math.floor((now - this.#latOut - s.start) / s.byteMs)));
        while (k < n && s.start + (k + 1) * s.byteMs + this.#latOut <= now) k++;
        while (k > s.pos && s.start + k * s.byteMs + this.#latOut > now) k--;
      } else if (s.start + this.#latOut <= now) {
        k = n;
      }
      if (k > s.pos) {
        if (s.oneByOne) for (let i = s.pos; i < k; i++) this.#deliver(s.data.subarray(i, i + 1), s.to);
        else this.#deliver(s.data.subarray(s.pos, k), s.to);
        s.pos = k;
      }
      if (s.pos < n) break;
      this.#tx.shift();
    }
  }

  #deliver(data: Buffer, to: unknown): void {
    try {
      this.#onOutput(data, to);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  // ---------------------------------------------------------------- receive side

  #booting(t: number): boolean {
    return t < this.#bootUntil;
  }

  /** Counts received bytes; true when a `resetAfterBytes` threshold was crossed (the device resets at `t`). */
  #countIn(n: number, t: number): boolean {
    this.#bytesIn += n;
    this.#stats.bytesToDevice += n;
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
      this.#stats.drops.duringBoot++;
      return;
    }
    if (this.#countIn(1, t)) return;
    if (this.mode === 'console') this.#lineByte(b, t);
    else if (this.mode === 'raw') this.#rawByte(b, t);
    else this.#cobsByte(b, t);
  }

  /** The UART ISR of `uart_mcumgr.c`: bytes into line buffers; drop what does not fit. */
  #lineByte(b: number, t: number): void {
    if (!this.#ignoring && this.#curLine === null) {
      if (this.#linesInUse < this.limits.lineBufCount) {
        this.#linesInUse++;
        this.#curLine = { buf: Buffer.allocUnsafe(this.limits.lineBufSize), len: 0 };
      } else {
        this.#ignoring = true;
        this.#stats.drops.lineNoBuffer++;
      }
    }
    if (!this.#ignoring) {
      const line = this.#curLine!;
      if (line.len >= line.buf.length) {
        this.#linesInUse--;
        this.#curLine = null;
        this.#ignoring = true;
        this.#stats.drops.lineTooLong++;
      } else {
        line.buf[line.len++] = b;
      }
    }
    if (b === LF) {
      if (this.#ignoring) {
        this.#ignoring = false;
      } else {
        const line = this.#curLine!;
        this.#curLine = null;
        this.#lineDone(line, t);
      }
    }
  }

  #lineDone(line: Line, t: number): void {
    if (this.model === 'mcuboot') {
      this.#readyLines.push(line);
      this.#loopKick(t);
      return;
    }
    // The system work queue decodes lines one after another, then frees the line buffer.
    const start = Math.max(t, this.#wqFreeAt);
    const end = start + this.#decodeMs;
    this.#wqFreeAt = end;
    this.#schedule(end, this.#gen, (te) => {
      this.#linesInUse--;
      const pkt = this.#frag(line, true);
      if (pkt) this.#enqueue({ packet: pkt, from: undefined, holdsBuf: true, backlog: 0 }, te);
    });
  }

  #ctxFree(): void {
    if (this.#ctxHasBuf) this.#netbufFree++;
    this.#ctxHasBuf = false;
    this.#ctxLen = 0;
    this.#ctxTotal = 0;
  }

  /**
   * `mcumgr_serial_process_frag`: one line into the reassembly context. With `pool`, the context
   * needs a net_buf for any line (and keeps it); returns a complete packet (holding that buffer).
   */
  #frag(line: Line, pool: boolean): Buffer | undefined {
    const fr = this.#stats.frames;
    if (pool && !this.#ctxHasBuf) {
      if (this.#netbufFree === 0) {
        this.#stats.drops.netbufExhausted++;
        return undefined;
      }
      this.#netbufFree--;
      this.#ctxHasBuf = true;
      this.#ctxLen = 0;
      this.#ctxTotal = 0;
    }
    const d = line.buf;
    let n = line.len;
    if (n < 2) {
      fr.nonFrame++;
      return undefined;
    }
    const initial = d[0] === 0x06 && d[1] === 0x09;
    const cont = d[0] === 0x04 && d[1] === 0x14;
    if (!initial && !cont) {
      fr.nonFrame++;
      return undefined;
    }
    if (initial) {
      this.#ctxLen = 0;
      this.#ctxTotal = 0;
    } else if (this.#ctxTotal === 0) {
      fr.orphanContinuation++;
      this.#ctxFree();
      return undefined;
    }
    if (n > 2 && d[n - 1] === LF) n--;
    if (n > 2 && d[n - 1] === 0x0d) n--;
    const raw = codec.base64Decode(d.subarray(2, n));
    if (raw === null) {
      fr.badEncoding++;
      this.#ctxFree();
      return undefined;
    }
    if (this.#ctxTotal + raw.length > this.limits.netbufSize) {
      this.#stats.drops.oversize++;
      this.#ctxFree();
      return undefined;
    }
    let data = raw;
    if (initial) {
      if (raw.length < 2) {
        fr.badLength++;
        this.#ctxFree();
        return undefined;
      }
      this.#ctxWant = raw.readUInt16BE(0);
      data = raw.subarray(2);
      this.#ctxTotal = 2;
    }
    data.copy(this.#ctxBuf, this.#ctxLen);
    this.#ctxLen += data.length;
    this.#ctxTotal += data.length;
    if (this.#ctxLen < this.#ctxWant) return undefined;
    if (this.#ctxLen > this.#ctxWant || this.#ctxLen < 2) {
      fr.badLength++;
      this.#ctxFree();
      return undefined;
    }
    const body = this.#ctxBuf.subarray(0, this.#ctxLen);
    if (codec.crc16(body) !== 0) {
      fr.badCrc++;
      this.#ctxFree();
      return undefined;
    }
    const pkt = Buffer.from(body.subarray(0, this.#ctxLen - 2));
    // The net_buf goes with the packet; the context starts empty.
    this.#ctxHasBuf = false;
    this.#ctxLen = 0;
    this.#ctxTotal = 0;
    return pkt;
  }

  #rawPartial(): boolean {
    return this.#rawHdrLen > 0 || this.#rawPkt !== null || this.#rawSkip > 0;
  }

  #rawDiscard(): void {
    if (this.#rawHasBuf) this.#netbufFree++;
    this.#rawHasBuf = false;
    if (this.#rawPkt && this.model === 'mcuboot') this.#backlog -= this.#rawHave;
    else if (this.model === 'mcuboot') this.#backlog -= this.#rawHdrLen;
    this.#rawHdrLen = 0;
    this.#rawPkt = null;
    this.#rawHave = 0;
    this.#rawSkip = 0;
  }

  /** Arms the input-timeout check of the raw receiver (one pending check at a time). */
  #armRawTimeout(): void {
    if (this.#rawTimerArmed) return;
    this.#rawTimerArmed = true;
    const gen = this.#gen;
    const check = (t: number): void => {
      if (gen !== this.#gen) return;
      if (!this.#rawPartial()) {
        this.#rawTimerArmed = false;
        return;
      }
      const due = this.#rawLast + this.#rawTimeout;
      if (t >= due) {
        this.#stats.drops.rawTimeout++;
        this.#rawDiscard();
        this.#rawTimerArmed = false;
        if (this.model === 'mcuboot') this.#loopKick(t);
      } else {
        this.#schedule(due, gen, check);
      }
    };
    this.#schedule(this.#rawLast + this.#rawTimeout, gen, check);
  }

  /** Raw SMP receiver: packets by header length, no resync, input timeout. */
  #rawByte(b: number, t: number): void {
    if (this.#rawPartial() && t - this.#rawLast >= this.#rawTimeout) {
      this.#stats.drops.rawTimeout++;
      this.#rawDiscard();
    }
    this.#rawLast = t;
    if (this.model === 'mcuboot' && !this.#backlogRoom()) return;
    if (this.#rawSkip > 0) {
      this.#rawSkip--;
      if (this.#rawSkip > 0) this.#armRawTimeout();
      return;
    }
    if (this.#rawPkt === null) {
      this.#rawHdr[this.#rawHdrLen++] = b;
      if (this.model === 'mcuboot') this.#backlog++;
      if (this.#rawHdrLen < 8) {
        this.#armRawTimeout();
        return;
      }
      const hdrBytes = this.#rawHdrLen;
      this.#rawHdrLen = 0;
      if (this.model === 'mcuboot') this.#backlog -= hdrBytes;
      const b0 = this.#rawHdr[0]!;
      if ((b0 & 0xe0) !== 0 || (b0 & 7) > 3) {
        this.#stats.drops.rawBadHeader++;
        return;
      }
      const total = 8 + this.#rawHdr.readUInt16BE(2);
      if (total > this.limits.netbufSize) {
        this.#stats.drops.oversize++;
        return;
      }
      if (this.model === 'zephyr') {
        if (this.#netbufFree === 0) {
          this.#stats.drops.netbufExhausted++;
          this.#rawSkip = total - 8;
          if (this.#rawSkip > 0) this.#armRawTimeout();
          return;
        }
        this.#netbufFree--;
        this.#rawHasBuf = true;
      } else {
        this.#backlog += 8;
      }
      this.#rawPkt = Buffer.allocUnsafe(total);
      this.#rawHdr.copy(this.#rawPkt, 0);
      this.#rawHave = 8;
    } else {
      this.#rawPkt[this.#rawHave++] = b;
      if (this.model === 'mcuboot') this.#backlog++;
    }
    if (this.#rawHave < this.#rawPkt.length) {
      this.#armRawTimeout();
      return;
    }
    const pkt = this.#rawPkt;
    const holdsBuf = this.#rawHasBuf;
    this.#rawPkt = null;
    this.#rawHasBuf = false;
    this.#rawHave = 0;
    this.#enqueue({ packet: pkt, from: undefined, holdsBuf, backlog: pkt.length }, t);
  }

  /**
   * MCUboot's raw/COBS receive buffer: the line buffers' bytes, but never less than one whole
   * frame of the largest packet it accepts (its limit is on the decoded size: a COBS frame of a
   * full packet is a few bytes longer than the packet).
   */
  #rxCapacity(): number {
    const frame = this.limits.netbufSize + 2 + Math.ceil((this.limits.netbufSize + 2) / 254) + 2;
    return Math.max(this.limits.lineBufSize * this.limits.lineBufCount, frame);
  }

  /** MCUboot: is there room in the receive buffer for one more byte? */
  #backlogRoom(): boolean {
    if (this.#backlog < this.#rxCapacity()) return true;
    this.#stats.drops.rxOverflow++;
    return false;
  }

  /** COBS receiver: frames at 0x00, no timeout. */
  #cobsByte(b: number, t: number): void {
    if (this.model === 'mcuboot') {
      if (b !== 0) {
        if (!this.#backlogRoom()) return;
        this.#backlog++;
        this.#cobsPartial++;
      }
    }
    this.#one[0] = b;
    const pkts = this.#cobs!.push(this.#one);
    if (b === 0 && this.model === 'mcuboot') {
      this.#backlog -= this.#cobsPartial;
      this.#cobsPartial = 0;
    }
    for (const p of pkts) {
      if (this.model === 'zephyr') {
        if (this.#netbufFree === 0) {
          this.#stats.drops.netbufExhausted++;
          continue;
        }
        this.#netbufFree--;
        this.#enqueue({ packet: Buffer.from(p), from: undefined, holdsBuf: true, backlog: 0 }, t);
      } else {
        this.#backlog += p.length;
        this.#enqueue({ packet: Buffer.from(p), from: undefined, holdsBuf: false, backlog: p.length }, t);
      }
    }
  }

  /** Folds the COBS decoder's rejection counters into the frame stats. */
  #syncCobs(): void {
    if (!this.#cobs || !this.#cobsSeen) return;
    const now = this.#cobs.stats();
    const was = this.#cobsSeen;
    const fr = this.#stats.frames;
    fr.badEncoding += now.malformed - was.malformed;
    fr.badLength += now.short - was.short;
    fr.badCrc += now.badCrc - was.badCrc;
    this.#stats.drops.oversize += now.oversize - was.oversize;
    this.#cobsSeen = now;
  }

  /** A datagram / in-memory packet reaches the device. */
  #packetArrived(pkt: Buffer, from: unknown, t: number): void {
    if (this.#booting(t)) {
      this.#stats.drops.duringBoot++;
      return;
    }
    if (this.#countIn(pkt.length, t)) return;
    let p = pkt;
    if (this.via === 'udp' && p.length > this.#udpMtu) {
      this.#stats.drops.udpTruncated++;
      p = p.subarray(0, this.#udpMtu);
    }
    if (p.length > this.limits.netbufSize) {
      this.#stats.drops.oversize++;
      return;
    }
    if (this.model === 'zephyr') {
      if (this.#netbufFree === 0) {
        this.#stats.drops.netbufExhausted++;
        return;
      }
      this.#netbufFree--;
      this.#enqueue({ packet: p, from, holdsBuf: true, backlog: 0 }, t);
    } else {
      if (this.#backlog + p.length > this.#rxCapacity() && this.#busy) {
        this.#stats.drops.rxOverflow++;
        return;
      }
      this.#backlog += p.length;
      this.#enqueue({ packet: p, from, holdsBuf: false, backlog: p.length }, t);
    }
  }

  // ---------------------------------------------------------------- processing

  #enqueue(req: Request, t: number): void {
    this.#stats.requests++;
    this.#queue.push(req);
    const waiting = this.#queue.length;
    if (waiting > this.#stats.maxWaiting) this.#stats.maxWaiting = waiting;
    if (this.model === 'zephyr') this.#smpKick(t);
    else this.#loopKick(t);
  }

  #callCore(packet: Buffer): DeviceStep {
    try {
      const step = this.core.handle(packet, this.via);
      this.#stats.handled++;
      const busy = Number.isFinite(step.busyMs) && step.busyMs > 0 ? step.busyMs : 0;
      return { responses: step.responses ?? [], busyMs: busy, ...(step.resetAfterMs !== undefined ? { resetAfterMs: step.resetAfterMs } : {}) };
    } catch (e) {
      this.#coreError(e);
      return { responses: [], busyMs: 0 };
    }
  }

  /** The SMP work-queue thread: one request at a time, in order. */
  #smpKick(t: number): void {
    if (this.#busy || this.#booting(t)) return;
    const req = this.#queue.shift();
    if (!req) return;
    this.#busy = true;
    const rspBuf = this.#netbufFree > 0;
    let step: DeviceStep;
    if (rspBuf) {
      this.#netbufFree--;
      step = this.#callCore(req.packet);
    } else {
      this.#stats.drops.enomem++;
      const r = enomemResponse(req.packet);
      step = { responses: r ? [r] : [], busyMs: 0 };
    }
    const done = this.#transmit(step.responses, t + step.busyMs, req.from);
    this.#schedule(done, this.#gen, (td) => {
      this.#netbufFree += (req.holdsBuf ? 1 : 0) + (rspBuf ? 1 : 0);
      this.#busy = false;
      this.#afterStep(step, td);
      this.#smpKick(td);
    });
  }

  /** MCUboot's serial-recovery loop: read a line (or packet), handle it, answer, repeat. */
  #loopKick(t: number): void {
    if (this.#busy || this.#booting(t)) return;
    let packet: Buffer | undefined;
    let from: unknown;
    let readyAt = t;
    if (this.#queue.length > 0) {
      const req = this.#queue.shift()!;
      this.#backlog -= req.backlog;
      packet = req.packet;
      from = req.from;
    } else if (this.mode === 'console' && this.#readyLines.length > 0) {
      const line = this.#readyLines.shift()!;
      this.#linesInUse--;
      readyAt = t + this.#decodeMs;
      packet = this.#frag(line, false);
      if (packet) this.#stats.requests++;
      if (!packet) {
        this.#busy = true;
        this.#schedule(readyAt, this.#gen, (td) => {
          this.#busy = false;
          this.#loopKick(td);
        });
        return;
      }
    } else {
      return;
    }
    this.#busy = true;
    const step = this.#callCore(packet);
    const done = this.#transmit(step.responses, readyAt + step.busyMs, from);
    this.#schedule(done, this.#gen, (td) => {
      this.#busy = false;
      this.#afterStep(step, td);
      this.#loopKick(td);
    });
  }

  #coreError(e: unknown): void {
    this.#stats.coreErrors++;
    try {
      this.#onCoreError(e);
    } catch {
      // The reporter's own failure must not break the link.
    }
  }

  #afterStep(step: DeviceStep, t: number): void {
    if (step.resetAfterMs !== undefined && Number.isFinite(step.resetAfterMs)) {
      this.#schedule(t + Math.max(0, step.resetAfterMs), this.#gen, (tr) => this.#reboot(tr, 'os reset', false));
    }
  }

  /** Writes responses at the UART's pace (through the toHost faults); returns when the last byte is out. */
  #transmit(responses: Buffer[], t: number, to: unknown): number {
    let end = t;
    for (const r of responses) {
      this.#stats.responses++;
      if (this.faults.config.silent) {
        this.#stats.drops.silenced++;
        continue;
      }
      if (this.mode === 'packet') {
        for (const p of this.faults.apply('toHost', r, this.#packetStyle)) end = this.#txWrite(p, end, to);
        continue;
      }
      const wire = this.#encode(r);
      const style: UnitStyle = this.mode === 'console' ? 'line' : this.mode;
      const units = this.mode === 'console' ? splitLines(wire) : [wire];
      for (const u of units) for (const p of this.faults.apply('toHost', u, style)) end = this.#txWrite(p, end, to);
    }
    return end;
  }

  #encode(packet: Buffer): Buffer {
    switch (this.mode) {
      case 'console':
        return codec.encodeConsole(packet, this.#split);
      case 'cobs':
        return codec.encodeCobsFrame(packet);
      default:
        return Buffer.from(packet);
    }
  }

  /** Power cycle at `t`: the core reboots, buffers and queues are lost, output stops, boot silence. */
  #reboot(t: number, reason: string, injected: boolean): void {
    this.#gen++;
    this.#stats.resets++;
    if (injected) this.faults.noteReset(reason);
    try {
      this.core.reboot();
    } catch (e) {
      this.#coreError(e);
    }
    this.#netbufFree = this.limits.netbufCount;
    this.#curLine = null;
    this.#ignoring = false;
    this.#linesInUse = 0;
    this.#wqFreeAt = t;
    this.#ctxHasBuf = false;
    this.#ctxLen = 0;
    this.#ctxTotal = 0;
    this.#rawHdrLen = 0;
    this.#rawPkt = null;
    this.#rawHave = 0;
    this.#rawSkip = 0;
    this.#rawHasBuf = false;
    this.#rawTimerArmed = false;
    this.#syncCobs();
    this.#cobs?.reset();
    this.#cobsPartial = 0;
    this.#queue.length = 0;
    this.#readyLines.length = 0;
    this.#backlog = 0;
    this.#busy = false;
    // Output the UART had not started yet is never sent.
    let freeAt = t;
    for (let i = 0; i < this.#tx.length; i++) {
      const s = this.#tx[i]!;
      const n = s.data.length;
      let k: number;
      if (s.whole) k = s.start < t ? n : 0;
      else if (s.byteMs > 0) k = Math.max(s.pos, Math.min(n, Math.ceil((t - s.start) / s.byteMs - 1e-9)));
      else k = s.start < t ? n : s.pos;
      if (k < n) {
        this.#stats.bytesToHost -= n - k;
        s.data = s.data.subarray(0, k);
      }
      if (s.data.length > 0) freeAt = Math.max(freeAt, s.start + s.data.length * s.byteMs);
    }
    for (let i = this.#tx.length - 1; i >= 0; i--) if (this.#tx[i]!.data.length === 0) this.#tx.splice(i, 1);
    this.#txFreeAt = freeAt;
    this.#bootUntil = t + this.#bootMs;
    if (this.#bootBanner) {
      const banner = this.#bootBanner;
      this.#schedule(this.#bootUntil, this.#gen, (tb) => {
        this.#txWrite(banner, tb, undefined);
      });
    }
  }
}

/** Splits console wire bytes into lines (each ending with its LF). */
export function splitLines(wire: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let s = 0;
  for (let i = 0; i < wire.length; i++) {
    if (wire[i] === LF) {
      out.push(wire.subarray(s, i + 1));
      s = i + 1;
    }
  }
  if (s < wire.length) out.push(wire.subarray(s));
  return out;
}
