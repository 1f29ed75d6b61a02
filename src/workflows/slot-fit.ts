/**
 * Refuses an image larger than the slot it would go to, before the upload starts: otherwise the
 * device erases the slot and fails at the first chunk (`IMG_MGMT_ERR_IMAGE_TOO_LARGE`), or a
 * device without that check fails at the end of its flash area after minutes on a slow link.
 * The sizes come from `image slot info`, where the device answers it (Zephyr with
 * `CONFIG_MCUMGR_GRP_IMG_SLOT_INFO`); a device that does not is left to its own check.
 * @module
 */
import { fmtBytes } from '../describe.js';
import { McuMgrError, SmpDeviceError, SmpResponseError, SmpTimeoutError } from '../errors.js';
import type { ImageSlotInfo } from '../groups/image.js';

/** What the check needs of a client (MCUmgrClient provides it). */
export interface SlotInfoSource {
  image: { slotInfo(opts?: { signal?: AbortSignal }): Promise<ImageSlotInfo[]> };
}


/** What the check found: the limit and where it came from, or why there was none. */
export type SlotFit = { limit: number; source: string } | { limit: undefined; source: string };

/**
 * The largest image `image` may be on this device: the size of the slot uploads go to (the one
 * marked with `upload_image_id`, else the smallest of the image's slots), and `max_image_size`
 * when the device reports it.
 */
export async function slotLimit(client: SlotInfoSource, image: number, signal?: AbortSignal): Promise<SlotFit> {
  let infos;
  try {
    infos = await client.image.slotInfo(signal ? { signal } : undefined);
  } catch (e) {
    if (e instanceof SmpDeviceError) return { limit: undefined, source: `the device does not answer slot info (${e.rcName})` };
    // A lost or odd answer to this one question must not stop an update: the device checks too.
    if (e instanceof SmpTimeoutError || e instanceof SmpResponseError) return { limit: undefined, source: `slot info could not be read (${e.code})` };
    throw e;
  }
  const info = infos.find((i) => i.image === image);
  if (!info) return { limit: undefined, source: `slot info lists no image ${image}` };
  const sized = info.slots.filter((s) => s.size !== undefined);
  const target = sized.find((s) => s.uploadImageId === image) ?? sized.reduce<(typeof sized)[number] | undefined>((a, s) => (a && a.size! <= s.size! ? a : s), undefined);
  let limit = target?.size;
  let source = target ? `slot ${target.slot} of image ${image} is ${fmtBytes(target.size!)} (${target.size} bytes)` : '';
  if (info.maxImageSize !== undefined && (limit === undefined || info.maxImageSize < limit)) {
    limit = info.maxImageSize;
    source = `the device accepts images of at most ${fmtBytes(limit)} (${limit} bytes, max_image_size)`;
  }
  return limit === undefined ? { limit: undefined, source: 'slot info gives no slot size' } : { limit, source };
}

/**
 * Throws {@link McuMgrError} `IMAGE_ERR_TOO_LARGE` when an image of `size` bytes cannot fit;
 * returns what was checked otherwise. `firmwareUpdate` runs it before uploading.
 * @example
 * ```ts
 * const fit = await checkImageFits(client, bytes.length, 0); // throws before any chunk is sent
 * console.log(fit.source); // "slot 1 of image 0 is 240.0 KiB (245760 bytes)"
 * ```
 */
export async function checkImageFits(client: SlotInfoSource, size: number, image: number, signal?: AbortSignal): Promise<SlotFit> {
  const fit = await slotLimit(client, image, signal);
  if (fit.limit !== undefined && size > fit.limit) {
    throw new McuMgrError(
      'IMAGE_ERR_TOO_LARGE',
      `the image is ${fmtBytes(size)} (${size} bytes) but ${fit.source}: nothing was uploaded. ` +
        'Build a smaller image (e.g. drop features or logging) or enlarge the slot partitions in the device tree',
    );
  }
  return fit;
}
