/**
 * The simulated flash: per image a primary and a secondary slot (absolute slots 2n and 2n+1),
 * byte-accurate NOR semantics (erase to `0xFF` by page, writes can only clear bits), MCUboot's
 * image trailer at the end of each slot, and MCUboot's boot decision (swap, revert, refuse).
 *
 * The trailer is kept in the slot bytes exactly where MCUboot keeps it (for `BOOT_MAX_ALIGN` 8):
 * the 16-byte magic in the last 16 bytes, then going down one 8-byte unit each: `image_ok`,
 * `copy_done`, `swap_info`, `swap_size`, then the swap status area. So an upload that overlaps
 * the trailer corrupts it, as on a real device. A Zephyr and an MCUboot personality can share one
 * {@link FlashModel} (the application and its bootloader see the same flash).
 * @module
 */
import { IMAGE_F_NON_BOOTABLE, IMAGE_HEADER_SIZE, compareVersions, parseHeader, validateImage } from './image.js';

/** MCUboot's 16-byte image trailer magic (`boot_img_magic`, little-endian words). */
export const BOOT_MAGIC = Buffer.from('f395c2777fefd2603f6081382cb67980', 'hex');
/** `BOOT_MAX_ALIGN` of the simulated MCUboot. */
export const BOOT_MAX_ALIGN = 8;
/** Bytes at the end of a slot that belong to the trailer (status area + fields + magic). */
export const TRAILER_SIZE = 128 * 3 * BOOT_MAX_ALIGN + 4 * BOOT_MAX_ALIGN + 16;

/** Decoded trailer magic. */
export type MagicState = 'good' | 'unset' | 'bad';
/** Decoded trailer flag (`image_ok`, `copy_done`). */
export type FlagState = 'set' | 'unset' | 'bad';

/** A slot's trailer as MCUboot's `boot_read_swap_state` sees it. */
export interface SwapState {
  magic: MagicState;
  imageOk: FlagState;
  copyDone: FlagState;
}

/** MCUboot swap types (`BOOT_SWAP_TYPE_*`). */
export type SwapType = 'none' | 'test' | 'perm' | 'revert';

/** Flash geometry and speed. */
export interface FlashOptions {
  /** Size of each image slot in bytes (multiple of `pageSize`). Default 256 KiB. */
  slotSize?: number;
  /** Number of updatable images (2 slots each). Default 1. */
  imageCount?: number;
  /** Erase page size (`flashPageSize` in the device options). Default 4096. */
  flashPageSize?: number;
  /** Alias of `flashPageSize`. */
  pageSize?: number;
  /** Size of the `storage_partition` (settings / file system). Default 32 KiB. */
  storageSize?: number;
  /** Simulated time to erase one page, ms. Default 40 (typical internal NOR flash). */
  eraseMsPerPage?: number;
  /** Simulated write speed, bytes per ms. Default 100. */
  writeBytesPerMs?: number;
  /** Simulated read/hash speed, bytes per ms. Default 4000. */
  readBytesPerMs?: number;
}

/** What one boot did, for tests and the link model. */
export interface BootReport {
  /** Per image: what MCUboot decided. */
  images: Array<{ swapType: SwapType; action: 'none' | 'swapped' | 'reverted' | 'refused' | 'cleared-trailer' }>;
  /** False when some primary slot holds no valid image: MCUboot halts and nothing runs. */
  bootable: boolean;
  /** Simulated time the bootloader spent (erase + copy), ms. */
  busyMs: number;
}

/** Byte-accurate flash with MCUboot trailers. */
export class FlashModel {
  readonly slotSize: number;
  readonly imageCount: number;
  readonly pageSize: number;
  readonly eraseMsPerPage: number;
  readonly writeBytesPerMs: number;
  readonly readBytesPerMs: number;
  /** Absolute slots: image n owns 2n (primary) and 2n+1 (secondary). */
  readonly slots: Buffer[];
  /** The `storage_partition`. */
  readonly storage: Buffer;
  /** Simulated storage-erase faults: `open` (no partition), `erase` (erase fails). */
  storageFault: 'none' | 'open' | 'config' | 'erase' = 'none';

  constructor(opts: FlashOptions = {}) {
    this.pageSize = opts.flashPageSize ?? opts.pageSize ?? 4096;
    this.slotSize = opts.slotSize ?? 256 * 1024;
    this.imageCount = opts.imageCount ?? 1;
    this.eraseMsPerPage = opts.eraseMsPerPage ?? 40;
    this.writeBytesPerMs = opts.writeBytesPerMs ?? 100;
    this.readBytesPerMs = opts.readBytesPerMs ?? 4000;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 16) throw new RangeError(`pageSize must be an integer ≥ 16, got ${this.pageSize}`);
    if (!Number.isInteger(this.slotSize) || this.slotSize % this.pageSize !== 0 || this.slotSize < TRAILER_SIZE + this.pageSize) {
      throw new RangeError(`slotSize must be a multiple of pageSize (${this.pageSize}) and larger than the MCUboot trailer, got ${this.slotSize}`);
    }
    if (!Number.isInteger(this.imageCount) || this.imageCount < 1 || this.imageCount > 4) {
      throw new RangeError(`imageCount must be 1..4, got ${this.imageCount}`);
    }
    this.slots = [];
    for (let i = 0; i < this.imageCount * 2; i++) this.slots.push(Buffer.alloc(this.slotSize, 0xff));
    this.storage = Buffer.alloc(opts.storageSize ?? 32 * 1024, 0xff);
  }

  /** Whether `slot` is an existing absolute slot number. */
  hasSlot(slot: number): boolean {
    return Number.isInteger(slot) && slot >= 0 && slot < this.slots.length;
  }

  private area(slot: number): Buffer {
    const b = this.slots[slot];
    if (!b) throw new RangeError(`no flash slot ${slot}`);
    return b;
  }

  /** Time to erase `pages` pages, ms. */
  eraseCost(pages: number): number {
    return pages * this.eraseMsPerPage;
  }

  /** Time to write `bytes` bytes, ms. */
  writeCost(bytes: number): number {
    return bytes / this.writeBytesPerMs;
  }

  /** Time to read (and hash) `bytes` bytes, ms. */
  readCost(bytes: number): number {
    return bytes / this.readBytesPerMs;
  }

  /** Erases the pages covering `[off, off + len)` of `slot`. @returns simulated ms. */
  erase(slot: number, off: number, len: number): number {
    const a = this.area(slot);
    if (len <= 0) return 0;
    const first = Math.floor(off / this.pageSize);
    const last = Math.floor((Math.min(off + len, a.length) - 1) / this.pageSize);
    a.fill(0xff, first * this.pageSize, (last + 1) * this.pageSize);
    return this.eraseCost(last - first + 1);
  }

  /** Erases the whole slot. @returns simulated ms. */
  eraseSlot(slot: number): number {
    return this.erase(slot, 0, this.slotSize);
  }

  /** Whether every byte of the slot is erased. */
  isErased(slot: number): boolean {
    const a = this.area(slot);
    for (let i = 0; i < a.length; i++) if (a[i] !== 0xff) return false;
    return true;
  }

  /** Programs `data` at `off` with NOR semantics (bits can only go 1 → 0). @returns simulated ms. */
  write(slot: number, off: number, data: Uint8Array): number {
    const a = this.area(slot);
    if (off < 0 || off + data.length > a.length) throw new RangeError(`write outside slot ${slot}`);
    for (let i = 0; i < data.length; i++) a[off + i] = a[off + i]! & data[i]!;
    return this.writeCost(data.length);
  }

  /** A copy of the slot's bytes. */
  read(slot: number): Buffer {
    return Buffer.from(this.area(slot));
  }

  /** The slot's bytes without copying (for readers that do not keep them). */
  view(slot: number): Buffer {
    return this.area(slot);
  }

  // ---- MCUboot trailer -------------------------------------------------------------------

  private magicOff(): number {
    return this.slotSize - 16;
  }
  private imageOkOff(): number {
    return this.magicOff() - BOOT_MAX_ALIGN;
  }
  private copyDoneOff(): number {
    return this.imageOkOff() - BOOT_MAX_ALIGN;
  }
  private swapInfoOff(): number {
    return this.copyDoneOff() - BOOT_MAX_ALIGN;
  }
  /** Offset of the trailer's status area (`boot_get_trailer_status_offset`). */
  trailerOffset(): number {
    return this.slotSize - TRAILER_SIZE;
  }

  /** Reads the slot's trailer like `boot_read_swap_state`. */
  swapState(slot: number): SwapState {
    const a = this.area(slot);
    const m = a.subarray(this.magicOff(), this.magicOff() + 16);
    const magic: MagicState = m.equals(BOOT_MAGIC) ? 'good' : m.every((b) => b === 0xff) ? 'unset' : 'bad';
    const flag = (off: number): FlagState => (a[off] === 0xff ? 'unset' : a[off] === 0x01 ? 'set' : 'bad');
    return { magic, imageOk: flag(this.imageOkOff()), copyDone: flag(this.copyDoneOff()) };
  }

  private writeFlag(slot: number, off: number, value: number): number {
    const unit = Buffer.alloc(BOOT_MAX_ALIGN, 0xff);
    unit[0] = value;
    return this.write(slot, off, unit);
  }

  /** `boot_write_magic`. */
  writeMagic(slot: number): number {
    return this.write(slot, this.magicOff(), BOOT_MAGIC);
  }
  /** `boot_write_image_ok`. */
  writeImageOk(slot: number): number {
    return this.writeFlag(slot, this.imageOkOff(), 0x01);
  }
  /** `boot_write_copy_done`. */
  writeCopyDone(slot: number): number {
    return this.writeFlag(slot, this.copyDoneOff(), 0x01);
  }
  /** `boot_write_swap_info` (swap type in the low nibble, image number in the high one). */
  writeSwapInfo(slot: number, type: SwapType, image: number): number {
    const code = { none: 1, test: 2, perm: 3, revert: 4 }[type];
    return this.writeFlag(slot, this.swapInfoOff(), ((image & 0xf) << 4) | code);
  }
  /** Erases the pages holding the trailer (status area, fields and magic). */
  eraseTrailer(slot: number): number {
    return this.erase(slot, this.trailerOffset(), TRAILER_SIZE);
  }

  /** MCUboot's `boot_swap_type_multi` for `image`, from the two slots' trailers. */
  swapType(image: number): SwapType {
    const p = this.swapState(image * 2);
    const s = this.swapState(image * 2 + 1);
    if (s.magic === 'good' && s.imageOk === 'unset') return 'test';
    if (s.magic === 'good' && s.imageOk === 'set') return 'perm';
    if (p.magic === 'good' && s.magic === 'unset' && p.imageOk === 'unset' && p.copyDone === 'set') return 'revert';
    return 'none';
  }

  /**
   * Runs MCUboot at power-up (swap-based upgrade): for each image, if a test/permanent upgrade or
   * a revert is due, the secondary image is validated and the slots are swapped; a secondary that
   * fails validation is erased instead (or only its trailer, when it holds no bootable image), and
   * with `downgradePrevention` an older secondary is erased too. Finally the primary slots must
   * hold valid images, otherwise MCUboot halts (`bootable: false`).
   */
  boot(opts: { downgradePrevention?: boolean } = {}): BootReport {
    const report: BootReport = { images: [], bootable: true, busyMs: 0 };
    for (let image = 0; image < this.imageCount; image++) {
      const pri = image * 2;
      const sec = pri + 1;
      const type = this.swapType(image);
      let action: BootReport['images'][number]['action'] = 'none';
      if (type !== 'none') {
        const hdr = parseHeader(this.view(sec));
        if (!hdr || hdr.magic === 0xffffffff || (hdr.flags & IMAGE_F_NON_BOOTABLE) !== 0) {
          report.busyMs += this.eraseTrailer(sec);
          action = 'cleared-trailer';
        } else if (!validateImage(this.view(sec))) {
          report.busyMs += this.readCost(this.slotSize) + this.eraseSlot(sec);
          action = 'refused';
        } else if (
          opts.downgradePrevention &&
          type !== 'revert' &&
          validateImage(this.view(pri)) &&
          compareVersions(hdr.version, parseHeader(this.view(pri))!.version) < 0
        ) {
          report.busyMs += this.eraseSlot(sec);
          action = 'refused';
        } else {
          report.busyMs += this.swap(image, type);
          action = type === 'revert' ? 'reverted' : 'swapped';
        }
      }
      report.images.push({ swapType: type, action });
      const pv = validateImage(this.view(pri));
      if (!pv) report.bootable = false;
      else report.busyMs += this.readCost(pv.totalSize);
    }
    return report;
  }

  /** Exchanges primary and secondary of `image` and writes the trailer MCUboot leaves behind. */
  private swap(image: number, type: SwapType): number {
    const pri = image * 2;
    const sec = pri + 1;
    const a = Buffer.from(this.area(pri));
    this.area(pri).set(this.area(sec));
    this.area(sec).set(a);
    const pages = (this.slotSize / this.pageSize) * 2;
    let ms = this.eraseCost(pages) + this.writeCost(this.slotSize * 2);
    ms += this.eraseTrailer(pri) + this.eraseTrailer(sec);
    ms += this.writeMagic(pri);
    ms += this.writeSwapInfo(pri, type, image);
    if (type === 'perm' || type === 'revert') ms += this.writeImageOk(pri);
    ms += this.writeCopyDone(pri);
    return ms;
  }

  /** Writes `content` into a slot as a programmer would (erase slot, then program). */
  program(slot: number, content: Uint8Array, opts: { confirmed?: boolean } = {}): void {
    if (content.length > this.slotSize) throw new RangeError(`image of ${content.length} bytes does not fit slot ${slot} (${this.slotSize})`);
    this.eraseSlot(slot);
    this.write(slot, 0, content);
    if (opts.confirmed) {
      this.writeMagic(slot);
      this.writeImageOk(slot);
    }
  }
}

/** True when the slot's first header bytes are erased (`boot_check_header_erased`). */
export function headerErased(slot: Uint8Array): boolean {
  for (let i = 0; i < Math.min(IMAGE_HEADER_SIZE, slot.length); i++) if (slot[i] !== 0xff) return false;
  return true;
}
