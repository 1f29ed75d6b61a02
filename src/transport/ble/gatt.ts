/**
 * SMP over GATT, the framing alone (PROTOCOL.md §5.2; Zephyr `smp_bt.c`): one characteristic,
 * requests written to it without response, answers notified on it. There is no framing of its
 * own: a packet longer than one ATT payload (ATT MTU − 3) goes as consecutive pieces, and the
 * receiver rebuilds it by the length field of the SMP header in the first piece.
 *
 * Pure TypeScript over `Uint8Array` (no Node APIs), so the same code serves Node (noble) and a
 * browser (Web Bluetooth).
 * @module
 */

import { ATT_OVERHEAD, DEFAULT_ATT_MTU, MAX_ATT_MTU } from '../../protocol/ble-gatt.js';

export { SMP_SERVICE_UUID, SMP_CHARACTERISTIC_UUID, ATT_OVERHEAD, DEFAULT_ATT_MTU, MAX_ATT_MTU } from '../../protocol/ble-gatt.js';

/** SMP header size. */
const HEADER = 8;
/** The largest SMP packet a 16-bit length field can describe. */
export const MAX_SMP_PACKET = HEADER + 0xffff;

/** The ATT payload of one write or notification at `mtu`. */
export function attPayload(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < DEFAULT_ATT_MTU || mtu > MAX_ATT_MTU) {
    throw new RangeError(`mtu must be an ATT MTU ${DEFAULT_ATT_MTU}..${MAX_ATT_MTU}, got ${String(mtu)}`);
  }
  return mtu - ATT_OVERHEAD;
}

/**
 * Cuts one SMP packet into the pieces written (or notified) one after another: each
 * `mtu − 3` bytes but the last. The pieces are views of `packet`, not copies.
 * @example
 * splitPacket(new Uint8Array(500), 247).map((p) => p.length); // [244, 244, 12]
 */
export function splitPacket(packet: Uint8Array, mtu: number): Uint8Array[] {
  const size = attPayload(mtu);
  if (packet.length === 0) throw new RangeError('splitPacket(packet): packet is empty');
  const out: Uint8Array[] = [];
  for (let off = 0; off < packet.length; off += size) out.push(packet.subarray(off, Math.min(packet.length, off + size)));
  return out;
}

/** Number of pieces {@link splitPacket} makes of `length` bytes at `mtu`. */
export function pieceCount(length: number, mtu: number): number {
  return Math.ceil(length / attPayload(mtu));
}

/** Options of a {@link GattReassembler}. */
export interface ReassemblerOptions {
  /** Largest packet (header + payload) accepted; a header announcing more drops the piece. Default 65543. */
  maxPacket?: number;
  /**
   * Which SMP ops a first piece may carry (a piece whose header has another op is not the start
   * of a packet). Default: the two response ops (1, 3), for a client.
   */
  ops?: readonly number[];
}

/** What a {@link GattReassembler} threw away, by reason. */
export interface ReassemblerStats {
  /** Whole packets delivered. */
  packets: number;
  /** First pieces shorter than a header, or with a header that cannot start a packet. */
  badStart: number;
  /** Headers announcing more than `maxPacket`. */
  oversize: number;
  /** A piece longer than what the packet in progress still needed (pieces lost or mixed): the partial packet was dropped. */
  overrun: number;
  /** Partial packets dropped by {@link GattReassembler.reset} (link lost, stall). */
  abandoned: number;
}

/**
 * Rebuilds SMP packets from GATT pieces, as Zephyr's `smp_reassembly.c` does: the first piece
 * must hold the whole 8-byte header; pieces are appended until header + length bytes are there.
 * A state machine with two states (idle, collecting) and a hard cap on what it buffers.
 *
 * One difference from the device: a piece that overruns the packet in progress is not simply
 * dropped; after the partial packet is thrown away the piece is tried as the start of a new one,
 * since a lost notification means the next answer starts at a piece boundary.
 */
export class GattReassembler {
  readonly maxPacket: number;
  readonly #ops: readonly number[];
  #buf: Uint8Array | undefined;
  #have = 0;
  readonly #stats: ReassemblerStats = { packets: 0, badStart: 0, oversize: 0, overrun: 0, abandoned: 0 };

  constructor(opts: ReassemblerOptions = {}) {
    const max = opts.maxPacket ?? MAX_SMP_PACKET;
    if (!Number.isInteger(max) || max < HEADER || max > MAX_SMP_PACKET) {
      throw new RangeError(`maxPacket must be an integer ${HEADER}..${MAX_SMP_PACKET}, got ${String(max)}`);
    }
    this.maxPacket = max;
    this.#ops = opts.ops ?? [1, 3];
  }

  /** Bytes of the packet in progress (0 when idle). */
  get pending(): number {
    return this.#have;
  }

  /** Counters. */
  stats(): ReassemblerStats {
    return { ...this.#stats };
  }

  /** Drops the packet in progress (link lost, or nothing arrived for too long). */
  reset(): void {
    if (this.#buf) this.#stats.abandoned++;
    this.#buf = undefined;
    this.#have = 0;
  }

  /**
   * Takes one piece; returns the packets it completed (zero or one, since a piece never spans two
   * packets on this link). The returned buffer is a fresh copy the caller owns.
   */
  push(piece: Uint8Array): Uint8Array[] {
    if (piece.length === 0) return [];
    if (this.#buf) {
      const need = this.#buf.length - this.#have;
      if (piece.length <= need) {
        this.#buf.set(piece, this.#have);
        this.#have += piece.length;
        return this.#complete();
      }
      this.#stats.overrun++;
      this.#buf = undefined;
      this.#have = 0;
    }
    return this.#start(piece);
  }

  #start(piece: Uint8Array): Uint8Array[] {
    if (piece.length < HEADER || !this.#ops.includes(piece[0]! & 7) || (piece[0]! & 0xe0) !== 0) {
      this.#stats.badStart++;
      return [];
    }
    const total = HEADER + ((piece[2]! << 8) | piece[3]!);
    if (total > this.maxPacket) {
      this.#stats.oversize++;
      return [];
    }
    if (piece.length > total) {
      this.#stats.badStart++;
      return [];
    }
    this.#buf = new Uint8Array(total);
    this.#buf.set(piece, 0);
    this.#have = piece.length;
    return this.#complete();
  }

  #complete(): Uint8Array[] {
    const b = this.#buf!;
    if (this.#have < b.length) return [];
    this.#buf = undefined;
    this.#have = 0;
    this.#stats.packets++;
    return [b];
  }
}
