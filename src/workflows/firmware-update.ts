/**
 * One-call firmware update: validate, upload (pipelined), mark, reset, reconnect, verify.
 *
 * The image is parsed and its hash verified before any byte is sent. It is marked for boot only
 * after the device has taken all of it and lists it, under the hash of the image file, in a slot
 * that is not running: a failed or partial upload is never marked.
 *
 * A device in MCUboot serial recovery takes the image straight into its primary slot, which
 * MCUboot boots as it is; its set-state command would schedule the secondary slot instead
 * (`bs_set`), so there nothing is marked: upload, reset, and check that the application runs it.
 * @module
 */
import { parseImage, readImageFile, type ImageInfo } from '../image/index.js';
import { setTimeout as delay } from 'node:timers/promises';
import { AbortError, ImageStateError, SmpClosedError, SmpTimeoutError, TransportError, VerifyError } from '../errors.js';
import { uploadImage, type ImageUploadOptions, type ImageUploadResult } from '../transfer/image-upload.js';
import type { TransferContext } from '../transfer/types.js';
import type { ImageSlotInfo } from '../groups/image.js';
import { checkImageFits } from './slot-fit.js';

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
    state(opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<SlotStateLike[]>;
    test(hash: Buffer): Promise<unknown>;
    confirm(hash?: Buffer): Promise<unknown>;
    /** True when the device is MCUboot serial recovery (`ImageGroup.isSerialRecovery`); without it, never assumed. */
    isSerialRecovery?(opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<boolean>;
    /** Slot sizes (`image slot info`); with it, an image too large for its slot is refused before the upload. */
    slotInfo?(opts?: { signal?: AbortSignal }): Promise<ImageSlotInfo[]>;
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
  /**
   * `test` (default): boot the new image once; MCUboot reverts it at the next reset unless it is
   * confirmed, which this call does once the image runs (`confirmAfterTest`). `confirm`: make it
   * permanent before the reset, with no way back if it fails to come up. Ignored for a device in
   * MCUboot serial recovery: the image goes into the primary slot and is booted as it is.
   */
  mode?: 'test' | 'confirm';
  /** Reset the device after marking (default true). Without a reset, verification stops at "pending". */
  reset?: boolean;
  /** After a test boot, confirm the running new image (default true). */
  confirmAfterTest?: boolean;
  /** Read the state back after the reset and check that the new image runs (default true). */
  verify?: boolean;
  /**
   * Before uploading, ask the device for its slot sizes (`image slot info`, where it answers) and
   * refuse an image that cannot fit with `IMAGE_ERR_TOO_LARGE`, naming both sizes (default true).
   */
  checkSlotSize?: boolean;
  /** Upload and mark even when the running image already has this hash (default false). */
  force?: boolean;
  /** How long to wait for the device to come back after the reset (a large swap takes a while). Default 60000 ms. */
  reconnectTimeoutMs?: number;
  /** Silence kept after the reset before the first request (see `awaitReboot`). Default 1500 ms. */
  resetQuietMs?: number;
  /** Send the reset once more when the new image is still pending this long after it. Default 6000 ms. */
  resetRetryMs?: number;
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
  const mode = opts.mode ?? 'test';
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
  const isRecovery = async (): Promise<boolean> => (await target.image.isSerialRecovery?.({ signal: opts.signal })) ?? false;
  if (await isRecovery()) return updateInRecovery(target, bytes, info, imageNo, before, isRecovery, opts, started);
  const running = before.find((s) => (s.image ?? 0) === imageNo && s.active);
  if (!opts.force && running && running.hash.equals(info.hash)) {
    step('done', 'already installed');
    return { alreadyInstalled: true, image: info, upload: undefined, finalState: before, step: 'done', seconds: secs(started) };
  }
  abortIf();

  // Uploaded and marked by an earlier run that stopped before the reset: the slot is "in use"
  // (Zephyr refuses a new upload into it, NO_FREE_SLOT), so go straight to the reset.
  const alreadyPending = before.find((s) => (s.image ?? 0) === imageNo && !s.active && s.pending && s.hash.equals(info.hash));
  const { upload, after } = alreadyPending ? { upload: undefined, after: before } : await uploadThenRead(target, bytes, info, imageNo, opts);

  step('mark', alreadyPending ? 'already pending from an earlier run' : undefined);
  const landed = after.find((s) => (s.image ?? 0) === imageNo && s.hash.equals(info.hash) && !s.active);
  if (!landed) {
    throw new VerifyError(
      `after the upload the device lists no inactive slot of image ${imageNo} with hash ${info.hash.toString('hex')}; ` +
        'the image was not marked for boot',
    );
  }
  // A lost answer to the write does not say whether it took: the state read after it does. Only
  // when that read shows it did not (the request itself was lost: the device works in order, so
  // it would have been handled before the read) is it sent once more.
  let marked: SlotStateLike[];
  for (let attempt = 0; ; attempt++) {
    let markError: unknown;
    try {
      if (alreadyPending) {
        // nothing to write
      } else if (mode === 'test') await target.image.test(info.hash);
      else await target.image.confirm(info.hash);
    } catch (e) {
      if (!(e instanceof SmpTimeoutError)) throw e;
      markError = e;
    }
    marked = await target.image.state({ signal: opts.signal });
    if (marked.find((s) => s.hash.equals(info.hash))?.pending) break;
    if (markError && attempt === 0) continue;
    if (markError) throw markError;
    throw new VerifyError(`the device did not mark the new image pending (${mode})`);
  }

  if (opts.reset === false) {
    step('done', 'pending; reset the device to boot it');
    return { alreadyInstalled: false, image: info, upload, finalState: marked, step: 'done', seconds: secs(started) };
  }

  step('reset');
  const resetAt = performance.now();
  await resetTolerant(target);
  step('reconnect');
  let finalState = await awaitReboot(target, info.hash, imageNo, resetAt, isRecovery, false, opts);
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
    if (mode === 'test' && opts.confirmAfterTest !== false) {
      step('confirm');
      let confirmError: unknown;
      try {
        await target.image.confirm(info.hash);
      } catch (e) {
        if (!(e instanceof SmpTimeoutError)) throw e;
        confirmError = e; // the state read decides
      }
      finalState = await target.image.state({ signal: opts.signal });
      const c = finalState.find((s) => s.hash.equals(info.hash));
      if (!c?.confirmed) throw confirmError ?? new VerifyError('confirming the test-booted image did not take');
    }
  }
  step('done');
  return { alreadyInstalled: false, image: info, upload, finalState, step: 'done', seconds: secs(started) };
}

/**
 * Sends the reset; a lost answer or a link that drops as the device reboots is not a failure.
 * @returns whether the device answered.
 */
async function resetTolerant(target: FirmwareUpdateTarget): Promise<boolean> {
  try {
    await target.os.reset();
    return true;
  } catch (e) {
    if (!(e instanceof SmpTimeoutError || e instanceof SmpClosedError || e instanceof TransportError)) throw e;
    return false;
  }
}

/**
 * The update of a device in MCUboot serial recovery (`boot_serial`): its upload writes the
 * primary slot, which MCUboot boots without any mark. Marking would do harm: `bs_set` schedules
 * the secondary slot (often the previous firmware) whatever hash it is given.
 */
async function updateInRecovery(
  target: FirmwareUpdateTarget,
  bytes: Buffer,
  info: ImageInfo,
  imageNo: number,
  before: SlotStateLike[],
  isRecovery: () => Promise<boolean>,
  opts: FirmwareUpdateOptions,
  started: number,
): Promise<FirmwareUpdateResult> {
  const step = (s: UpdateStep, detail?: string): void => opts.onStep?.(s, detail);
  const inPrimary = (list: SlotStateLike[]): SlotStateLike | undefined =>
    list.find((s) => (s.image ?? 0) === imageNo && s.slot === 0 && s.hash.equals(info.hash));
  // Which slot an image number writes depends on how MCUboot was built: image N's primary, or
  // with MCUBOOT_SERIAL_DIRECT_IMAGE_UPLOAD a flat numbering (1 → image 0's primary, 2 → its
  // secondary, …). Only image 0 means the same slot either way.
  if (imageNo !== 0) {
    throw new ImageStateError(
      'IMAGE_ERR_RECOVERY_IMAGE',
      `image ${imageNo} cannot be updated through MCUboot serial recovery safely: the slot that number writes depends on the ` +
        "bootloader's build (with MCUBOOT_SERIAL_DIRECT_IMAGE_UPLOAD, 1 is image 0's primary slot). Nothing was written; " +
        'update it from the application, or call image.upload with the number your bootloader maps to that slot and reset',
    );
  }
  // A swap the application scheduled before the device entered recovery still runs at the next
  // reset, and would put the secondary slot's image over the one recovered into the primary.
  const scheduled = before.find((s) => (s.image ?? 0) === imageNo && s.slot !== 0 && (s.pending || s.permanent));
  if (scheduled) {
    throw new ImageStateError(
      'IMAGE_ERR_SWAP_SCHEDULED',
      `MCUboot serial recovery lists the image in slot ${scheduled.slot} of image ${imageNo} (${scheduled.hash.toString('hex')}) as ` +
        `${scheduled.permanent ? 'permanent' : 'pending'}: after the reset MCUboot would swap it in over the image this update puts into ` +
        'the primary slot. Nothing was written; reset the device out of recovery to let that swap run, or erase that slot (image erase), then update again',
    );
  }
  const { upload, after } = opts.force || !inPrimary(before) ? await uploadThenRead(target, bytes, info, imageNo, opts) : { upload: undefined, after: before };
  if (!inPrimary(after)) {
    // boot_serial lists only images that pass MCUboot's validation.
    throw new VerifyError(
      `MCUboot serial recovery does not list image ${info.hash.toString('hex')} in the primary slot of image ${imageNo} after the upload: ` +
        'it failed the bootloader\'s validation (signing key, encryption), or the bootloader reports no hashes ' +
        '(built without MCUBOOT_SERIAL_IMG_GRP_HASH); MCUboot will not boot that slot',
    );
  }
  step('mark', 'MCUboot serial recovery: the image is in the primary slot and boots as it is; nothing to mark');
  if (opts.reset === false) {
    step('done', 'in the primary slot; reset the device to boot it');
    return { alreadyInstalled: false, image: info, upload, finalState: after, step: 'done', seconds: secs(started) };
  }
  step('reset');
  const resetAt = performance.now();
  const acked = await resetTolerant(target);
  step('reconnect');
  const finalState = await awaitReboot(target, info.hash, imageNo, resetAt, isRecovery, !acked, opts);
  if (opts.verify !== false) {
    step('verify');
    const now = finalState.find((s) => (s.image ?? 0) === imageNo && s.active);
    if (!now || !now.hash.equals(info.hash)) {
      throw new VerifyError(
        `after the reset the application runs ${now ? `hash ${now.hash.toString('hex')} (${now.version ?? '?'})` : 'no listed image'}, ` +
          `not the new image ${info.hash.toString('hex')} (${info.versionString})`,
      );
    }
  }
  step('done');
  return { alreadyInstalled: false, image: info, upload, finalState, step: 'done', seconds: secs(started) };
}

/**
 * The upload step: refuses an image too large for its slot where the device tells its slot sizes
 * (before any chunk), uploads, and reads the image state back.
 */
async function uploadThenRead(
  target: FirmwareUpdateTarget,
  bytes: Buffer,
  info: ImageInfo,
  imageNo: number,
  opts: FirmwareUpdateOptions,
): Promise<{ upload: ImageUploadResult; after: SlotStateLike[] }> {
  if (opts.checkSlotSize !== false && target.image.slotInfo) {
    await checkImageFits(target as Parameters<typeof checkImageFits>[0], bytes.length, imageNo, opts.signal);
  }
  opts.onStep?.('upload');
  const upload = await uploadImage(target.transferContext(), bytes, {
    ...opts,
    image: imageNo,
    knownSha: opts.sha === false ? undefined : info.uploadSha,
    onProgress: opts.onProgress,
  });
  if (opts.signal?.aborted) throw new AbortError('the firmware update was aborted', { cause: opts.signal.reason });
  return { upload, after: await target.image.state({ signal: opts.signal }) };
}

/**
 * Waits until the device has rebooted into the new image, or shows it will not: polls the image
 * state (any answer, even an error, shows the device is up; a link that dropped is reopened).
 *
 * Nothing is sent for a quiet period first: Zephyr reboots some time after answering the reset
 * (`MCUMGR_GRP_OS_RESET_MS`, 250 ms by default), and MCUboot built with `BOOT_SERIAL_WAIT_FOR_DFU`
 * stays in serial recovery for good if any SMP request reaches it before its wait (500 ms from
 * power-up, at least one poll after a swap or validation that takes longer) ends.
 * If the new image is still pending and not running well after that, the reset request itself
 * was lost: it is sent once more.
 *
 * A device that answers as serial recovery is not waited for: its image list can look like the
 * application's, and confirming there would schedule the secondary slot. Only when the reset
 * sent from recovery went unanswered (`resendIfRecovery`) is it sent once more.
 * @throws VerifyError when the device is in MCUboot serial recovery after the reset.
 */
async function awaitReboot(
  target: FirmwareUpdateTarget,
  hash: Buffer,
  imageNo: number,
  resetAt: number,
  isRecovery: () => Promise<boolean>,
  resendIfRecovery: boolean,
  opts: FirmwareUpdateOptions,
): Promise<SlotStateLike[]> {
  const timeoutMs = opts.reconnectTimeoutMs ?? 60000;
  const deadline = resetAt + timeoutMs;
  const signal = opts.signal;
  await sleep(opts.resetQuietMs ?? 1500, signal);
  let resent = false;
  let last: unknown;
  const resend = async (): Promise<void> => {
    resent = true;
    await resetTolerant(target);
    await sleep(opts.resetQuietMs ?? 1500, signal);
  };
  while (performance.now() < deadline) {
    if (signal?.aborted) throw new AbortError('the firmware update was aborted', { cause: signal.reason });
    try {
      const st = await target.image.state({ signal, timeoutMs: 1000 });
      if (await isRecovery()) {
        if (resendIfRecovery && !resent) {
          await resend();
          continue;
        }
        throw new VerifyError(
          `the device answers as MCUboot serial recovery after the reset, so image ${hash.toString('hex')} is not running ` +
            '(nothing was confirmed): the recovery button or pin is held, the retained boot mode asks for recovery, ' +
            'or the bootloader waits for DFU (BOOT_SERIAL_WAIT_FOR_DFU) and a request reached it while it booted; ' +
            'then raise resetQuietMs beyond its boot time (a swap takes seconds), reset the device and check its image state',
        );
      }
      const running = st.find((s) => (s.image ?? 0) === imageNo && s.active);
      if (running?.hash.equals(hash)) return st;
      const ours = st.find((s) => s.hash.equals(hash));
      if (!ours?.pending) return st; // refused or reverted: the verify step says so
      if (!resent && performance.now() - resetAt > (opts.resetRetryMs ?? 6000)) {
        await resend();
        continue;
      }
    } catch (e) {
      if (e instanceof AbortError || e instanceof VerifyError) throw e;
      last = e;
      if ((e instanceof SmpClosedError || e instanceof TransportError) && target.reconnect) {
        await target.reconnect().catch((err: unknown) => (last = err));
      }
    }
    await sleep(250, signal);
  }
  throw new SmpTimeoutError(`the device did not come back with the new image within ${timeoutMs} ms of the reset (last: ${String(last)})`, timeoutMs);
}

async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal }); // removes its abort listener when the time is up
  } catch (e) {
    throw new AbortError('the firmware update was aborted', { cause: signal?.reason ?? e });
  }
}

function secs(start: number): number {
  return (performance.now() - start) / 1000;
}
