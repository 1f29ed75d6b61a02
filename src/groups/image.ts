/**
 * Image management group (group 1, PROTOCOL.md §3.2): the slot list, test/confirm, erase, slot
 * info. The upload is a transfer (`transfer/image-upload.ts`); the client offers it as
 * `client.image.upload`.
 * @module
 */
import { Op } from '../codec/header.js';
import type { CborMap } from '../codec/cbor.js';
import { Group, ImageCmd, OsCmd } from '../protocol/ids.js';
import { ImageStateError } from '../errors.js';
import {
  argBytes,
  argCall,
  argUint,
  need,
  needMap,
  opt,
  type CallOptions,
  type GroupHost,
} from './util.js';

/** One slot of the device's image list ({@link ImageGroup.state}). */
export interface ImageSlotState {
  /** Image number (0 on single-image devices, which omit the field). */
  image: number;
  /** Slot within the image: 0 primary, 1 secondary. */
  slot: number;
  /** Version text: `major.minor.revision`, plus `.build` when build ≠ 0. */
  version: string;
  /**
   * The image hash (value of its SHA256 TLV; SHA384/512 on some MCUboot builds). Empty when the
   * device does not report hashes (MCUboot built without `MCUBOOT_SERIAL_IMG_GRP_HASH`).
   */
  hash: Buffer;
  /** The image may be booted (not flagged non-bootable). */
  bootable: boolean;
  /** Scheduled to boot next (test or permanent). */
  pending: boolean;
  /** Confirmed: will keep booting. */
  confirmed: boolean;
  /** Currently running. */
  active: boolean;
  /** Scheduled permanently (no revert). */
  permanent: boolean;
}

/** One slot in {@link ImageSlotInfo}. */
export interface SlotInfoEntry {
  /** 0 or 1 within the image. */
  slot: number;
  /** Slot size in bytes (absent when the device could not open the flash area). */
  size?: number;
  /** The `image` value an upload uses to target this slot, when the device says. */
  uploadImageId?: number;
  /** errno the device reported instead of `size` when the flash area could not be opened. */
  rc?: number;
}

/** One image in {@link ImageGroup.slotInfo}. */
export interface ImageSlotInfo {
  image: number;
  slots: SlotInfoEntry[];
  /** Largest image the device accepts, when it says. */
  maxImageSize?: number;
}

/** Hash lengths accepted by test/confirm: SHA-256 (Zephyr), SHA-384/512 (some MCUboot builds). */
const HASH_LENGTHS = [32, 48, 64] as const;
const W = 'image';

/** The image group's commands; reach it as `client.image`. */
export class ImageGroup {
  readonly #host: GroupHost;

  /** @internal */
  constructor(host: GroupHost) {
    this.#host = host;
  }

  /**
   * The device's image slots with their flags. Devices built with the frugal list omit false
   * flags; they read as `false` here.
   * @example
   * ```ts
   * for (const s of await client.image.state()) console.log(s.slot, s.version, s.hash.toString('hex'));
   * ```
   */
  async state(options?: CallOptions): Promise<ImageSlotState[]> {
    const call = argCall(options);
    const { body } = await this.#host.request(Op.READ, Group.IMAGE, ImageCmd.STATE, {}, call);
    return parseStateList(body, `${W} state`);
  }

  /**
   * Marks the image with `hash` for one test boot: MCUboot swaps it in at the next reset and
   * reverts unless it is confirmed. Resolves with the new slot list.
   *
   * MCUboot serial recovery (built with `MCUBOOT_SERIAL_IMG_GRP_IMAGE_STATE`) may not do what an
   * application does: where its `bs_set` ends in `boot_set_pending_multi` (MCUboot 2d4bacc3,
   * July 2026), the hash only picks the image and the secondary slot is always scheduled, even
   * for the hash of the primary one. Other MCUboot versions check the slot the hash names.
   * @param hash the image hash (from {@link ImageGroup.state} or `parseImage(bytes).hash`), as
   *   bytes or hex.
   */
  async test(hash: Uint8Array | string, options?: CallOptions): Promise<ImageSlotState[]> {
    const h = argBytes('hash', hash, { hex: true, lengths: HASH_LENGTHS });
    const call = argCall(options);
    const { body } = await this.#host.request(Op.WRITE, Group.IMAGE, ImageCmd.STATE, { hash: h, confirm: false }, call);
    return parseStateList(body, `${W} test`);
  }

  /**
   * Confirms an image: without `hash` the running one (so it is kept after a test boot), with
   * `hash` the image to make permanent. Resolves with the new slot list.
   *
   * Over a serial link, a call without `hash` first asks whether the device is MCUboot serial
   * recovery ({@link ImageGroup.isSerialRecovery}, one extra request) and refuses if it is: in
   * MCUboot versions whose `bs_set` calls `boot_set_pending_multi` (e.g. 2d4bacc3) the same
   * request confirms nothing but schedules a permanent swap to whatever image 0's secondary slot
   * holds (often the previous firmware); other versions differ, and none needs it. With `hash`,
   * those versions schedule the secondary slot of that hash's image (see {@link ImageGroup.test}).
   * @throws ImageStateError with code `IMAGE_ERR_HASH_REQUIRED` when `hash` is missing and the device
   *   is MCUboot serial recovery; nothing is written.
   */
  async confirm(hash?: Uint8Array | string, options?: CallOptions): Promise<ImageSlotState[]> {
    const body: CborMap = {};
    if (hash !== undefined) body.hash = argBytes('hash', hash, { hex: true, lengths: HASH_LENGTHS });
    body.confirm = true;
    const call = argCall(options);
    // boot_serial only runs on serial links: elsewhere the probe would be a wasted round trip.
    if (hash === undefined && this.#host.serialEncoding() !== undefined && (await this.isSerialRecovery(call))) {
      throw new ImageStateError(
        'IMAGE_ERR_HASH_REQUIRED',
        `${W} confirm: hash is required on MCUboot serial recovery, where a confirm without a hash does not confirm ` +
          "the running image but schedules a permanent swap to image 0's secondary slot (boot_serial bs_set). " +
          'An image uploaded in recovery sits in the primary slot and boots as it is: reset the device instead; ' +
          'to make the secondary slot image permanent on purpose, pass its hash',
      );
    }
    const { body: rsp } = await this.#host.request(Op.WRITE, Group.IMAGE, ImageCmd.STATE, body, call);
    return parseStateList(rsp, `${W} confirm`);
  }

  /**
   * Whether the device is MCUboot's serial recovery (`boot_serial`) rather than an application.
   * Its image list can look exactly like an application's, so this asks the console echo
   * control command (group 0, id 1), which boot_serial always answers with `rc` 0 and Zephyr's
   * MCUmgr, which has no handler for it, with `MGMT_ERR_ENOTSUP`. Read-only; no side effect
   * (but like any request it keeps an MCUboot waiting for DFU in recovery). An application that
   * implements console echo control (Mynewt's newtmgr) would be taken for recovery.
   * @throws SmpTimeoutError (and the other request errors) when the device does not answer.
   */
  async isSerialRecovery(options?: CallOptions): Promise<boolean> {
    const call = argCall(options);
    const { body } = await this.#host.request(Op.READ, Group.OS, OsCmd.CONSOLE_ECHO, {}, { ...call, rawErrors: true });
    return body.rc === 0 && body.err === undefined;
  }

  /**
   * Erases a slot (default: the device's choice, normally the secondary slot). Refused with
   * `IMG_MGMT_ERR_NO_FREE_SLOT` when the slot is in use. Uses the long timeout.
   */
  async erase(slot?: number, options?: CallOptions): Promise<void> {
    const body: CborMap = {};
    if (slot !== undefined) body.slot = argUint('slot', slot, { max: 0xffff });
    const call = argCall(options);
    await this.#host.request(Op.WRITE, Group.IMAGE, ImageCmd.ERASE, body, { ...call, timeoutClass: 'long' });
  }

  /** Sizes of the device's slots per image (needs `MCUMGR_GRP_IMG_SLOT_INFO`). */
  async slotInfo(options?: CallOptions): Promise<ImageSlotInfo[]> {
    const call = argCall(options);
    const { body } = await this.#host.request(Op.READ, Group.IMAGE, ImageCmd.SLOT_INFO, {}, call);
    const what = `${W} slot info`;
    return need(body, 'images', 'array', what).map((v, i) => {
      const m = needMap(v, `images[${i}]`, what);
      const w = `${what} (images[${i}])`;
      const info: ImageSlotInfo = {
        image: need(m, 'image', 'uint', w),
        slots: need(m, 'slots', 'array', w).map((sv, j) => {
          const s = needMap(sv, `images[${i}].slots[${j}]`, what);
          const ws = `${what} (images[${i}].slots[${j}])`;
          const e: SlotInfoEntry = { slot: need(s, 'slot', 'uint', ws) };
          const size = opt(s, 'size', 'uint', ws);
          const rc = opt(s, 'rc', 'int', ws);
          if (size === undefined && rc === undefined) need(s, 'size', 'uint', ws);
          if (size !== undefined) e.size = size;
          if (rc !== undefined) e.rc = rc;
          const id = opt(s, 'upload_image_id', 'uint', ws);
          if (id !== undefined) e.uploadImageId = id;
          return e;
        }),
      };
      const max = opt(m, 'max_image_size', 'uint', w);
      if (max !== undefined) info.maxImageSize = max;
      return info;
    });
  }
}

/** Decodes an image state answer (`images` list). */
export function parseStateList(body: CborMap, what: string): ImageSlotState[] {
  return need(body, 'images', 'array', what).map((v, i) => {
    const m = needMap(v, `images[${i}]`, what);
    const w = `${what} (images[${i}])`;
    return {
      image: opt(m, 'image', 'uint', w) ?? 0,
      slot: need(m, 'slot', 'uint', w),
      version: need(m, 'version', 'string', w),
      hash: opt(m, 'hash', 'bytes', w) ?? Buffer.alloc(0),
      bootable: opt(m, 'bootable', 'bool', w) ?? false,
      pending: opt(m, 'pending', 'bool', w) ?? false,
      confirmed: opt(m, 'confirmed', 'bool', w) ?? false,
      active: opt(m, 'active', 'bool', w) ?? false,
      permanent: opt(m, 'permanent', 'bool', w) ?? false,
    };
  });
}

/** What the first chunk of an image upload says about the image. */
export interface ImageUploadHead {
  /** Image number (multi-image devices). */
  image: number;
  /** Size of the whole image, bytes. */
  len: number;
  /** SHA-256 of the whole image, when sent: lets an interrupted upload resume. */
  sha?: Buffer;
  /** Ask the device to refuse an image not newer than the running one. */
  upgrade?: boolean;
}

/**
 * The fields of an image upload request (command 1) other than `data`, which the transfer
 * appends once it has sized the chunk: the first chunk (`head` given) names the image, its size
 * and hash; the others only their offset.
 */
export function imageUploadFields(off: number, head?: ImageUploadHead): CborMap {
  return head
    ? {
        image: head.image,
        len: head.len,
        off: 0,
        ...(head.sha === undefined ? {} : { sha: head.sha }),
        ...(head.upgrade ? { upgrade: true } : {}),
      }
    : { off };
}
