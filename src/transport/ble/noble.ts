/**
 * The {@link BleAdapter} over `@abandonware/noble`, an optional peer dependency: it is imported
 * only here, only when a BLE connection is opened, and every way it can fail to start becomes a
 * {@link BleUnavailableError} that names the fix.
 * @module
 */
import { TransportError } from '../../errors.js';
import type { BleAdapter, BleAdvertisement, BleConnectOptions, BleLink, BleScanOptions } from './adapter.js';
import { BleUnavailableError } from './errors.js';
import { DEFAULT_ATT_MTU, SMP_CHARACTERISTIC_UUID, SMP_SERVICE_UUID } from './gatt.js';

/** The install command printed when noble is missing. */
export const NOBLE_INSTALL = 'npm install @abandonware/noble';
/** What noble needs on Linux to open the HCI socket without root. */
export const NOBLE_SETCAP = 'sudo setcap cap_net_raw+eip $(eval readlink -f $(which node))';

/* The part of noble's API used here (noble ships no types of its own that fit ESM). */
interface NobleCharacteristic {
  uuid: string;
  writeAsync(data: Buffer, withoutResponse: boolean): Promise<void>;
  subscribeAsync(): Promise<void>;
  on(ev: 'data', l: (data: Buffer, isNotification: boolean) => void): void;
  removeListener(ev: 'data', l: (data: Buffer, isNotification: boolean) => void): void;
}
interface NoblePeripheral {
  id: string;
  address?: string;
  rssi: number;
  mtu: number | null;
  state: string;
  advertisement: { localName?: string; serviceUuids?: string[] };
  connectAsync(): Promise<void>;
  disconnectAsync(): Promise<void>;
  discoverSomeServicesAndCharacteristicsAsync(s: string[], c: string[]): Promise<{ characteristics: NobleCharacteristic[] }>;
  once(ev: 'disconnect', l: (reason?: unknown) => void): void;
  removeListener(ev: 'disconnect', l: (reason?: unknown) => void): void;
}
interface Noble {
  state: string;
  on(ev: string, l: (...a: any[]) => void): void;
  removeListener(ev: string, l: (...a: any[]) => void): void;
  startScanningAsync(uuids: string[], dup: boolean): Promise<void>;
  stopScanningAsync(): Promise<void>;
}

const flat = (uuid: string): string => uuid.replace(/-/g, '').toLowerCase();

/** Options of {@link nobleAdapter}. */
export interface NobleAdapterOptions {
  /** How long to wait for the adapter to power on, ms. Default 5000. */
  readyTimeoutMs?: number;
  /** Imports the package (a test can point it elsewhere). Default `import('@abandonware/noble')`. */
  importer?: () => Promise<unknown>;
}

let shared: Promise<NobleAdapter> | undefined;

/**
 * The noble adapter, started once per process (noble itself is a process-wide singleton).
 * @throws BleUnavailableError when noble is not installed or the Bluetooth stack cannot start.
 * @example
 * const adapter = await nobleAdapter();
 * console.log(await adapter.scan({ timeoutMs: 3000 }));
 */
export function nobleAdapter(opts: NobleAdapterOptions = {}): Promise<BleAdapter> {
  if (opts.importer) return start(opts);
  shared ??= start(opts).catch((e: unknown) => {
    shared = undefined;
    throw e;
  });
  return shared;
}

async function start(opts: NobleAdapterOptions): Promise<NobleAdapter> {
  let mod: unknown;
  try {
    mod = await (opts.importer ?? (() => import('@abandonware/noble' as string)))();
  } catch (e) {
    throw unavailable(e);
  }
  const noble = ((mod as { default?: unknown }).default ?? mod) as Noble;
  await poweredOn(noble, opts.readyTimeoutMs ?? 5000);
  return new NobleAdapter(noble);
}

function unavailable(e: unknown): BleUnavailableError {
  const code = (e as { code?: string })?.code;
  const msg = (e as Error)?.message ?? String(e);
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    return new BleUnavailableError(
      'not-installed',
      `BLE needs the optional package @abandonware/noble, which is not installed; run \`${NOBLE_INSTALL}\` (it builds a native HCI binding: ` +
        `on Linux install build-essential and libudev-dev first, then allow it raw sockets: \`${NOBLE_SETCAP}\`)`,
      { cause: e },
    );
  }
  if (code === 'EAFNOSUPPORT') {
    return new BleUnavailableError(
      'no-bluetooth',
      `noble could not open a Bluetooth HCI socket (${msg}): this kernel or container has no Bluetooth support; ` +
        'run on a host with a Bluetooth adapter (a container needs --net=host and the host\'s bluetooth modules)',
      { cause: e },
    );
  }
  if (code === 'EPERM' || code === 'EACCES') return permission(msg, e);
  return new BleUnavailableError('unsupported', `noble failed to start: ${msg}`, { cause: e });
}

function permission(detail: string, cause?: unknown): BleUnavailableError {
  return new BleUnavailableError(
    'unauthorized',
    `noble is not allowed to open the Bluetooth HCI socket (${detail}); give node the raw-socket capability: \`${NOBLE_SETCAP}\` ` +
      '(or run as root), and stop bluetoothd from holding the adapter if it does (`sudo hciconfig hci0 down` is not needed with noble ≥ 1.9.2)',
    cause !== undefined ? { cause } : undefined,
  );
}

function poweredOn(noble: Noble, timeoutMs: number): Promise<void> {
  if (noble.state === 'poweredOn') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      noble.removeListener('stateChange', onState);
      if (err) reject(err);
      else resolve();
    };
    const onState = (s: string): void => {
      if (s === 'poweredOn') done();
      else if (s === 'unauthorized') done(permission('state unauthorized'));
      else if (s === 'unsupported') done(new BleUnavailableError('unsupported', 'noble reports no usable Bluetooth LE adapter (state unsupported); plug one in or pick it with NOBLE_HCI_DEVICE_ID=<n>'));
    };
    const timer = setTimeout(
      () => done(new BleUnavailableError('powered-off', `the Bluetooth adapter did not power on within ${timeoutMs} ms (state ${noble.state}); turn it on (\`bluetoothctl power on\`)`)),
      timeoutMs,
    );
    timer.unref();
    noble.on('stateChange', onState);
  });
}

class NobleAdapter implements BleAdapter {
  readonly name = 'noble';
  readonly #noble: Noble;
  readonly #seen = new Map<string, NoblePeripheral>();

  constructor(noble: Noble) {
    this.#noble = noble;
  }

  async scan(opts: BleScanOptions): Promise<BleAdvertisement[]> {
    const found = new Map<string, BleAdvertisement>();
    const noble = this.#noble;
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearTimeout(timer);
        noble.removeListener('discover', onDiscover);
        opts.signal?.removeEventListener('abort', finish);
        noble.stopScanningAsync().then(() => resolve(), () => resolve());
      };
      const onDiscover = (p: NoblePeripheral): void => {
        this.#seen.set(p.id, p);
        const a: BleAdvertisement = {
          id: p.id,
          rssi: p.rssi,
          smp: (p.advertisement.serviceUuids ?? []).some((u) => flat(u) === flat(SMP_SERVICE_UUID)),
        };
        if (p.address && p.address !== 'unknown') a.address = p.address.toUpperCase();
        if (p.advertisement.localName) a.name = p.advertisement.localName;
        found.set(p.id, { ...found.get(p.id), ...a });
        if (opts.until?.(a)) finish();
      };
      noble.on('discover', onDiscover);
      opts.signal?.addEventListener('abort', finish, { once: true });
      timer = setTimeout(finish, opts.timeoutMs);
      noble.startScanningAsync([], true).catch((e: unknown) => {
        clearTimeout(timer);
        noble.removeListener('discover', onDiscover);
        reject(new TransportError(`BLE scan failed: ${(e as Error)?.message ?? String(e)}`, { cause: e }));
      });
    });
    return [...found.values()];
  }

  async connect(id: string, opts: BleConnectOptions): Promise<BleLink> {
    const p = this.#seen.get(id);
    if (!p) throw new TransportError(`BLE device ${id} was not seen by a scan; scan first`);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TransportError(`connecting to BLE device ${id} took longer than ${opts.timeoutMs} ms`)), opts.timeoutMs);
    });
    try {
      await Promise.race([p.connectAsync(), deadline]);
      const { characteristics } = await Promise.race([
        p.discoverSomeServicesAndCharacteristicsAsync([flat(SMP_SERVICE_UUID)], [flat(SMP_CHARACTERISTIC_UUID)]),
        deadline,
      ]);
      const chr = characteristics.find((c) => flat(c.uuid) === flat(SMP_CHARACTERISTIC_UUID));
      if (!chr) throw new TransportError(`BLE device ${id} has no SMP characteristic ${SMP_CHARACTERISTIC_UUID}; is MCUmgr's Bluetooth transport enabled?`);
      await Promise.race([chr.subscribeAsync(), deadline]);
      return new NobleLink(p, chr);
    } catch (e) {
      await p.disconnectAsync().catch(() => undefined);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }
}

class NobleLink implements BleLink {
  readonly #p: NoblePeripheral;
  readonly #chr: NobleCharacteristic;

  constructor(p: NoblePeripheral, chr: NobleCharacteristic) {
    this.#p = p;
    this.#chr = chr;
  }

  /** noble's HCI binding exchanges the MTU (asking 256) while it connects; the result lands here. */
  get mtu(): number {
    return this.#p.mtu ?? DEFAULT_ATT_MTU;
  }

  write(piece: Uint8Array): Promise<void> {
    return this.#chr.writeAsync(Buffer.from(piece), true);
  }

  onNotification(listener: (piece: Uint8Array) => void): () => void {
    const l = (data: Buffer, isNotification: boolean): void => {
      if (isNotification) listener(data);
    };
    this.#chr.on('data', l);
    return () => this.#chr.removeListener('data', l);
  }

  onDisconnect(listener: (reason: string) => void): () => void {
    const l = (reason?: unknown): void => listener(reason === undefined ? 'disconnected' : `reason ${String(reason)}`);
    this.#p.once('disconnect', l);
    return () => this.#p.removeListener('disconnect', l);
  }

  async disconnect(): Promise<void> {
    if (this.#p.state !== 'disconnected') await this.#p.disconnectAsync();
  }
}
