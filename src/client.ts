/**
 * `MCUmgrClient`: the promise facade over one device. It owns an {@link SmpSession} on a
 * {@link Transport}, knows the device's buffer size (the "frame size"), and offers one namespace
 * per management group (`client.os`, `client.image`, …) plus the one-call `firmwareUpdate()`.
 * @module
 */
import { Op } from './codec/header.js';
import type { CborMap } from './codec/cbor.js';
import { SmpSession, type SmpResponse, type SmpVersion } from './session.js';
import { SmpClosedError, SmpDeviceError } from './errors.js';
import type { Transport } from './transport/transport.js';
import type { TransferContext } from './transfer/types.js';
import { firmwareUpdate, type FirmwareUpdateOptions, type FirmwareUpdateResult, type FirmwareUpdateTarget } from './workflows/firmware-update.js';
import type { Connection } from './connection.js';
import { DEFAULT_UDP_PORT } from './transport/udp.js';
import { OsGroup, type McumgrParams } from './groups/os.js';
import { StatGroup } from './groups/stat.js';
import { SettingsGroup } from './groups/settings.js';
import { ShellGroup } from './groups/shell.js';
import { EnumGroup } from './groups/enum.js';
import { BasicGroup } from './groups/basic.js';
import { argBool, argCall, argInt, argOptions, describe, type CallOptions, type GroupHost, type GroupRequest } from './groups/util.js';
import {
  checkFrameSize,
  checkRetries,
  MAX_FRAME_SIZE,
  MIN_FRAME_SIZE,
  mergeTimeouts,
  resolveOptions,
  type AutoFrameSize,
  type ClientOptions,
  type ClientTimeouts,
  type RawRequestOptions,
  type SerialClientOptions,
  type UdpClientOptions,
  type BleClientOptions,
} from './client/options.js';
import { buildTransferContext, ClientFsGroup, ClientImageGroup } from './client/transfers.js';
import { bleOpener, connectionOpener, reopenLink, serialOpener, udpOpener, usbSerialOpener } from './client/open.js';

/**
 * A connection to one MCUmgr device.
 *
 * @example
 * ```ts
 * await using client = await MCUmgrClient.serial('/dev/ttyACM0');
 * await client.useAutoFrameSize();
 * console.log(await client.os.echo('Hello world!'));
 * for (const slot of await client.image.state()) console.log(slot.slot, slot.version, slot.active);
 * ```
 */
export class MCUmgrClient implements AsyncDisposable {
  /** OS group (0): echo, reset, date-time, params, info, … */
  readonly os: OsGroup;
  /** Image group (1): slot list, test/confirm, upload, erase, slot info. */
  readonly image: ClientImageGroup;
  /** Statistics group (2). */
  readonly stat: StatGroup;
  /** Settings group (3). */
  readonly settings: SettingsGroup;
  /** File system group (8). */
  readonly fs: ClientFsGroup;
  /** Shell group (9). */
  readonly shell: ShellGroup;
  /** Enumeration group (10). */
  readonly enum: EnumGroup;
  /** Zephyr basic group (63). */
  readonly basic: BasicGroup;

  readonly #timeouts: ClientTimeouts;
  readonly #initialFrameSize: number;
  readonly #consoleFramingOption: boolean | undefined;
  readonly #version: SmpVersion;
  #consoleFraming: boolean;
  #transport: Transport;
  #session: SmpSession;
  #opener: (() => Promise<Transport>) | undefined;
  #reconnecting: Promise<void> | undefined;
  readonly #closeTransport: boolean;
  #retries: number;
  #frameSize: number;
  #params: McumgrParams | undefined;
  #closing: Promise<void> | undefined;

  /**
   * Wraps an open transport. Prefer the static constructors ({@link MCUmgrClient.serial},
   * {@link MCUmgrClient.udp}, {@link MCUmgrClient.connect}, {@link MCUmgrClient.fromTransport}).
   */
  constructor(transport: Transport, options?: ClientOptions) {
    if (transport === null || typeof transport !== 'object' || typeof transport.send !== 'function' || typeof transport.on !== 'function') {
      throw new TypeError(`transport must be a Transport (send, on, close), got ${describe(transport)}`);
    }
    const r = resolveOptions(options);
    this.#timeouts = r.timeouts;
    this.#retries = r.retries;
    this.#initialFrameSize = r.frameSize;
    this.#frameSize = r.frameSize;
    this.#consoleFramingOption = r.consoleFraming;
    this.#consoleFraming = r.consoleFraming ?? detectConsoleFraming(transport);
    this.#version = r.version;
    this.#closeTransport = r.closeTransport;
    this.#transport = transport;
    this.#session = new SmpSession(transport, { version: r.version, timeoutMs: r.timeouts.default });
    this.#session.maxPacket = this.maxRequest;

    const host: GroupHost = {
      request: (op, group, id, body, opts) => this.#request(op, group, id, body, opts),
      serialEncoding: () => this.#serialEncoding(),
      timeoutFor: (cls) => this.#timeouts[cls],
      rememberParams: (p) => {
        this.#params = { ...p };
      },
    };
    this.os = new OsGroup(host);
    this.image = new ClientImageGroup(host, () => this.transferContext());
    this.stat = new StatGroup(host);
    this.settings = new SettingsGroup(host);
    this.fs = new ClientFsGroup(host, () => this.transferContext());
    this.shell = new ShellGroup(host);
    this.enum = new EnumGroup(host);
    this.basic = new BasicGroup(host);
  }

  /* ---------------------------------------------------------------------------------------- */
  /* Constructors                                                                               */
  /* ---------------------------------------------------------------------------------------- */

  /** Wraps an open transport (e.g. the simulator's, or your own). */
  static fromTransport(transport: Transport, options?: ClientOptions): MCUmgrClient {
    return new MCUmgrClient(transport, options);
  }

  /**
   * Opens a serial port.
   * @example
   * ```ts
   * const client = await MCUmgrClient.serial('/dev/ttyACM0', { baudRate: 115200, encoding: 'console' });
   * ```
   */
  static async serial(path: string, options?: SerialClientOptions): Promise<MCUmgrClient> {
    return MCUmgrClient.#wrap(...(await serialOpener(path, options)));
  }

  /**
   * Opens the USB serial port of a device found by `vid:pid` or `vid:pid:serial` (hex ids).
   * @example
   * ```ts
   * const client = await MCUmgrClient.usbSerial('2fe3:0004');
   * ```
   */
  static async usbSerial(id: string, options?: SerialClientOptions): Promise<MCUmgrClient> {
    return MCUmgrClient.#wrap(...(await usbSerialOpener(id, options)));
  }

  /**
   * Talks to a device over UDP (Zephyr listens on port 1337).
   * @example
   * ```ts
   * const client = await MCUmgrClient.udp('192.0.2.1');
   * ```
   */
  static async udp(host: string, port: number = DEFAULT_UDP_PORT, options?: UdpClientOptions): Promise<MCUmgrClient> {
    return MCUmgrClient.#wrap(...udpOpener(host, port, options));
  }

  /**
   * Talks to a device over Bluetooth LE (SMP over GATT), found by advertised name, address
   * `AA:BB:CC:DD:EE:FF` or peripheral id. Uses `@abandonware/noble` unless `options.adapter` is
   * given; noble is an optional peer dependency (`npm install @abandonware/noble`).
   * @example
   * ```ts
   * const client = await MCUmgrClient.ble('Zephyr');
   * await client.useAutoFrameSize(); // buf_size / buf_count: bigger chunks, a window of buf_count − 1
   * ```
   */
  static async ble(target: string, options?: BleClientOptions): Promise<MCUmgrClient> {
    return MCUmgrClient.#wrap(...(await bleOpener(target, options)));
  }

  /**
   * Opens a connection described by a connection string (see `parseConnection`):
   * `serial:/dev/ttyACM0?baud=115200&encoding=console`, `usb:2fe3:0004[:serial]`,
   * `udp:192.0.2.1:1337`, `udp:[2001:db8::1]:1337`. Options in the string take precedence over
   * `options`.
   */
  static async connect(target: string | Connection, options?: ClientOptions): Promise<MCUmgrClient> {
    return MCUmgrClient.#wrap(...(await connectionOpener(target, options)));
  }

  static async #wrap(open: () => Promise<Transport>, opts: ClientOptions): Promise<MCUmgrClient> {
    const transport = await open();
    try {
      const client = new MCUmgrClient(transport, opts);
      client.#opener = open;
      return client;
    } catch (e) {
      await transport.close();
      throw e;
    }
  }

  /* ---------------------------------------------------------------------------------------- */
  /* State                                                                                      */
  /* ---------------------------------------------------------------------------------------- */

  /** The transport this client talks through (a new one after {@link MCUmgrClient.reconnect}). */
  get transport(): Transport {
    return this.#transport;
  }

  /** The SMP session (sequence numbers, matching, deadlines, counters). */
  get session(): SmpSession {
    return this.#session;
  }

  /**
   * True once the client (or its transport) is closed; every new call then rejects with
   * `SmpClosedError`. A client whose link dropped can be reopened with
   * {@link MCUmgrClient.reconnect}.
   */
  get closed(): boolean {
    return this.#closing !== undefined || this.#session.closed || this.#transport.closed;
  }

  /** Whether {@link MCUmgrClient.reconnect} can reopen the link (clients made by `serial`, `usbSerial`, `udp`, `connect`). */
  get canReconnect(): boolean {
    return this.#opener !== undefined && this.#closing === undefined;
  }

  /**
   * Closes the link and opens it again (a USB device is looked up again by its id), keeping the
   * client's settings. Used after a reset when the port disappeared (USB re-enumeration);
   * `firmwareUpdate()` calls it by itself. Requests in flight reject with `SmpClosedError`.
   * @throws SmpClosedError after {@link MCUmgrClient.close}; TypeError for a client made with
   *   `fromTransport` (it cannot reopen a transport it did not open).
   */
  reconnect(): Promise<void> {
    if (this.#closing) return Promise.reject(new SmpClosedError());
    const open = this.#opener;
    if (!open) {
      return Promise.reject(
        new TypeError('this client wraps a transport it did not open and cannot reopen it; create it with serial(), usbSerial(), udp() or connect()'),
      );
    }
    this.#reconnecting ??= (async () => {
      try {
        const t = await reopenLink({ session: this.#session, transport: this.#transport }, open, () => this.#closing !== undefined);
        this.#transport = t;
        this.#consoleFraming = this.#consoleFramingOption ?? detectConsoleFraming(t);
        this.#session = new SmpSession(t, { version: this.#version, timeoutMs: this.#timeouts.default });
        this.#session.maxPacket = this.maxRequest;
      } finally {
        this.#reconnecting = undefined;
      }
    })();
    return this.#reconnecting;
  }

  /** The per-class deadlines in ms (a copy). */
  get timeouts(): ClientTimeouts {
    return { ...this.#timeouts };
  }

  /** Changes some of the per-class deadlines. */
  setTimeouts(t: Partial<ClientTimeouts>): void {
    const next = mergeTimeouts(this.#timeouts, t);
    Object.assign(this.#timeouts, next);
    this.#session.timeoutMs = next.default;
  }

  /** Retries of idempotent reads after a timeout. */
  get retries(): number {
    return this.#retries;
  }
  set retries(n: number) {
    this.#retries = checkRetries(n);
  }

  /** The device buffer size assumed (`MCUMGR_TRANSPORT_NETBUF_SIZE`). */
  get frameSize(): number {
    return this.#frameSize;
  }

  /** Sets the device buffer size to assume, e.g. when you know the device's Kconfig. */
  setFrameSize(n: number): void {
    this.#frameSize = checkFrameSize('frameSize', n);
    this.#session.maxPacket = this.maxRequest;
  }

  /**
   * The largest request (header + CBOR) sent: the frame size, minus 4 over console serial (the
   * length prefix and CRC share the device's buffer), and no more than the transport carries.
   */
  get maxRequest(): number {
    const fromFrame = this.#consoleFraming ? this.#frameSize - 4 : this.#frameSize;
    const t = this.#transport.maxPacket;
    return t !== undefined && t > 0 ? Math.min(fromFrame, t) : fromFrame;
  }

  /** What `os mcumgr params` last answered, if it was asked. */
  get deviceParams(): McumgrParams | undefined {
    return this.#params ? { ...this.#params } : undefined;
  }

  /**
   * Asks the device for its buffer size and count (`os mcumgr params`) and uses them: the frame
   * size becomes `buf_size` and transfer windows are capped at `buf_count − 1`. Devices without
   * the command (`MGMT_ERR_ENOTSUP`) leave the frame size at the one the client was created with
   * (384 unless given).
   * @example
   * ```ts
   * const { frameSize, source } = await client.useAutoFrameSize();
   * ```
   */
  async useAutoFrameSize(options?: CallOptions): Promise<AutoFrameSize> {
    const call = argCall(options);
    try {
      const p = await this.os.mcumgrParams(call);
      this.setFrameSize(Math.min(MAX_FRAME_SIZE, Math.max(MIN_FRAME_SIZE, p.bufSize)));
      return { frameSize: this.#frameSize, maxRequest: this.maxRequest, bufCount: p.bufCount, source: 'device' };
    } catch (e) {
      if (e instanceof SmpDeviceError && e.style === 'rc' && e.rc === 8) {
        this.setFrameSize(this.#initialFrameSize);
        return { frameSize: this.#frameSize, maxRequest: this.maxRequest, bufCount: this.#params?.bufCount, source: 'fallback' };
      }
      throw e;
    }
  }

  /**
   * What the transfer engine needs: the session, the request size limit, the window cap.
   * @throws TransportError for a UDP client of a multicast or broadcast address: the upload
   *   state of several devices would mix under one sequence of answers.
   */
  transferContext(): TransferContext {
    if (this.closed) throw new SmpClosedError();
    return buildTransferContext(this.#transport, this.#session, this.maxRequest, this.#params?.bufCount);
  }

  #serialEncoding(): 'console' | 'raw' | 'cobs' | undefined {
    return this.#transport.kind === 'serial' ? this.#transport.encoding : undefined;
  }

  /* ---------------------------------------------------------------------------------------- */
  /* Requests                                                                                   */
  /* ---------------------------------------------------------------------------------------- */

  /**
   * Sends any SMP request and resolves with the answer (for groups or commands this client has
   * no method for, e.g. application groups ≥ 64).
   * @param op `Op.READ` (0) or `Op.WRITE` (2).
   * @param body a map to encode as CBOR, or an already encoded payload.
   * @throws SmpDeviceError for error answers unless `rawErrors` is set.
   * @example
   * ```ts
   * const { body } = await client.raw(Op.READ, 64, 0, { q: 1 });
   * ```
   */
  async raw(op: number, group: number, id: number, body: CborMap | Uint8Array = {}, options?: RawRequestOptions): Promise<SmpResponse> {
    if (op !== Op.READ && op !== Op.WRITE) throw new RangeError(`op must be Op.READ (0) or Op.WRITE (2), got ${describe(op)}`);
    argInt('group', group, 0, 0xffff);
    argInt('id', id, 0, 0xff);
    if (!(body instanceof Uint8Array) && (body === null || typeof body !== 'object' || Array.isArray(body))) {
      throw new TypeError(`body must be a plain object (a CBOR map) or encoded CBOR bytes, got ${describe(body)}`);
    }
    const o = argOptions('options', options);
    const call = argCall(o);
    if (o.rawErrors !== undefined) argBool('options.rawErrors', o.rawErrors);
    return this.#request(op, group, id, body, { ...call, rawErrors: o.rawErrors });
  }

  async #request(op: number, group: number, id: number, body: CborMap | Uint8Array, opts: GroupRequest = {}): Promise<SmpResponse> {
    // A command issued while the link is being reopened goes out on the new link.
    if (this.#reconnecting) await this.#reconnecting.catch(() => undefined);
    if (this.closed) throw new SmpClosedError();
    const timeoutMs = opts.timeoutMs ?? this.#timeouts[opts.timeoutClass ?? 'default'];
    return this.#session.request(op, group, id, body, {
      timeoutMs,
      signal: opts.signal,
      retries: op === Op.READ ? this.#retries : 0,
      rawErrors: opts.rawErrors,
    });
  }

  /**
   * Updates the firmware in one call: validates the image, uploads it (pipelined), marks it
   * (test or confirm), resets the device and checks that the new image runs.
   * @example
   * ```ts
   * const r = await client.firmwareUpdate('build/zephyr/zephyr.signed.bin', { mode: 'test' });
   * ```
   */
  async firmwareUpdate(image: Uint8Array | string, options?: FirmwareUpdateOptions): Promise<FirmwareUpdateResult> {
    if (!(image instanceof Uint8Array) && typeof image !== 'string') {
      throw new TypeError(`image must be the image bytes or a file path, got ${describe(image)}`);
    }
    const o = argOptions('options', options);
    if (this.closed) throw new SmpClosedError();
    const target: FirmwareUpdateTarget = {
      transferContext: () => this.transferContext(),
      image: this.image,
      os: this.os,
    };
    if (this.#opener) target.reconnect = () => this.reconnect();
    return firmwareUpdate(target, image, { ...o, firstTimeoutMs: o.firstTimeoutMs ?? this.#timeouts.long });
  }

  /* ---------------------------------------------------------------------------------------- */
  /* Closing                                                                                    */
  /* ---------------------------------------------------------------------------------------- */

  /**
   * Closes the client: requests in flight reject with `SmpClosedError`, and the transport is
   * closed (unless `closeTransport: false`). Idempotent.
   */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#session.close();
      this.#closing = this.#closeTransport ? this.#transport.close() : Promise.resolve();
    }
    return this.#closing;
  }

  /** `await using client = …` closes the client at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function detectConsoleFraming(t: Transport): boolean {
  if (t.kind !== 'serial') return false;
  return t.encoding === undefined || t.encoding === 'console';
}

