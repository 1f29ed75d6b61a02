/**
 * The MCUboot serial-recovery personality (`boot_serial`, PROTOCOL.md §8): v1 `rc`-only answers,
 * uploads straight into the primary slot with flash-alignment-sized writes (short `off`), image
 * list of valid images only, optional set-state / slot-info / echo / params / storage erase.
 * @module
 */
import { Op, SMP_HEADER_SIZE, decodeHeader, encodeHeader, type SmpHeader } from '../../codec/header.js';
import type { DeviceLimits, DeviceStep, SimDeviceCore } from '../types.js';
import { bool, bstr, decodeBulk, readItem, u32, type BulkSpec, type CItem } from './cbor-reader.js';
import { OMap, TStr, encodeCborValue, omap } from './cbor-writer.js';
import { Group, MgmtErr } from './codes.js';
import { FlashModel, type FlashOptions, type SwapState } from './flash.js';
import { IMAGE_F_NON_BOOTABLE, buildImage, parseHeader, parseVersion, validateImage, versionString } from './image.js';

/** MCUboot's `BOOT_EBADIMAGE`, returned by `boot_set_next` for a slot whose trailer magic is bad. */
const BOOT_EBADIMAGE = 3;

/** Options of {@link createMcubootDevice}. Defaults follow MCUboot's Zephyr port. */
export interface McubootDeviceOptions extends FlashOptions {
  /** `BOOT_SERIAL_MAX_RECEIVE_SIZE` (reported as `netbufSize`). Default 1024. */
  maxReceive?: number;
  /** `BOOT_MAX_LINE_INPUT_LEN`. Default 128. */
  lineBufSize?: number;
  /** `BOOT_LINE_BUFS`. Default 8. */
  lineBufCount?: number;
  /** Serial encodings. Default `['console', 'raw', 'cobs']`. */
  encodings?: Array<'console' | 'raw' | 'cobs'>;
  /**
   * Flash write alignment (`flash_area_align`): 1–32, a power of two (MCUboot caps it at
   * `BOOT_MAX_ALIGN`, up to 32 on e.g. STM32H7). Affects uploads only; the trailer layout stays
   * the 8-byte one. Default 8.
   */
  writeAlign?: number;
  /**
   * `MCUBOOT_SERIAL_IMG_GRP_IMAGE_STATE` (Kconfig `BOOT_SERIAL_IMG_GRP_IMAGE_STATE`): flags in the
   * list, and the set-state command (which schedules the secondary slot, see `bs_set`). Default
   * true (the simulator models a full-featured build; MCUboot's own default is off).
   */
  imageState?: boolean;
  /** `MCUBOOT_SERIAL_IMG_GRP_HASH` (`BOOT_SERIAL_IMG_GRP_HASH`): `hash` in the list, `hash` in set-state. Default true. */
  imageHash?: boolean;
  /** `MCUBOOT_SERIAL_IMG_GRP_SLOT_INFO` (`BOOT_SERIAL_IMG_GRP_SLOT_INFO`). Default true (MCUboot: on for multi-image builds). */
  slotInfo?: boolean;
  /** `max_image_size` in slot info, when known. Default unset. */
  maxImageSize?: number;
  /** `MCUBOOT_BOOT_MGMT_ECHO` (`BOOT_MGMT_ECHO`). Default true. */
  echo?: boolean;
  /** `MCUBOOT_BOOT_MGMT_MCUMGR_PARAMS` (`BOOT_MGMT_MCUMGR_PARAMS`, newest MCUboot). Default true. */
  mcumgrParams?: boolean;
  /**
   * `BOOT_SERIAL_RAW_PROTOCOL_INPUT_TIMEOUT`: a partial raw packet is thrown away after
   * `rawInputTimeoutMs` without a byte. Off: it waits for its missing bytes for ever. Default true.
   */
  rawInputTimeout?: boolean;
  /** `BOOT_SERIAL_RAW_PROTOCOL_INPUT_TIMEOUT_MS`. Default 3000. */
  rawInputTimeoutMs?: number;
  /** `BOOT_MGMT_CUSTOM_STORAGE_ERASE` (group 63 via the per-user hook). Default false. */
  storageErase?: boolean;
  /** `MCUBOOT_VALIDATE_PRIMARY_SLOT_ONCE`: `len` must leave room for the trailer magic. Default false. */
  validatePrimaryOnce?: boolean;
  /** A reset hook answers busy (`{"rc": 10}`). Default false. */
  resetBusy?: boolean;
  /** Delay between the reset answer and the reboot, ms. Default 250. */
  resetMs?: number;
  /** Initial primary image of image 0; `null` leaves the slot erased. Default: a built 1.0.0 image. */
  initialImage?: Uint8Array | null;
  /** Use an existing flash (shared with a Zephyr personality). */
  flash?: FlashModel;
}

/**
 * A simulated MCUboot serial-recovery core. One request per packet (MCUboot has no
 * multi-message loop); requests whose header length is smaller than the payload, or whose op is
 * not READ/WRITE, are ignored without an answer; packets above `maxReceive` are never answered.
 */
export class McubootDevice implements SimDeviceCore {
  readonly personality = 'mcuboot' as const;
  readonly limits: DeviceLimits;
  readonly flash: FlashModel;
  readonly options: Required<Omit<McubootDeviceOptions, keyof FlashOptions | 'initialImage' | 'flash' | 'maxImageSize'>> & { maxImageSize?: number };
  /** Log of accepted resets. */
  readonly resets: number[] = [];
  private busy = 0;
  /** `bs_upload`'s static state. */
  private up = { size: 0, off: 0, image: 0 };

  constructor(opts: McubootDeviceOptions = {}) {
    this.flash = opts.flash ?? new FlashModel(opts);
    this.options = {
      maxReceive: opts.maxReceive ?? 1024,
      lineBufSize: opts.lineBufSize ?? 128,
      lineBufCount: opts.lineBufCount ?? 8,
      encodings: opts.encodings ?? ['console', 'raw', 'cobs'],
      writeAlign: opts.writeAlign ?? 8,
      imageState: opts.imageState ?? true,
      imageHash: opts.imageHash ?? true,
      slotInfo: opts.slotInfo ?? true,
      maxImageSize: opts.maxImageSize,
      echo: opts.echo ?? true,
      mcumgrParams: opts.mcumgrParams ?? true,
      rawInputTimeout: opts.rawInputTimeout ?? true,
      rawInputTimeoutMs: opts.rawInputTimeoutMs ?? 3000,
      storageErase: opts.storageErase ?? false,
      validatePrimaryOnce: opts.validatePrimaryOnce ?? false,
      resetBusy: opts.resetBusy ?? false,
      resetMs: opts.resetMs ?? 250,
    };
    const ms = this.options.rawInputTimeoutMs;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 1) throw new RangeError(`rawInputTimeoutMs must be a positive number of ms, got ${String(ms)}`);
    const a = this.options.writeAlign;
    if (!Number.isInteger(a) || a < 1 || a > 32 || (a & (a - 1)) !== 0) throw new RangeError(`writeAlign must be 1, 2, 4, 8, 16 or 32, got ${a}`);
    this.limits = {
      netbufSize: this.options.maxReceive,
      netbufCount: 1,
      lineBufSize: this.options.lineBufSize,
      lineBufCount: this.options.lineBufCount,
      encodings: [...this.options.encodings],
      rawInputTimeoutMs: this.options.rawInputTimeout ? this.options.rawInputTimeoutMs : Infinity,
    };
    if (!opts.flash && opts.initialImage !== null) {
      this.flash.program(0, opts.initialImage ?? buildImage({ version: parseVersion('1.0.0'), bodySize: 4096 }));
    }
  }

  /** {@inheritDoc SimDeviceCore.handle} */
  handle(pkt: Buffer, _via: string): DeviceStep {
    this.busy = 0;
    const responses: Buffer[] = [];
    if (pkt.length > this.options.maxReceive || pkt.length < SMP_HEADER_SIZE) return { responses, busyMs: 0 };
    const hdr = decodeHeader(pkt, 0);
    if ((hdr.op !== Op.READ && hdr.op !== Op.WRITE) || hdr.length < pkt.length - SMP_HEADER_SIZE) return { responses, busyMs: 0 };
    const body = pkt.subarray(SMP_HEADER_SIZE);
    const out = new Output(pkt[0]!, hdr, responses);
    let resetAfterMs: number | undefined;
    if (hdr.group === Group.IMAGE) {
      if (hdr.id === 0) {
        if (hdr.op === Op.READ) out.send(this.list());
        else if (this.options.imageState) out.send(this.setState(body));
        else out.send(rc(MgmtErr.ENOTSUP));
      } else if (hdr.id === 1) {
        out.send(this.upload(body));
      } else if (hdr.id === 6 && this.options.slotInfo) {
        if (hdr.op !== Op.READ) {
          // Source quirk: the error is sent, then the handler carries on with the same encoder
          // and header, so a second packet follows (op incremented again, group bytes swapped
          // back, payload = the rc map followed by the slot list).
          out.send(rc(MgmtErr.ENOTSUP));
          out.sendAppended(this.slotInfo());
        } else {
          out.send(this.slotInfo());
        }
      } else {
        out.send(rc(MgmtErr.ENOTSUP));
      }
    } else if (hdr.group === Group.OS) {
      if (hdr.id === 0 && this.options.echo) out.send(this.echo(body));
      else if (hdr.id === 1) out.send(rc(0));
      else if (hdr.id === 5) {
        if (this.options.resetBusy) out.send(rc(MgmtErr.EBUSY));
        else {
          out.send(rc(0));
          this.resets.push(Date.now());
          resetAfterMs = this.options.resetMs;
        }
      } else if (hdr.id === 6 && this.options.mcumgrParams) {
        out.send(omap(['buf_size', this.options.maxReceive], ['buf_count', 1]));
      } else out.send(rc(MgmtErr.ENOTSUP));
    } else if (this.options.storageErase && hdr.group === Group.ZEPHYR_BASIC && hdr.op === Op.WRITE && hdr.id === 0) {
      const f = this.flash;
      if (f.storageFault !== 'none') out.send(rc(MgmtErr.EUNKNOWN));
      else {
        f.storage.fill(0xff);
        this.busy += f.eraseCost(Math.ceil(f.storage.length / f.pageSize));
        out.send(rc(0));
      }
    } else {
      out.send(rc(MgmtErr.ENOTSUP));
    }
    const step: DeviceStep = { responses, busyMs: Math.round(this.busy * 1000) / 1000 };
    if (resetAfterMs !== undefined) step.resetAfterMs = resetAfterMs;
    return step;
  }

  /** Power-cycles the device (see `SimDeviceCore.reboot`): a cold boot clears the upload state. */
  reboot(): void {
    this.up = { size: 0, off: 0, image: 0 };
  }

  private list(): OMap {
    const images: OMap[] = [];
    for (let image = 0; image < this.flash.imageCount; image++) {
      const swap = this.flash.swapType(image);
      for (let slot = 0; slot < 2; slot++) {
        const abs = image * 2 + slot;
        const v = validateImage(this.flash.view(abs));
        this.busy += this.flash.readCost(v ? v.totalSize : 32);
        if (!v) continue; // only images that pass validation are listed
        const m = new OMap();
        if (this.flash.imageCount > 1) m.set('image', image);
        if (this.options.imageState) {
          let confirmed = false;
          let active = false;
          let pending = false;
          let permanent = false;
          if (swap === 'none') {
            if (slot === 0) confirmed = active = true;
          } else if (swap === 'test') {
            if (slot === 0) confirmed = true;
            else pending = true;
          } else if (swap === 'perm') {
            if (slot === 0) confirmed = true;
            else pending = permanent = true;
          } else if (slot === 0) active = true;
          else confirmed = true;
          if ((v.header.flags & IMAGE_F_NON_BOOTABLE) === 0) m.set('bootable', true);
          if (confirmed) m.set('confirmed', true);
          if (active) m.set('active', true);
          if (pending) m.set('pending', true);
          if (permanent) m.set('permanent', true);
        }
        m.set('slot', slot);
        if (this.options.imageHash) m.set('hash', v.hash);
        m.set('version', versionString(v.header.version));
        images.push(m);
      }
    }
    return omap(['images', images]);
  }

  /**
   * `bs_set`: whatever slot the hash names, and with no hash image 0, MCUboot calls
   * `boot_set_pending_multi(image, confirm)`, which schedules the image's SECONDARY slot (test,
   * or permanent when `confirm`). A hash of a primary image, or no hash at all, therefore asks
   * for a swap to whatever the secondary slot holds; nothing ever confirms the primary.
   */
  private setState(body: Buffer): OMap {
    const spec: BulkSpec = this.options.imageHash ? { confirm: bool, hash: bstr } : { confirm: bool };
    const req = decodeBulk(body, spec) as { confirm?: boolean; hash?: Buffer } | undefined;
    if (!req) return rc(MgmtErr.EINVAL);
    const confirm = req.confirm ?? false;
    const hash = req.hash ?? Buffer.alloc(0);
    if ((hash.length !== 32 && hash.length !== 0) || (hash.length === 0 && this.flash.imageCount > 1)) return rc(MgmtErr.EINVAL);
    let image = 0;
    if (hash.length) {
      let found = false;
      search: for (let i = 0; i < this.flash.imageCount; i++) {
        for (let s = 0; s < 2; s++) {
          const v = validateImage(this.flash.view(i * 2 + s));
          if (!v || !v.hash.equals(hash)) continue;
          image = i;
          found = true;
          break search;
        }
      }
      if (!found) return rc(MgmtErr.ENOENT);
    }
    const r = this.bootSetPending(image, confirm);
    return r === 0 ? this.list() : rc(r);
  }

  /** `boot_set_pending_multi`: `boot_set_next` on the image's secondary slot, never active. */
  private bootSetPending(image: number, confirm: boolean): number {
    const f = this.flash;
    const slot = image * 2 + 1;
    const st: SwapState = f.swapState(slot);
    if (st.magic === 'good') return 0; // already scheduled: left as it is
    if (st.magic === 'bad') return BOOT_EBADIMAGE;
    // No check that the slot holds an image: MCUboot clears the request at the next boot if not.
    this.busy += f.writeMagic(slot);
    if (confirm) this.busy += f.writeImageOk(slot);
    this.busy += f.writeSwapInfo(slot, confirm ? 'perm' : 'test', image);
    return 0;
  }

  private slotInfo(): OMap {
    const images: OMap[] = [];
    for (let image = 0; image < this.flash.imageCount; image++) {
      const slots = [0, 1].map((s) => {
        const m = omap(['slot', s], ['size', this.flash.slotSize]);
        if (s === 1) m.set('upload_image_id', image);
        return m;
      });
      images.push(omap(['image', image], ['slots', slots], ['max_image_size', this.options.maxImageSize]));
    }
    return omap(['images', images]);
  }

  private upload(body: Buffer): OMap {
    const f = this.flash;
    const up = this.up;
    const req = decodeBulk(body, { image: u32, data: bstr, len: u32, off: u32 });
    if (!req || req.off === undefined || req.data === undefined) return rc(MgmtErr.EINVAL);
    if (req.off === 0) up.image = req.image ?? 0;
    if (up.image > f.imageCount) return rc(MgmtErr.ENOENT);
    if (up.image >= f.imageCount) return rc(MgmtErr.EINVAL); // flash_area_open fails
    const slot = up.image * 2; // always the primary slot
    const data = req.data;
    if (req.off === 0) {
      const size = req.len ?? 0xffffffff;
      const limit = this.options.validatePrimaryOnce ? f.slotSize - 16 : f.slotSize;
      if (size > limit) return rc(MgmtErr.EINVAL);
      up.off = 0;
      this.busy += f.eraseSlot(slot); // the whole slot, every time an upload starts
      up.size = size;
    } else if (req.off !== up.off) {
      return omap(['rc', 0], ['off', up.off]);
    } else if (up.off + data.length > up.size) {
      return rc(MgmtErr.EINVAL);
    }
    const align = this.options.writeAlign;
    let rem = data.length % align;
    const aligned = data.length - rem;
    if (up.off + aligned + rem < up.size) rem = 0; // not the last chunk: the unaligned tail is dropped
    try {
      this.busy += f.write(slot, up.off, data.subarray(0, aligned));
      if (rem) {
        const pad = Buffer.alloc(align, 0xff);
        data.copy(pad, 0, aligned, aligned + rem);
        this.busy += f.write(slot, up.off + aligned, pad);
      }
    } catch {
      return rc(MgmtErr.EINVAL);
    }
    up.off += aligned + rem;
    return omap(['rc', 0], ['off', up.off]);
  }

  private echo(body: Buffer): OMap {
    // bs_echo walks the map by hand: stops at "d", then requires the map to end right there.
    const r = readItem(body, 0);
    if (!r || r.item.t !== 'map') return rc(MgmtErr.EINVAL);
    const entries = r.item.entries;
    for (let i = 0; i < entries.length; i++) {
      const [k, v] = entries[i]!;
      if (k.t !== 'tstr' || k.indef) return rc(MgmtErr.EINVAL);
      if (k.v.length === 1 && k.v[0] === 0x64) {
        if (v.t !== 'tstr' || v.indef || i !== entries.length - 1) return rc(MgmtErr.EINVAL);
        const text = (v as Extract<CItem, { t: 'tstr' }>).v;
        // The answer is encoded into bs_obuf: an echo that does not fit there fails with ENOMEM.
        const head = text.length < 24 ? 1 : text.length < 256 ? 2 : 3;
        if (4 + head + text.length > this.outMax) return rc(MgmtErr.ENOMEM);
        return omap(['r', new TStr(text)]);
      }
    }
    return rc(MgmtErr.EINVAL);
  }

  /**
   * `BOOT_SERIAL_OUT_MAX`, the size of boot_serial's answer buffer: the largest message any
   * compiled-in command needs (128 bytes, +48 with image state, +36 with hashes, or 164 for slot
   * info), once per image.
   */
  get outMax(): number {
    const o = this.options;
    const msg = Math.max(128 + (o.imageState ? 48 : 0) + (o.imageHash ? 36 : 0), o.slotInfo ? 164 : 0);
    return msg * this.flash.imageCount;
  }

  // ---- inspection ------------------------------------------------------------------------

  /** A copy of a slot's bytes. */
  readSlot(image: number, slot: number): Buffer {
    return this.flash.read(image * 2 + slot);
  }

  /** Every slot with its MCUboot validity. */
  slots(): Array<{ image: number; slot: number; valid: boolean; version?: string; hash?: string; trailer: SwapState }> {
    return this.flash.slots.map((_, s) => {
      const v = validateImage(this.flash.view(s));
      const h = parseHeader(this.flash.view(s));
      return {
        image: s >> 1,
        slot: s & 1,
        valid: !!v,
        version: v && h ? versionString(h.version) : undefined,
        hash: v?.hash.toString('hex'),
        trailer: this.flash.swapState(s),
      };
    });
  }

  /** Upload progress (`curr_off` / `img_size`), undefined before the first chunk. */
  uploadProgress(): { image: number; off: number; size: number } | undefined {
    return this.up.size === 0 && this.up.off === 0 ? undefined : { image: this.up.image, off: this.up.off, size: this.up.size };
  }

  /** MCUboot keeps no files; always empty. */
  readonly files = new Map<string, Buffer>();
}

function rc(code: number): OMap {
  return omap(['rc', code]);
}

/** `boot_serial_output`: header = request header with op + 1, flags 0, the encoded map. */
class Output {
  private sent: Buffer[] = [];
  private op: number;
  private groupSwapped = false;
  constructor(
    private readonly byte0: number,
    private readonly hdr: SmpHeader,
    private readonly responses: Buffer[],
  ) {
    this.op = hdr.op;
  }
  private emit(payload: Buffer): void {
    this.op = (this.op + 1) & 7;
    const group = this.groupSwapped ? ((this.hdr.group & 0xff) << 8) | (this.hdr.group >> 8) : this.hdr.group;
    this.groupSwapped = !this.groupSwapped;
    const h = encodeHeader({ op: 0, version: 0, flags: 0, length: payload.length, group, seq: this.hdr.seq, id: this.hdr.id });
    h[0] = (this.byte0 & ~7) | this.op; // version and reserved bits copied from the request
    const p = Buffer.concat([h, payload]);
    this.responses.push(p);
  }
  send(m: OMap): void {
    const payload = encodeCborValue(m);
    this.sent.push(payload);
    this.emit(payload);
  }
  sendAppended(m: OMap): void {
    const payload = Buffer.concat([...this.sent, encodeCborValue(m)]);
    this.sent = [payload];
    this.emit(payload);
  }
}

/** Creates a simulated MCUboot serial-recovery device. */
export function createMcubootDevice(opts: McubootDeviceOptions = {}): McubootDevice {
  return new McubootDevice(opts);
}
