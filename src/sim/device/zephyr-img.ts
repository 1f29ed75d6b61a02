/**
 * Image management group (1) of the Zephyr personality (PROTOCOL.md §3.2): state read/write with
 * the MCUboot swap-type flag table, upload with the first-chunk checks in Zephyr's order, offset
 * echo, resume by `sha`, image check (`match`), erase and slot info. Swap-based MCUboot modes only
 * (the running image is always in the primary slot).
 * @module
 */
import { bool, bstr, decodeBulk, u32 } from './cbor-reader.js';
import { OMap, omap } from './cbor-writer.js';
import { Group, ImgErr, MgmtErr, translators } from './codes.js';
import { IMAGE_F_NON_BOOTABLE, IMAGE_HEADER_SIZE, IMAGE_MAGIC, compareVersions, parseHeader, readSlotInfo, sha256, versionString } from './image.js';
import { addErr, type GroupDef, type SmpCtx } from './smp.js';
import type { ZephyrDevice } from './zephyr.js';

/** Zephyr's single upload context (`g_img_mgmt_state`). */
export interface ImgUploadState {
  /** Absolute slot being written, or -1 when no upload is in progress. */
  slot: number;
  /** Bytes received so far = next expected offset. */
  off: number;
  /** Total image size (`len` of the first chunk). */
  size: number;
  /** `sha` of the first chunk (any length ≤ 32). */
  sha: Buffer;
}

/** A fresh, idle upload context. */
export function idleUpload(): ImgUploadState {
  return { slot: -1, off: 0, size: 0, sha: Buffer.alloc(0) };
}

type NextBootType = 'normal' | 'test' | 'revert';

const RSN = {
  hdrMalformed: 'header malformed',
  magic: 'magic mismatch',
  noSlot: 'no slot',
  eraseFailed: 'fa erase fail',
  writeFailed: 'fa write fail',
  downgrade: 'downgrade',
  tooLarge: 'img too large',
  overrun: 'data overrun',
} as const;

/** Builds the image group for `dev`. */
export function imgGroup(dev: ZephyrDevice): GroupDef {
  const handlers: GroupDef['handlers'] = [];
  handlers[0] = { read: (c) => stateRead(dev, c), write: (c) => stateWrite(dev, c) };
  handlers[1] = { write: (c) => upload(dev, c) };
  handlers[5] = { write: (c) => erase(dev, c) };
  if (dev.options.features.slotInfo) handlers[6] = { read: (c) => slotInfo(dev, c) };
  return { id: Group.IMAGE, name: 'img mgmt', handlers, translate: translators[Group.IMAGE] };
}

/** The running slot of `image` (swap modes: always the primary). */
function activeSlot(image: number): number {
  return image * 2;
}

function opposite(slot: number): number {
  return slot ^ 1;
}

/** `img_mgmt_get_next_boot_slot`. */
export function nextBoot(dev: ZephyrDevice, image: number): { slot: number; type: NextBootType } {
  const a = activeSlot(image);
  switch (dev.flash.swapType(image)) {
    case 'none':
      return { slot: a, type: 'normal' };
    case 'perm':
      return { slot: opposite(a), type: 'normal' };
    case 'revert':
      return { slot: opposite(a), type: 'revert' };
    case 'test':
      return { slot: opposite(a), type: 'test' };
  }
}

/** `img_mgmt_slot_in_use`. */
export function slotInUse(dev: ZephyrDevice, slot: number): boolean {
  const image = slot >> 1;
  const a = activeSlot(image);
  const nb = nextBoot(dev, image);
  if (slot === nb.slot && nb.type === 'revert') return true;
  if ((slot === nb.slot && nb.type === 'test') || (a !== nb.slot && nb.type === 'normal')) {
    if (!dev.options.allowEraseProtected) return true;
  }
  return a === slot;
}

function readInfo(dev: ZephyrDevice, slot: number) {
  if (!dev.flash.hasSlot(slot)) return { ok: false as const, err: ImgErr.FLASH_READ_FAILED };
  dev.busy += dev.flash.readCost(IMAGE_HEADER_SIZE);
  return readSlotInfo(dev.flash.view(slot));
}

function encodeSlot(dev: ZephyrDevice, list: OMap[], slot: number, flags: { active: boolean; pending: boolean; confirmed: boolean; permanent: boolean }): void {
  const info = readInfo(dev, slot);
  if (!info.ok) return; // not a readable image: skipped
  const frugal = dev.options.frugalList;
  const m = new OMap();
  if (dev.flash.imageCount > 1) m.set('image', slot >> 1);
  m.set('slot', slot % 2);
  m.set('version', versionString(info.version));
  m.set('hash', info.hash);
  const flag = (k: string, v: boolean): void => {
    if (!frugal || v) m.set(k, v);
  };
  flag('bootable', (info.flags & IMAGE_F_NON_BOOTABLE) === 0);
  flag('pending', flags.pending);
  flag('confirmed', flags.confirmed);
  flag('active', flags.active);
  flag('permanent', flags.permanent);
  list.push(m);
}

/** Writes the state list (`img_mgmt_state_read`) into `ctx.out`. */
function writeStateList(dev: ZephyrDevice, ctx: SmpCtx): void {
  const list: OMap[] = [];
  for (let image = 0; image < dev.flash.imageCount; image++) {
    const nb = nextBoot(dev, image);
    const a = activeSlot(image);
    const o = opposite(a);
    const fa = { active: true, confirmed: nb.type !== 'revert', pending: false, permanent: false };
    const fo = { active: false, confirmed: false, pending: false, permanent: false };
    if (nb.slot !== a) {
      if (nb.type === 'normal') {
        fo.pending = true;
        fo.permanent = true;
      } else if (nb.type === 'revert') {
        fo.confirmed = true;
      } else {
        fo.pending = true;
      }
    }
    if (a < o) {
      encodeSlot(dev, list, a, fa);
      encodeSlot(dev, list, o, fo);
    } else {
      encodeSlot(dev, list, o, fo);
      encodeSlot(dev, list, a, fa);
    }
  }
  ctx.out.set('images', list);
  if (!dev.options.frugalList) ctx.out.set('splitStatus', 0);
}

function stateRead(dev: ZephyrDevice, ctx: SmpCtx): number {
  writeStateList(dev, ctx);
  return 0;
}

/** `img_mgmt_set_next_boot_slot` (swap modes). @returns an IMG_MGMT_ERR code or 0. */
function setNextBootSlot(dev: ZephyrDevice, slot: number, confirm: boolean): number {
  const image = slot >> 1;
  const a = activeSlot(image);
  const nb = nextBoot(dev, image);
  if (confirm && image !== 0 && (!dev.options.allowConfirmNonActiveSecondary || slot === a)) {
    return ImgErr.IMAGE_CONFIRMATION_DENIED;
  }
  if (!confirm && slot === a) return ImgErr.IMAGE_SETTING_TEST_TO_ACTIVE_DENIED;
  if (nb.type === 'test') {
    if (!confirm && slot === nb.slot) return 0;
    return ImgErr.IMAGE_ALREADY_PENDING;
  }
  if (nb.type === 'normal') {
    if (confirm && slot === nb.slot) return 0;
    if ((slot === a && a !== nb.slot) || (!confirm && slot !== a && slot === nb.slot)) return ImgErr.IMAGE_ALREADY_PENDING;
  }
  if (nb.type === 'revert') {
    if (confirm && slot === nb.slot) return 0;
    if (!confirm) return ImgErr.IMAGE_ALREADY_PENDING;
  }
  return bootSetNext(dev, slot, slot === a, confirm);
}

/** MCUboot's `boot_set_next` on the slot's trailer, with Zephyr's error mapping. */
function bootSetNext(dev: ZephyrDevice, slot: number, active: boolean, confirm: boolean): number {
  const f = dev.flash;
  if (active) confirm = true;
  const st = f.swapState(slot);
  if (st.magic === 'good') {
    if (active && st.imageOk === 'unset') dev.busy += f.writeImageOk(slot);
    return 0;
  }
  if (st.magic === 'unset') {
    if (!active) {
      dev.busy += f.writeMagic(slot);
      if (confirm) dev.busy += f.writeImageOk(slot);
      dev.busy += f.writeSwapInfo(slot, confirm ? 'perm' : 'test', 0);
    }
    return 0;
  }
  // BOOT_MAGIC_BAD
  if (active) return ImgErr.INVALID_IMAGE_VECTOR_TABLE;
  dev.busy += f.eraseSlot(slot);
  return ImgErr.INVALID_IMAGE_HEADER_MAGIC;
}

function stateWrite(dev: ZephyrDevice, ctx: SmpCtx): number {
  const req = decodeBulk(ctx.payload, { hash: bstr, confirm: bool });
  if (!req) return MgmtErr.EINVAL;
  const confirm = req.confirm ?? false;
  const hash = req.hash ?? Buffer.alloc(0);
  let slot: number;
  if (hash.length === 0) {
    if (!confirm) {
      addErr(ctx, Group.IMAGE, ImgErr.INVALID_HASH);
      return 0;
    }
    slot = activeSlot(0);
  } else if (hash.length !== 32) {
    addErr(ctx, Group.IMAGE, ImgErr.INVALID_HASH);
    return 0;
  } else {
    slot = -1;
    for (let s = 0; s < dev.flash.slots.length; s++) {
      const info = readInfo(dev, s);
      if (info.ok && info.hash.equals(hash)) {
        slot = s;
        break;
      }
    }
    if (slot < 0) {
      addErr(ctx, Group.IMAGE, ImgErr.HASH_NOT_FOUND);
      return 0;
    }
  }
  const rc = setNextBootSlot(dev, slot, confirm);
  if (rc !== 0) {
    addErr(ctx, Group.IMAGE, rc);
    return 0;
  }
  writeStateList(dev, ctx);
  return 0;
}

function goodRsp(dev: ZephyrDevice, ctx: SmpCtx): void {
  if (dev.options.legacyRc) ctx.out.set('rc', 0);
  ctx.out.set('off', dev.upload.off);
}

/** `flash_img_check`: SHA-256 of the first `len` bytes of the slot equals the 32-byte `sha`. */
function flashImgCheck(dev: ZephyrDevice, slot: number, len: number, sha: Buffer): boolean {
  if (!dev.flash.hasSlot(slot) || len > dev.flash.slotSize) return false;
  dev.busy += dev.flash.readCost(len);
  const padded = Buffer.alloc(32);
  sha.copy(padded, 0, 0, Math.min(32, sha.length));
  return sha256(dev.flash.view(slot).subarray(0, len)).equals(padded);
}

interface UploadAction {
  proceed: boolean;
  slot: number;
  size: number;
  erase: boolean;
}

/** `img_mgmt_upload_inspect`. @returns an IMG_MGMT_ERR code (0 = OK) and the action. */
function inspect(
  dev: ZephyrDevice,
  ctx: SmpCtx,
  req: { image?: number; data?: Buffer; len?: number; off?: number; sha?: Buffer; upgrade?: boolean },
): { rc: number; action: UploadAction } {
  const st = dev.upload;
  const action: UploadAction = { proceed: false, slot: -1, size: 0, erase: false };
  const data = req.data ?? Buffer.alloc(0);
  const fail = (rc: number, rsn?: string) => {
    if (rsn) ctx.rsn = rsn;
    return { rc, action };
  };
  if (req.off === undefined) return fail(ImgErr.INVALID_OFFSET, RSN.hdrMalformed);
  if (req.off === 0) {
    if (data.length < IMAGE_HEADER_SIZE) return fail(ImgErr.INVALID_IMAGE_HEADER, RSN.hdrMalformed);
    if (req.len === undefined) return fail(ImgErr.INVALID_LENGTH, RSN.hdrMalformed);
    action.size = req.len;
    if (data.readUInt32LE(0) !== IMAGE_MAGIC) return fail(ImgErr.INVALID_IMAGE_HEADER_MAGIC, RSN.magic);
    const sha = req.sha ?? Buffer.alloc(0);
    if (sha.length > 32) return fail(ImgErr.INVALID_HASH);
    // Resume: same (non-empty) sha as the upload in progress → just report the progress.
    if (sha.length > 0 && st.slot !== -1 && st.sha.length === sha.length && st.sha.equals(sha)) {
      return { rc: 0, action };
    }
    action.slot = unusedSlot(dev, req.image ?? 0);
    if (action.slot < 0) return fail(ImgErr.NO_FREE_SLOT, RSN.noSlot);
    if (req.len > dev.flash.slotSize) return fail(ImgErr.INVALID_IMAGE_TOO_LARGE, RSN.tooLarge);
    if (req.upgrade) {
      const cur = readInfo(dev, activeSlot(0));
      if (!cur.ok) return fail(ImgErr.VERSION_GET_FAILED);
      const hdr = parseHeader(data)!;
      if (compareVersions(cur.version, hdr.version, dev.options.versionCmpUseBuild) >= 0) {
        return fail(ImgErr.CURRENT_VERSION_IS_NEWER, RSN.downgrade);
      }
    }
    dev.busy += dev.flash.readCost(dev.flash.slotSize);
    action.erase = !dev.flash.isErased(action.slot);
  } else {
    action.slot = st.slot;
    action.size = st.size;
    if (req.off !== st.off) return { rc: 0, action }; // wrong offset: drop, answer the expected one
    if (req.off + data.length > action.size) return fail(ImgErr.INVALID_IMAGE_DATA_OVERRUN, RSN.overrun);
  }
  action.proceed = true;
  return { rc: 0, action };
}

/** `img_mgmt_get_unused_slot_area_id`. */
function unusedSlot(dev: ZephyrDevice, image: number): number {
  if (dev.flash.imageCount === 1) {
    for (let s = 0; s < 2; s++) if (!slotInUse(dev, s)) return s;
    return -1;
  }
  const s = opposite(activeSlot(image));
  if (!dev.flash.hasSlot(s)) return -1;
  return slotInUse(dev, s) ? -1 : s;
}

function upload(dev: ZephyrDevice, ctx: SmpCtx): number {
  const req = decodeBulk(ctx.payload, { image: u32, data: bstr, len: u32, off: u32, sha: bstr, upgrade: bool });
  if (!req) return MgmtErr.EINVAL;
  const st = dev.upload;
  const f = dev.flash;
  const { rc: irc, action } = inspect(dev, ctx, req);
  if (irc !== 0) {
    addErr(ctx, Group.IMAGE, irc);
    dev.resetUpload();
    return 0;
  }
  if (!action.proceed) {
    goodRsp(dev, ctx);
    return 0;
  }
  st.slot = action.slot;
  st.size = action.size;
  const data = req.data ?? Buffer.alloc(0);
  const off = req.off!;
  let last = false;
  let reset = false;
  let match = false;
  let rc = 0;
  body: {
    if (off === 0) {
      st.off = 0;
      st.sha = Buffer.from(req.sha ?? Buffer.alloc(0));
      if (dev.options.imageCheck && st.sha.length === 32 && flashImgCheck(dev, st.slot, st.size, st.sha)) {
        // The slot already holds exactly this file: skip the transfer.
        st.off = st.size;
        reset = true;
        last = true;
        match = true;
        break body;
      }
      if (action.erase) {
        dev.busy += eraseImageData(dev, st.slot, req.len!);
      }
    }
    if (data.length !== 0) {
      if (st.off + data.length === st.size) last = true;
      try {
        dev.busy += f.write(st.slot, off, data);
        st.off += data.length;
      } catch {
        ctx.rsn = RSN.writeFailed;
        rc = ImgErr.FLASH_WRITE_FAILED;
        break body;
      }
      if (st.off === st.size) {
        reset = true;
        if (dev.options.imageCheck) match = flashImgCheck(dev, st.slot, st.size, st.sha);
      }
    }
  }
  if (rc !== 0) {
    addErr(ctx, Group.IMAGE, rc);
    dev.resetUpload();
    return 0;
  }
  goodRsp(dev, ctx);
  if (last && dev.options.imageCheck) ctx.out.set('match', match);
  if (reset) dev.resetUpload();
  return 0;
}

/** `img_mgmt_erase_image_data(0, len)`: pages covering the image, plus the trailer if not covered. */
function eraseImageData(dev: ZephyrDevice, slot: number, len: number): number {
  const f = dev.flash;
  let ms = 0;
  if (len <= 0) return 0;
  const eraseSize = Math.ceil(len / f.pageSize) * f.pageSize;
  ms += f.erase(slot, 0, eraseSize);
  if (f.trailerOffset() >= eraseSize) ms += f.eraseTrailer(slot);
  return ms;
}

function erase(dev: ZephyrDevice, ctx: SmpCtx): number {
  const req = decodeBulk(ctx.payload, { slot: u32 });
  if (!req) return MgmtErr.EINVAL;
  const slot = req.slot ?? opposite(activeSlot(0));
  const info = readInfo(dev, slot);
  if (info.ok && slotInUse(dev, slot)) {
    addErr(ctx, Group.IMAGE, ImgErr.NO_FREE_SLOT);
    return 0;
  }
  let rc = 0;
  if (!dev.flash.hasSlot(slot)) {
    rc = ImgErr.INVALID_SLOT;
  } else {
    dev.busy += dev.flash.readCost(dev.flash.slotSize);
    if (!dev.flash.isErased(slot)) dev.busy += dev.flash.eraseSlot(slot);
  }
  dev.resetUpload();
  if (rc !== 0) {
    addErr(ctx, Group.IMAGE, rc);
    return 0;
  }
  if (dev.options.legacyRc) ctx.out.set('rc', 0);
  return 0;
}

function slotInfo(dev: ZephyrDevice, ctx: SmpCtx): number {
  const images: OMap[] = [];
  for (let image = 0; image < dev.flash.imageCount; image++) {
    const slots: OMap[] = [];
    for (let s = 0; s < 2; s++) {
      const abs = image * 2 + s;
      const m = omap(['slot', s], ['size', dev.flash.slotSize]);
      if (activeSlot(image) !== abs) m.set('upload_image_id', image);
      slots.push(m);
    }
    images.push(omap(['image', image], ['slots', slots]));
  }
  ctx.out.set('images', images);
  return 0;
}
