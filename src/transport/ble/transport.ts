/**
 * The BLE {@link Transport}: SMP packets over the GATT characteristic of a {@link BleLink}
 * (PROTOCOL.md §5.2). A packet longer than one ATT payload is written as consecutive pieces of
 * `mtu − 3` bytes, which Zephyr reassembles by the header's length
 * (`CONFIG_MCUMGR_TRANSPORT_BT_REASSEMBLY`); answers come back as notifications of at most
 * `mtu − 3` bytes and are rebuilt the same way here. Writes of one packet are never interleaved
 * with another's: the device has a single reassembly context.
 * @module
 */
import { SmpClosedError, SmpFrameSizeError, TransportError } from '../../errors.js';
import { TransportEmitter } from '../emitter.js';
import type { Transport, TransportEvents } from '../transport.js';
import type { BleAdapter, BleAdvertisement, BleLink } from './adapter.js';
import { GattReassembler, splitPacket, type ReassemblerStats } from './gatt.js';

/** Options of {@link openBleTransport}. */
export interface BleTransportOptions {
  /** `NAME`, `AA:BB:CC:DD:EE:FF` or a stack's peripheral id (noble's, e.g. a UUID on macOS). */
  target: string;
  /** The Bluetooth stack. Default: `@abandonware/noble` (loaded on first use). */
  adapter?: BleAdapter;
  /** How long to scan for the target, ms. Default 10000. */
  scanTimeoutMs?: number;
  /** Deadline of connect + MTU exchange + discovery, ms. Default 15000. */
  connectTimeoutMs?: number;
  /**
   * ATT MTU to ask for, where the adapter lets the caller choose (the simulator's does; noble's
   * HCI binding asks 256 by itself). The link uses what both sides accept; see `BleTransport.mtu`.
   */
  mtu?: number;
  /**
   * Whether the device reassembles requests written in several pieces
   * (`CONFIG_MCUMGR_TRANSPORT_BT_REASSEMBLY`). Default true; false limits requests to one
   * piece (`mtu − 3` bytes), as such a device needs.
   */
  deviceReassembly?: boolean;
  /** A partial answer with no new piece for this long is dropped, ms. Default 3000. */
  stallMs?: number;
}

/** Counters of a {@link BleTransport}. */
export interface BleTransportStats extends ReassemblerStats {
  /** Pieces written. */
  writes: number;
  /** Notifications received. */
  notifications: number;
}

/** A {@link Transport} over one BLE link. */
export class BleTransport implements Transport {
  readonly kind = 'ble';
  /** The reassembler hands each packet as a fresh copy. */
  readonly ownPackets = true;
  /** The device the link goes to, as the scan saw it. */
  readonly device: BleAdvertisement;
  /** The negotiated ATT MTU. */
  readonly mtu: number;
  readonly #link: BleLink;
  readonly #events = new TransportEmitter();
  readonly #rx: GattReassembler;
  readonly #reassembly: boolean;
  readonly #stallMs: number;
  #stall: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  #unref = false;
  #writes = 0;
  #notifications = 0;
  readonly #off: Array<() => void>;

  constructor(link: BleLink, device: BleAdvertisement, opts: Pick<BleTransportOptions, 'deviceReassembly' | 'stallMs'> = {}) {
    this.#link = link;
    this.device = device;
    this.mtu = link.mtu;
    this.#reassembly = opts.deviceReassembly ?? true;
    this.#stallMs = opts.stallMs ?? 3000;
    this.#rx = new GattReassembler();
    this.#off = [
      link.onNotification((piece) => this.#piece(piece)),
      link.onDisconnect((reason) => this.#dropped(reason)),
    ];
  }

  /**
   * The bytes of one write (ATT MTU − 3). A request costs a whole number of writes, each a
   * link-layer packet or more, so transfers size their requests to a multiple of this: a
   * 2475-byte buffer at MTU 247 carries 2440-byte requests in 10 writes rather than 2475 in 11.
   */
  get writeQuantum(): number {
    return this.mtu - 3;
  }

  /** Without device reassembly a request must fit one piece; with it, the device's buffer is the limit. */
  get maxPacket(): number | undefined {
    return this.#reassembly ? undefined : this.mtu - 3;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Counters. */
  stats(): BleTransportStats {
    return { ...this.#rx.stats(), writes: this.#writes, notifications: this.#notifications };
  }

  send(packet: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new SmpClosedError('the BLE link is closed'));
    if (!(packet instanceof Uint8Array)) return Promise.reject(new TypeError('send(packet): packet must be a Buffer or Uint8Array'));
    const max = this.maxPacket;
    if (max !== undefined && packet.length > max) {
      return Promise.reject(
        new SmpFrameSizeError(
          `packet of ${packet.length} bytes does not fit one BLE write of ${max} bytes (ATT MTU ${this.mtu} − 3) and the device does not reassemble; ` +
            'enable CONFIG_MCUMGR_TRANSPORT_BT_REASSEMBLY on the device or lower the frame size',
        ),
      );
    }
    // Copy now: the caller may reuse its buffer before the last piece is written.
    const pieces = splitPacket(Uint8Array.from(packet), this.mtu);
    const run = this.#writing.then(async () => {
      for (const p of pieces) {
        if (this.#closed) throw new SmpClosedError('the BLE link closed while a request was being written');
        await this.#link.write(p);
        this.#writes++;
      }
    });
    // The chain goes on after a failed write; the failure belongs to this send only.
    this.#writing = run.catch(() => undefined);
    return run.catch((e: unknown) => {
      if (e instanceof SmpClosedError) throw e;
      const msg = (e as Error)?.message ?? String(e);
      // A write without response fails only when the connection is gone; the stack's disconnect
      // event may come later, so the link is closed now and the caller sees it closed.
      this.#dropped(`a write failed: ${msg}`);
      throw new TransportError(`BLE write failed: ${msg}`, { cause: e });
    });
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): () => void {
    return this.#events.on(event, listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#shut();
    await this.#link.disconnect().catch(() => undefined);
    this.#events.emit('close');
  }

  unref(): void {
    this.#unref = true;
    this.#stall?.unref();
  }

  #piece(piece: Uint8Array): void {
    if (this.#closed) return;
    this.#notifications++;
    for (const p of this.#rx.push(piece)) this.#events.emit('packet', Buffer.from(p.buffer, p.byteOffset, p.length));
    this.#armStall();
  }

  #armStall(): void {
    if (this.#stall) clearTimeout(this.#stall);
    this.#stall = undefined;
    if (this.#rx.pending === 0) return;
    this.#stall = setTimeout(() => {
      this.#stall = undefined;
      this.#rx.reset();
    }, this.#stallMs);
    if (this.#unref) this.#stall.unref();
  }

  #dropped(reason: string): void {
    if (this.#closed) return;
    this.#shut();
    const name = this.device.name ?? this.device.address ?? this.device.id;
    this.#events.emit('error', new TransportError(`the BLE link to ${name} dropped (${reason}); reconnect to go on`));
    this.#events.emit('close');
  }

  #shut(): void {
    this.#closed = true;
    if (this.#stall) clearTimeout(this.#stall);
    this.#stall = undefined;
    this.#rx.reset();
    for (const off of this.#off) off();
  }
}

/** Whether an advertisement is the device `target` names (id, address or name). */
export function matchesTarget(adv: BleAdvertisement, target: string): boolean {
  const t = target.toLowerCase();
  const flat = t.replace(/[:-]/g, '');
  return (
    adv.id.toLowerCase() === t ||
    adv.id.toLowerCase().replace(/[:-]/g, '') === flat ||
    (adv.address !== undefined && adv.address.toLowerCase() === t) ||
    adv.name === target
  );
}

/**
 * Scans for `opts.target`, connects, negotiates the MTU, subscribes, and returns the transport.
 * @throws TransportError when the device is not seen within `scanTimeoutMs` (the message lists
 *   the SMP devices that were seen), or when connecting fails.
 * @example
 * const t = await openBleTransport({ target: 'Zephyr' });
 * const client = MCUmgrClient.fromTransport(t);
 */
export async function openBleTransport(opts: BleTransportOptions): Promise<BleTransport> {
  if (opts === null || typeof opts !== 'object') throw new TypeError('openBleTransport(opts): opts must be an object');
  if (typeof opts.target !== 'string' || opts.target.trim() === '') {
    throw new TypeError('opts.target must name the device: its advertised name, its address AA:BB:CC:DD:EE:FF, or its peripheral id');
  }
  const target = opts.target.trim();
  const adapter = opts.adapter ?? (await (await import('./noble.js')).nobleAdapter());
  const scanTimeoutMs = positive('scanTimeoutMs', opts.scanTimeoutMs ?? 10000);
  const connectTimeoutMs = positive('connectTimeoutMs', opts.connectTimeoutMs ?? 15000);
  const seen = await adapter.scan({ timeoutMs: scanTimeoutMs, until: (a) => matchesTarget(a, target) });
  const dev = seen.find((a) => matchesTarget(a, target));
  if (!dev) {
    const smp = seen.filter((a) => a.smp).map((a) => a.name ?? a.address ?? a.id);
    throw new TransportError(
      `no BLE device "${target}" advertised within ${scanTimeoutMs} ms (${adapter.name}); ` +
        (smp.length ? `SMP devices seen: ${smp.join(', ')}` : 'no SMP device was seen: is it advertising and in range?') +
        '; run `mcumgr list --ble` to list them',
    );
  }
  let link: BleLink;
  try {
    link = await adapter.connect(dev.id, { timeoutMs: connectTimeoutMs, ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}) });
  } catch (e) {
    if (e instanceof TransportError) throw e;
    throw new TransportError(`connecting to BLE device ${dev.name ?? dev.id} failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
  const o: Pick<BleTransportOptions, 'deviceReassembly' | 'stallMs'> = {};
  if (opts.deviceReassembly !== undefined) o.deviceReassembly = opts.deviceReassembly;
  if (opts.stallMs !== undefined) o.stallMs = positive('stallMs', opts.stallMs);
  return new BleTransport(link, dev, o);
}

function positive(name: string, v: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a positive number of ms, got ${String(v)}`);
  return v;
}
