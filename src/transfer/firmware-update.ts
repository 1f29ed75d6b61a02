/**
 * One-call firmware update: validate, upload (pipelined), mark, reset, reconnect, verify.
 *
 * The image is parsed and its hash verified before any byte is sent. It is marked for boot only
 * after the device has taken all of it and lists it, under the hash of the image file, in a slot
 * that is not running: a failed or partial upload is never marked.
 * @module
 */
import { parseImage, type ImageInfo } from '../image/index.js';
import { readFile, stat } from 'node:fs/promises';
import { AbortError, SmpClosedError, SmpTimeoutError, TransportError, VerifyError } from '../errors.js';
import { uploadImage, type ImageUploadOptions, type ImageUploadResult } from './image-upload.js';
import type { TransferContext } from './types.js';

/** One slot as the image state read reports it (the fields firmwareUpdate relies on). */
export interface SlotStateLike {
  image?: number;
  slot: number;
  hash: Buffer;
  version?: string;
  active?: boolean;
  confirmed?: boolean;
  pending?: boolean;
  permanent?: boolean;
}

/** What firmwareUpdate needs of a client (MCUmgrClient provides it). */
export interface FirmwareUpdateTarget {
  transferContext(): TransferContext;
  image: {
    state(opts?: { signal?: AbortSignal }): Promise<SlotStateLike[]>;
    test(hash: Buffer): Promise<unknown>;
    confirm(hash?: Buffer): Promise<unknown>;
  };
  os: {
    reset(opts?: { force?: boolean }): Promise<unknown>;
    echo(text: string, opts?: { timeoutMs?: number }): Promise<string>;
  };
  /** Reopens the link after the device re-enumerated (USB) — optional. */
  reconnect?(): Promise<void>;
}

/** The steps of an update, in order. */
export type UpdateStep = 'validate' | 'check' | 'upload' | 'mark' | 'reset' | 'reconnect' | 'verify' | 'confirm' | 'done';

/** Options of {@link firmwareUpdate}. */
export interface FirmwareUpdateOptions extends Omit<ImageUploadOptions, 'onProgress'> {
  /** `test`: boot the new image once, reverting unless confirmed; `confirm`: make it permanent. Default `confirm`. */
  mode?: 'test' | 'confirm';
  /** Reset the device after marking (default true). Without a reset, verification stops at "pending". */
  reset?: boolean;
  /** After a test boot, confirm the running new image (default false). */
  confirmAfterTest?: boolean;
  /** Read the state back after the reset and check that the new image runs (default true). */
  verify?: boolean;
  /** Upload and mark even when the running image already has this hash (default false). */
  force?: boolean;
  /** How long to wait for the device to answer after the reset. Default 30000 ms. */
  reconnectTimeoutMs?: number;
  /**
   * The image already parsed and validated by {@link parseImage} from these same bytes (e.g. on
   * another thread): skips parsing and hashing again. Its `uploadSha` is sent as the upload `sha`.
   */
  parsed?: ImageInfo;
  /** Called when a step starts. */
  onStep?: (step: UpdateStep, detail?: string) => void;
  /** Upload progress. */
  onProgress?: ImageUploadOptions['onProgress'];
}

/** What an update did. */
export interface FirmwareUpdateResult {
  /** True when the running image already had this hash and nothing was done. */
  alreadyInstalled: boolean;
  image: ImageInfo;
  upload: ImageUploadResult | undefined;
  /** The slot state read back at the end. */
  finalState: SlotStateLike[];
  /** Step that finished last (`done` on success). */
  step: UpdateStep;
  seconds: number;
}

/**
 * Updates the firmware of a device in one call.
 * @example
 * const r = await firmwareUpdate(client, 'build/zephyr/zephyr.signed.bin', { mode: 'confirm' });
 * console.log(r.alreadyInstalled ? 'already installed' : `uploaded at ${r.upload!.throughput} B/s`);
 */
export async function firmwareUpdate(
  target: FirmwareUpdateTarget,
  image: Uint8Array | string,
  opts: FirmwareUpdateOptions = {},
): Promise<FirmwareUpdateResult> {
  const started = performance.now();
  const mode = opts.mode ?? 'confirm';
  if (mode !== 'test' && mode !== 'confirm') throw new RangeError(`mode must be 'test' or 'confirm', got ${String(mode)}`);
  const step = (s: UpdateStep, detail?: string): void => opts.onStep?.(s, detail);
  const abortIf = (): void => {
    if (opts.signal?.aborted) throw new AbortError('the firmware update was aborted', { cause: opts.signal.reason });
  };

  step('validate');
  const bytes = typeof image === 'string' ? await readImageFile(image) : Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  const info = opts.parsed ?? parseImage(bytes); // throws ImageFormatError before anything is sent
  if (opts.parsed && opts.parsed.size !== bytes.length) throw new TypeError('parsed describes another image: its size differs from the bytes given');
  const imageNo = opts.image ?? 0;

  step('check');
  const before = await target.image.state({ signal: opts.signal });
  const running = before.find((s) => (s.image ?? 0) === imageNo && s.active);
  if (!opts.force && running && running.hash.equals(info.hash)) {
    step('done', 'already installed');
    return { alreadyInstalled: true, image: info, upload: undefined, finalState: before, step: 'done', seconds: secs(started) };
  }
  abortIf();

  step('upload');
  const upload = await uploadImage(target.transferContext(), bytes, {
    ...opts,
    image: imageNo,
    knownSha: opts.sha === false ? undefined : info.uploadSha,
    onProgress: opts.onProgress,
  });
  abortIf();

  step('mark');
  const after = await target.image.state({ signal: opts.signal });
  const landed = after.find((s) => (s.image ?? 0) === imageNo && s.hash.equals(info.hash) && !s.active);
  if (!landed) {
    throw new VerifyError(
      `after the upload the device lists no inactive slot of image ${imageNo} with hash ${info.hash.toString('hex')}; ` +
        'the image was not marked for boot',
    );
  }
  let markError: unknown;
  try {
    if (mode === 'test') await target.image.test(info.hash);
    else await target.image.confirm(info.hash);
  } catch (e) {
    // A lost answer to the write does not say whether it took: the state read below does.
    // (The write itself is never replayed.)
    if (!(e instanceof SmpTimeoutError)) throw e;
    markError = e;
  }
  const marked = await target.image.state({ signal: opts.signal });
  const pending = marked.find((s) => s.hash.equals(info.hash));
  if (!pending?.pending) {
    if (markError) throw markError;
    throw new VerifyError(`the device did not mark the new image pending (${mode})`);
  }

  if (opts.reset === false) {
    step('done', 'pending; reset the device to boot it');
    return { alreadyInstalled: false, image: info, upload, finalState: marked, step: 'done', seconds: secs(started) };
  }

  let finalState: SlotStateLike[] = marked;
  for (let attempt = 1; ; attempt++) {
    step('reset', attempt > 1 ? `attempt ${attempt}` : undefined);
    try {
      await target.os.reset();
    } catch (e) {
      // The device may have reset before its answer got out: waiting for it tells.
      if (!(e instanceof SmpTimeoutError)) throw e;
    }
    step('reconnect');
    await waitForDevice(target, opts.reconnectTimeoutMs ?? 30000, opts.signal);
    finalState = await target.image.state({ signal: opts.signal });
    // Still pending and not running: the reset request itself was lost. Ask once more.
    const still = finalState.find((s) => s.hash.equals(info.hash));
    if (attempt < 2 && still?.pending && !still.active) continue;
    break;
  }
  if (opts.verify !== false) {
    step('verify');
    const now = finalState.find((s) => (s.image ?? 0) === imageNo && s.active);
    if (!now || !now.hash.equals(info.hash)) {
      throw new VerifyError(
        `after the reset the device runs ${now ? `hash ${now.hash.toString('hex')} (${now.version ?? '?'})` : 'no listed image'}, ` +
          `not the new image ${info.hash.toString('hex')} (${info.versionString}); the bootloader may have refused or reverted it`,
      );
    }
    if (mode === 'confirm' && !now.confirmed) throw new VerifyError('the new image runs but is not confirmed');
    if (mode === 'test' && opts.confirmAfterTest) {
      step('confirm');
      await target.image.confirm(info.hash);
      finalState = await target.image.state({ signal: opts.signal });
      const c = finalState.find((s) => s.hash.equals(info.hash));
      if (!c?.confirmed) throw new VerifyError('confirming the test-booted image did not take');
    }
  }
  step('done');
  return { alreadyInstalled: false, image: info, upload, finalState, step: 'done', seconds: secs(started) };
}

/** Polls the device with echo until it answers, reopening the link when it dropped. */
async function waitForDevice(target: FirmwareUpdateTarget, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  // Zephyr answers the reset first and reboots ~250 ms later: do not take that window's echo.
  await sleep(400, signal);
  let last: unknown;
  while (performance.now() < deadline) {
    if (signal?.aborted) throw new AbortError('the firmware update was aborted', { cause: signal.reason });
    try {
      await target.os.echo('ping', { timeoutMs: 1000 });
      return;
    } catch (e) {
      last = e;
      if ((e instanceof SmpClosedError || e instanceof TransportError) && target.reconnect) {
        await target.reconnect().catch((err: unknown) => (last = err));
      }
      if (!(e instanceof SmpTimeoutError)) await sleep(250, signal);
    }
  }
  throw new SmpTimeoutError(`the device did not answer within ${timeoutMs} ms after the reset (last error: ${String(last)})`, timeoutMs);
}

async function readImageFile(path: string): Promise<Buffer> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new TypeError(`image: cannot read ${path}: ${e.code ?? e.message}`);
  });
  if (!st.isFile()) throw new TypeError(`image: ${path} is not a regular file`);
  if (st.size > 64 * 1024 * 1024) throw new RangeError(`image: ${path} is ${st.size} bytes, more than 64 MiB`);
  return readFile(path);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new AbortError('the firmware update was aborted', { cause: signal.reason }));
      },
      { once: true },
    );
  });
}

function secs(start: number): number {
  return (performance.now() - start) / 1000;
}
