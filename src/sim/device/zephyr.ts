/**
 * The Zephyr personality: an SMP server that behaves like Zephyr's MCUmgr (PROTOCOL.md §1–§3,
 * §6, §10) on top of the simulated flash ({@link FlashModel}) and MCUboot boot logic.
 * @module
 */
import { decodeHeader, Op, SMP_HEADER_SIZE, type SmpHeader } from '../../codec/header.js';
import type { DeviceLimits, DeviceStep, SimDeviceCore } from '../types.js';
import { encodeCborValue, omap } from './cbor-writer.js';
import { Group, MgmtErr } from './codes.js';
import { FlashModel, type BootReport, type SwapType } from './flash.js';
import { buildImage, parseVersion, readSlotInfo, validateImage, versionString } from './image.js';
import { packet, responseHeader, SmpCtx, type GroupDef } from './smp.js';
import { basicGroup, enumGroup, settingsGroup, shellGroup, statGroup, type ShellCommand, type ShellResult } from './zephyr-groups.js';
import { fsGroup, idleFs, type FsContext } from './zephyr-fs.js';
import { idleUpload, imgGroup, type ImgUploadState } from './zephyr-img.js';
import { DEFAULT_MEM_POOLS, DEFAULT_THREADS, osGroup, type SimMemPool, type SimThread } from './zephyr-os.js';
import { SimFs } from './vfs.js';
import { resolveZephyrOptions, type ResolvedZephyrOptions, type SlotSummary, type UploadProgress, type ZephyrDeviceOptions } from './zephyr-options.js';

export type { ZephyrFeatures, ResetHookResult, ZephyrDeviceOptions, ResolvedZephyrOptions, SlotSummary, UploadProgress } from './zephyr-options.js';

/**
 * A simulated Zephyr device's SMP core (see {@link ZephyrDeviceOptions} for the Kconfig knobs).
 *
 * `handle()` takes one de-framed transport packet and returns the response packets. Packets
 * larger than `netbufSize` get no answer at all: over serial such a request cannot even be
 * reassembled (the link drops anything above `netbufSize − 4`), over UDP/BLE it would not fit the
 * receive buffer either.
 */
export class ZephyrDevice implements SimDeviceCore {
  readonly personality = 'zephyr' as const;
  readonly limits: DeviceLimits;
  /** Resolved options. */
  readonly options: ResolvedZephyrOptions;
  /** The flash (slots, trailers, storage partition). */
  readonly flash: FlashModel;
  /** The in-memory file system (fs group). */
  readonly vfs: SimFs;
  /** Registered groups in registration order (enum group order). */
  readonly groups: GroupDef[] = [];
  /** Threads reported by taskstat. */
  threads: SimThread[];
  /** Pools reported by mpstat. */
  memPools: SimMemPool[];
  /** Stat groups. */
  readonly stats: Map<string, Record<string, number | (() => number)>>;
  /** Runtime settings values (what the application holds). */
  readonly settings = new Map<string, Buffer>();
  /** Persisted settings (the storage backend). */
  readonly settingsStorage = new Map<string, Buffer>();
  /** Settings subtrees with a registered handler. */
  readonly settingsRoots: Set<string>;
  /** Log of accepted reset requests. */
  readonly resets: Array<{ force: boolean; bootMode?: number; at: number }> = [];
  /** Boot mode requested by the last reset (`boot_mode`), consumed by the next boot. */
  pendingBootMode: number | undefined;
  /** Boot mode the last boot was asked for (1 = stay in the bootloader, e.g. serial recovery). */
  lastBootMode: number | undefined;
  /** What the last boot did. */
  lastBoot!: BootReport;
  /** True when MCUboot found no bootable image at the last boot: the device answers nothing. */
  halted = false;
  /** The image upload context. @internal */
  readonly upload: ImgUploadState = idleUpload();
  /** The fs context. @internal */
  readonly fs: FsContext = idleFs();
  /** Busy time accumulated by the current request, ms. @internal */
  busy = 0;
  /** Clock. */
  readonly now: () => number;
  /** RTC failure switch (datetime commands answer err {0, 5}). */
  rtcFails: boolean;
  private readonly shellCommands: Record<string, ShellCommand>;
  private rtcOffset: number | undefined;
  private bootAt = 0;
  private resetAfter: number | undefined;
  private lastShellRet = 0;

  constructor(opts: ZephyrDeviceOptions = {}) {
    const o = resolveZephyrOptions(opts);
    this.options = o;
    if (this.downloadChunkSize < 1) throw new RangeError(`netbufSize ${o.netbufSize} leaves no room for an fs download chunk`);
    this.limits = {
      netbufSize: o.netbufSize,
      netbufCount: o.netbufCount,
      lineBufSize: o.lineBufSize,
      lineBufCount: o.lineBufCount,
      encodings: [...o.encodings],
    };
    this.now = o.now;
    this.rtcFails = o.rtcFails;
    this.flash = opts.flash ?? new FlashModel(opts);
    this.flash.storageFault = o.storageFault;
    this.vfs = new SimFs({ mountPoints: o.mountPoints, readOnly: opts.readOnlyMounts, files: opts.files });
    this.threads = opts.threads ?? DEFAULT_THREADS.map((t) => ({ ...t }));
    this.memPools = opts.memPools ?? DEFAULT_MEM_POOLS.map((p) => ({ ...p }));
    this.stats = new Map(
      Object.entries(opts.stats ?? { smp_svr_stats: { ticks: () => Math.floor((this.now() - this.bootAt) / 1000) } }),
    );
    for (const [k, v] of Object.entries(opts.settings ?? {})) {
      this.settingsStorage.set(k, Buffer.from(typeof v === 'string' ? Buffer.from(v, 'utf8') : v));
    }
    this.settingsRoots = new Set(opts.settingsRoots ?? ['app', ...Object.keys(opts.settings ?? {}).map((k) => k.split('/')[0]!)]);
    this.shellCommands = { ...opts.shellCommands };
    if (opts.rtcTime !== undefined) this.setRtc(typeof opts.rtcTime === 'number' ? opts.rtcTime : opts.rtcTime.getTime());

    if (!opts.flash) {
      for (let image = 0; image < this.flash.imageCount; image++) {
        const content =
          image === 0 && opts.initialImage
            ? opts.initialImage
            : buildImage({ version: parseVersion(o.appVersion), bodySize: o.appBodySize, body: image > 0 ? Buffer.alloc(o.appBodySize, image) : undefined });
        this.flash.program(image * 2, content);
      }
      if (opts.secondaryImage) this.flash.program(1, opts.secondaryImage);
    }

    // Registration order = MCUMGR_HANDLER_DEFINE names sorted (iterable section):
    // enum_mgmt, fs_mgmt, img_mgmt, os_mgmt, settings_mgmt, shell_mgmt, stat_mgmt, zephyr_basic_mgmt.
    const f = o.features;
    if (f.enum) this.groups.push(enumGroup(this));
    if (f.fs) this.groups.push(fsGroup(this));
    this.groups.push(imgGroup(this));
    this.groups.push(osGroup(this));
    if (f.settings) this.groups.push(settingsGroup(this));
    if (f.shell) this.groups.push(shellGroup(this));
    if (f.stat) this.groups.push(statGroup(this));
    if (f.zephyrBasic) this.groups.push(basicGroup(this));

    this.boot();
  }

  /** fs download chunk: `NETBUF_SIZE − (35 + 3·MAX_OFFSET_LEN)` (340 with the defaults). */
  get downloadChunkSize(): number {
    return this.options.netbufSize - (35 + 3 * this.options.fsMaxOffsetLen);
  }

  /** {@inheritDoc SimDeviceCore.handle} */
  handle(pkt: Buffer, via: string): DeviceStep {
    this.busy = 0;
    this.resetAfter = undefined;
    const responses: Buffer[] = [];
    if (this.halted || pkt.length > this.limits.netbufSize) return { responses, busyMs: 0 };
    let off = 0;
    while (off < pkt.length) {
      if (pkt.length - off < SMP_HEADER_SIZE) break; // trailing bytes: no response
      const hdr = decodeHeader(pkt, off);
      const avail = pkt.length - off - SMP_HEADER_SIZE;
      if (hdr.length > avail) {
        responses.push(this.errorResponse(hdr, MgmtErr.ECORRUPT));
        break;
      }
      const r = this.single(hdr, pkt.subarray(off + SMP_HEADER_SIZE), via);
      this.busy += this.options.requestMs;
      if (r.rc !== 0) {
        responses.push(this.errorResponse(hdr, r.rc, r.rsn));
        break;
      }
      responses.push(r.packet!);
      off += SMP_HEADER_SIZE + hdr.length;
    }
    const step: DeviceStep = { responses, busyMs: Math.round(this.busy * 1000) / 1000 };
    if (this.resetAfter !== undefined) step.resetAfterMs = this.resetAfter;
    return step;
  }

  /** Handles one SMP message; returns the response packet or an rc for an error response. */
  private single(hdr: SmpHeader, rest: Buffer, via: string): { rc: number; rsn?: string; packet?: Buffer } {
    if (hdr.op !== Op.READ && hdr.op !== Op.WRITE) return { rc: MgmtErr.ENOTSUP };
    if (hdr.version === 0 && !this.options.smpV1Support) return { rc: MgmtErr.UNSUPPORTED_TOO_OLD };
    if (hdr.version > 1) return { rc: MgmtErr.UNSUPPORTED_TOO_NEW };
    const group = this.groups.find((g) => g.id === hdr.group);
    const cmd = group?.handlers[hdr.id];
    const fn = cmd && (hdr.op === Op.READ ? cmd.read : cmd.write);
    if (!group || !cmd || !fn) return { rc: MgmtErr.ENOTSUP };
    const ctx = new SmpCtx(hdr, rest, via);
    const rc = fn(ctx);
    if (rc !== 0) return { rc, rsn: ctx.rsn };
    const payload = encodeCborValue(ctx.out, { definite: this.options.definiteCbor });
    if (SMP_HEADER_SIZE + payload.length > this.limits.netbufSize) {
      // The encoder ran out of buffer: most handlers report EMSGSIZE, enum reports ECORRUPT.
      return { rc: group.id === Group.ENUM ? MgmtErr.ECORRUPT : MgmtErr.EMSGSIZE };
    }
    if (hdr.version === 0 && ctx.errRc !== 0) {
      const t = this.groups.find((g) => g.id === ctx.errGroup)?.translate;
      const v1 = t ? t(ctx.errRc) : MgmtErr.EUNKNOWN;
      if (v1 !== 0) return { rc: v1, rsn: ctx.rsn };
      // Translation to EOK (Zephyr-basic quirk): Zephyr sends the response buffer without ever
      // writing its header or counting the payload — a bare 8-byte header. Modelled as the
      // request's response header with length 0 (the real bytes are stale buffer content).
      return { rc: 0, packet: responseHeader(hdr, 0) };
    }
    return { rc: 0, packet: packet(responseHeader(hdr, payload.length), payload) };
  }

  /** `smp_build_err_rsp`: `{"rc": N}` plus `rsn` with verbose errors. */
  private errorResponse(hdr: SmpHeader, rc: number, rsn?: string): Buffer {
    const m = omap(['rc', rc], ['rsn', this.options.verboseErr && rsn !== undefined ? rsn : undefined]);
    return this.withPayload(hdr, encodeCborValue(m, { definite: this.options.definiteCbor }));
  }

  private withPayload(hdr: SmpHeader, payload: Buffer): Buffer {
    return packet(responseHeader(hdr, payload.length), payload);
  }

  /** {@inheritDoc SimDeviceCore.reboot} */
  reboot(): void {
    this.boot();
  }

  private boot(): void {
    this.lastBoot = this.flash.boot({ downgradePrevention: this.options.downgradePrevention });
    this.halted = !this.lastBoot.bootable;
    this.resetUpload();
    this.fsCleanup();
    this.settingsLoad();
    this.bootAt = this.now();
    this.lastShellRet = 0;
    this.lastBootMode = this.pendingBootMode;
    this.pendingBootMode = undefined;
  }

  // ---- helpers used by the group handlers (internal) -------------------------------------

  /** Resets the image upload context. @internal */
  resetUpload(): void {
    Object.assign(this.upload, idleUpload());
  }

  /** Closes the fs context. @internal */
  fsCleanup(): void {
    Object.assign(this.fs, idleFs());
  }

  /** Applies the automatic idle close of the fs context. @internal */
  fsIdleCheck(): void {
    if (this.fs.state !== 'none' && this.now() - this.fs.lastActivity >= this.options.fsIdleCloseMs) this.fsCleanup();
  }

  /** Records an accepted reset; the link reboots the device `resetMs` after the response. @internal */
  requestReset(req: { force: boolean; bootMode?: number }): void {
    this.resets.push({ ...req, at: this.now() });
    if (req.bootMode !== undefined) this.pendingBootMode = req.bootMode;
    this.resetAfter = this.options.resetMs;
  }

  /** Current RTC time (ms since epoch) or undefined when never set. @internal */
  rtcNow(): number | undefined {
    return this.rtcOffset === undefined ? undefined : this.now() + this.rtcOffset;
  }

  /** Sets the RTC. */
  setRtc(ms: number): void {
    this.rtcOffset = ms - this.now();
  }

  /** Whether a settings handler exists for `name`'s subtree. @internal */
  settingsHasRoot(name: string): boolean {
    return this.settingsRoots.has(name.split('/')[0]!);
  }

  /** `settings_load`: runtime values ← storage. @internal */
  settingsLoad(): void {
    this.settings.clear();
    for (const [k, v] of this.settingsStorage) this.settings.set(k, Buffer.from(v));
  }

  /** `settings_save`: storage ← runtime values. @internal */
  settingsSave(): void {
    this.settingsStorage.clear();
    for (const [k, v] of this.settings) this.settingsStorage.set(k, Buffer.from(v));
  }

  /** The storage partition was erased (settings storage lives there). @internal */
  onStorageErased(): void {
    this.settingsStorage.clear();
  }

  /** Runs a shell command line. @internal */
  runShell(line: string): ShellResult {
    const argv = line.split(' ').filter((w) => w.length > 0);
    let r: ShellResult;
    if (argv.length === 0) r = { out: '', ret: -8 };
    else {
      const custom = this.shellCommands[argv[0]!];
      r = custom ? custom(argv, this) : this.builtinShell(argv);
    }
    this.lastShellRet = r.ret;
    return r;
  }

  private builtinShell(argv: string[]): ShellResult {
    const [cmd, sub] = argv;
    switch (cmd) {
      case 'echo':
        return { out: `${argv.slice(1).join(' ')}\n`, ret: 0 };
      case 'kernel':
        if (sub === 'version') return { out: `Zephyr version ${this.options.kernelVersion}\n`, ret: 0 };
        if (sub === 'uptime') return { out: `Uptime: ${Math.max(0, Math.floor(this.now() - this.bootAt))} ms\n`, ret: 0 };
        if (sub === undefined) return { out: 'kernel - Kernel commands\nSubcommands:\n  uptime   : Kernel uptime.\n  version  : Kernel version.\n', ret: 1 };
        return { out: `kernel: wrong parameter count\n`, ret: -8 };
      case 'retval':
        return { out: `${this.lastShellRet}\n`, ret: 0 };
      case 'help': {
        const names = ['echo', 'help', 'kernel', 'retval', ...Object.keys(this.shellCommands)].sort();
        return { out: `Available commands:\n${names.map((n) => `  ${n}`).join('\n')}\n`, ret: 0 };
      }
      default:
        return { out: `${cmd}: command not found\n`, ret: -8 };
    }
  }

  // ---- inspection (tests) -------------------------------------------------------------------

  /** Every slot: readable image info, MCUboot validity and trailer state. */
  slots(): SlotSummary[] {
    const out: SlotSummary[] = [];
    for (let s = 0; s < this.flash.slots.length; s++) {
      const info = readSlotInfo(this.flash.view(s));
      out.push({
        image: s >> 1,
        slot: s & 1,
        version: info.ok ? versionString(info.version) : undefined,
        hash: info.ok ? info.hash.toString('hex') : undefined,
        valid: validateImage(this.flash.view(s)) !== undefined,
        trailer: this.flash.swapState(s),
      });
    }
    return out;
  }

  /** A copy of a slot's bytes (`slot` 0 = primary, 1 = secondary of `image`). */
  readSlot(image: number, slot: number): Buffer {
    return this.flash.read(image * 2 + slot);
  }

  /** The file system's files (path → content). */
  get files(): Map<string, Buffer> {
    return this.vfs.files;
  }

  /** The image upload in progress, if any. */
  uploadProgress(): UploadProgress | undefined {
    const u = this.upload;
    if (u.slot < 0) return undefined;
    return { image: u.slot >> 1, slot: u.slot & 1, off: u.off, size: u.size, sha: Buffer.from(u.sha) };
  }

  /** MCUboot's swap type of `image` right now. */
  swapType(image = 0): SwapType {
    return this.flash.swapType(image);
  }
}

/** Creates a simulated Zephyr device. */
export function createZephyrDevice(opts: ZephyrDeviceOptions = {}): ZephyrDevice {
  return new ZephyrDevice(opts);
}
