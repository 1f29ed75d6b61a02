/**
 * PTYs for the simulated device: the simulator holds the master side and hands the slave path to
 * any serial client. Built on the addon's `PtyHandle`, which polls the master on the calling
 * thread's loop and writes it without blocking (a master written through a `tty` stream would
 * block the event loop: DESIGN.md).
 *
 * The handle keeps one fd of the slave side open for its whole life, so the master never reads EIO
 * when no client has the path open: clients may come and go, and the simulator just sees silence.
 * @module
 */
import { native, type NativeAddon, type NativeSerialPort } from '../addon.js';
import { SmpClosedError, TransportError } from '../errors.js';

/** The master side of a PTY. */
export interface Pty {
  /** Slave path for clients, e.g. `/dev/pts/3`. */
  readonly path: string;
  /** Writes to the client (queued when the kernel's buffer is full). Throws once closed. */
  write(data: Uint8Array): void;
  /** Subscribes to bytes from the client; returns the unsubscribe function. */
  onData(listener: (chunk: Buffer) => void): () => void;
  /** Subscribes to failures of the master (it is closed afterwards). */
  onError(listener: (err: Error) => void): () => void;
  /** Bytes written but not yet accepted by the kernel. */
  pending(): number;
  /** Resolves once every byte written so far is accepted by the kernel. */
  drain(): Promise<void>;
  /** Closes the master (a client on the slave path then reads a hangup). Idempotent. */
  close(): void;
  readonly closed: boolean;
  /** Lets the process exit while the PTY is open. */
  unref(): void;
  ref(): void;
}

/** True when this build of the addon can make PTYs. */
export function ptyAvailable(addon: NativeAddon | undefined = native): boolean {
  return typeof addon?.openPty === 'function' && typeof addon.PtyHandle === 'function';
}

/** Bytes kept for a listener that has not subscribed yet (then the oldest are dropped). */
const EARLY_BUFFER_LIMIT = 1 << 20;

class PtyImpl implements Pty {
  readonly path: string;
  readonly #handle: NativeSerialPort;
  readonly #data = new Set<(chunk: Buffer) => void>();
  readonly #errors = new Set<(err: Error) => void>();
  #early: Buffer[] = [];
  #earlyBytes = 0;
  #closed = false;
  #drainWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(addon: NativeAddon) {
    let fd: number;
    let path: string;
    try {
      ({ fd, path } = addon.openPty!());
    } catch (e) {
      throw new TransportError(`cannot create a PTY: ${(e as Error).message}`, { cause: e });
    }
    this.path = path;
    try {
      this.#handle = new addon.PtyHandle!(
        fd,
        (chunk) => this.#onData(chunk),
        (err) => this.#onError(err),
        () => this.#onDrain(),
      );
    } catch (e) {
      throw new TransportError(`cannot open the PTY master of ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  write(data: Uint8Array): void {
    if (this.#closed) throw new SmpClosedError(`PTY ${this.path} is closed`);
    if (!(data instanceof Uint8Array)) throw new TypeError('write(data): data must be a Buffer or Uint8Array');
    try {
      this.#handle.write(data);
    } catch (e) {
      throw new TransportError(`write to PTY ${this.path} failed: ${(e as Error).message}`, { cause: e });
    }
  }

  onData(listener: (chunk: Buffer) => void): () => void {
    this.#data.add(listener);
    if (this.#early.length > 0) {
      const early = this.#early;
      this.#early = [];
      this.#earlyBytes = 0;
      queueMicrotask(() => {
        for (const c of early) if (!this.#closed) this.#deliver(c);
      });
    }
    return () => this.#data.delete(listener);
  }

  onError(listener: (err: Error) => void): () => void {
    this.#errors.add(listener);
    return () => this.#errors.delete(listener);
  }

  pending(): number {
    return this.#closed ? 0 : this.#handle.pending();
  }

  drain(): Promise<void> {
    if (this.#closed) return Promise.reject(new SmpClosedError(`PTY ${this.path} is closed`));
    if (this.#handle.pending() === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handle.close();
    this.#early = [];
    this.#rejectDrains();
  }

  unref(): void {
    if (!this.#closed) this.#handle.unref();
  }

  ref(): void {
    if (!this.#closed) this.#handle.ref();
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    if (this.#data.size === 0) {
      this.#early.push(chunk);
      this.#earlyBytes += chunk.length;
      while (this.#earlyBytes > EARLY_BUFFER_LIMIT && this.#early.length > 1) this.#earlyBytes -= this.#early.shift()!.length;
      return;
    }
    this.#deliver(chunk);
  }

  #deliver(chunk: Buffer): void {
    for (const l of [...this.#data]) {
      try {
        l(chunk);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  #onDrain(): void {
    const w = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const x of w) x.resolve();
  }

  #onError(err: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#rejectDrains();
    const wrapped = new TransportError(`PTY ${this.path} failed: ${err.message}`, { cause: err });
    for (const l of [...this.#errors]) {
      try {
        l(wrapped);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  #rejectDrains(): void {
    const w = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const x of w) x.reject(new SmpClosedError(`PTY ${this.path} closed before its output drained`));
  }
}

/**
 * Creates a PTY and returns its master side; give `pty.path` to a serial client.
 * @throws TransportError when the addon (with PTY support) is not loaded or the OS refuses.
 */
export function createPty(addon: NativeAddon | undefined = native): Pty {
  if (!addon || !ptyAvailable(addon)) {
    throw new TransportError(
      'PTYs need the native addon with serial I/O (Linux or macOS): run npm run build:native, or use the in-memory or UDP transport',
    );
  }
  return new PtyImpl(addon);
}

/** Same as {@link createPty}. */
export const openPtyPair: (addon?: NativeAddon) => Pty = createPty;
