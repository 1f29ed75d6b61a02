/**
 * The device-side state every receiver of the link shares: the net_buf pool, MCUboot's receive
 * buffer, the request queue and the counters. Receivers and the processing loop live in separate
 * files and meet here.
 * @module
 */
import type { DeviceLimits } from '../types.js';
import type { LinkStats } from './types.js';

/** A packet on its way to the SMP thread / MCUboot loop. */
export interface Request {
  packet: Buffer;
  from: unknown;
  /** Holds a net_buf from the pool (Zephyr). */
  holdsBuf: boolean;
  /** Receive-buffer bytes it occupies until the loop takes it (MCUboot). */
  backlog: number;
}

/** A console line in a line buffer. */
export interface Line {
  buf: Buffer;
  len: number;
}

/** The counters a link keeps itself (the rest of {@link LinkStats} is computed on demand). */
export type OwnStats = Omit<LinkStats, 'seed' | 'uptimeMs' | 'netbufFree' | 'faults'>;

/** What a receiver may do besides touching the shared state. */
export interface RxHost {
  readonly st: DeviceState;
  /** Runs `run` at virtual time `t`, unless a reboot (a new generation) came first. */
  schedule(t: number, gen: number | null, run: (t: number) => void): void;
  /** Hands a complete packet to the SMP queue / MCUboot loop. */
  enqueue(req: Request, t: number): void;
  /** Lets MCUboot's loop look for work (a line was freed, a receive buffer emptied). */
  loopKick(t: number): void;
}

/** Shared device state (reset by a reboot). */
export class DeviceState {
  /** Reboot generation: events of an older generation are cancelled. */
  gen = 0;
  netbufFree: number;
  /** MCUboot: bytes held in the receive buffer. */
  backlog = 0;
  /** The SMP thread / MCUboot loop is working on a request. */
  busy = false;
  readonly queue: Request[] = [];
  readonly stats: OwnStats = {
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

  constructor(
    /** Changes only at a reboot, when the board starts other firmware (MCUboot → application). */
    public limits: Readonly<DeviceLimits>,
    public model: 'zephyr' | 'mcuboot',
  ) {
    this.netbufFree = limits.netbufCount;
  }

  /**
   * MCUboot's raw/COBS receive buffer: the line buffers' bytes, but never less than one whole
   * frame of the largest packet it accepts (its limit is on the decoded size: a COBS frame of a
   * full packet is a few bytes longer than the packet).
   */
  rxCapacity(): number {
    const frame = this.limits.netbufSize + 2 + Math.ceil((this.limits.netbufSize + 2) / 254) + 2;
    return Math.max(this.limits.lineBufSize * this.limits.lineBufCount, frame);
  }

  /** MCUboot: is there room in the receive buffer for one more byte? */
  backlogRoom(): boolean {
    if (this.backlog < this.rxCapacity()) return true;
    this.stats.drops.rxOverflow++;
    return false;
  }

  /** A copy of the counters, with what the link adds (seed, uptime, faults). */
  snapshot(extra: Pick<LinkStats, 'seed' | 'uptimeMs' | 'faults'>): LinkStats {
    const s = this.stats;
    return { seed: extra.seed, uptimeMs: extra.uptimeMs, ...s, netbufFree: this.netbufFree, drops: { ...s.drops }, frames: { ...s.frames }, faults: extra.faults };
  }

  /** A power cycle: every buffer back in the pool, nothing queued. */
  reset(): void {
    this.netbufFree = this.limits.netbufCount;
    this.queue.length = 0;
    this.backlog = 0;
    this.busy = false;
  }
}
