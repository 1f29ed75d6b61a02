/**
 * The Zephyr personality: an SMP server that behaves like Zephyr's MCUmgr (PROTOCOL.md §1–§3,
 * §6, §10) on top of the simulated flash ({@link FlashModel}) and MCUboot boot logic.
 * @module
 */
import { decodeHeader, Op, SMP_HEADER_SIZE, type SmpHeader } from '../../codec/header.js';
import type { DeviceLimits, DeviceStep, SimDeviceCore } from '../types.js';
import { encodeCborValue, omap } from './cbor-writer.js';
import { Group, MgmtErr } from './codes.js';
import { FlashModel, type BootReport, type FlashOptions, type SwapState, type SwapType } from './flash.js';
import { buildImage, parseVersion, readSlotInfo, validateImage, versionString } from './image.js';
import { packet, responseHeader, SmpCtx, type GroupDef } from './smp.js';
import { basicGroup, enumGroup, fsGroup, idleFs, settingsGroup, shellGroup, statGroup, type FsContext, type ShellCommand, type ShellResult } from './zephyr-groups.js';
import { idleUpload, imgGroup, type ImgUploadState } from './zephyr-img.js';
import { DEFAULT_MEM_POOLS, DEFAULT_THREADS, osGroup, type SimMemPool, type SimThread } from './zephyr-os.js';
import { SimFs } from './vfs.js';

/** Which command sets are compiled in (each maps to a Zephyr Kconfig option). */
export interface ZephyrFeatures {
  /** os echo (`MCUMGR_GRP_OS_ECHO`, Zephyr default y). */
  echo: boolean;
  /** os taskstat (`MCUMGR_GRP_OS_TASKSTAT`, Zephyr default n). */
  taskstat: boolean;
  /** os mpstat (newest Zephyr only; `mpools` layout). */
  mpstat: boolean;
  /** os datetime (`MCUMGR_GRP_OS_DATETIME`, Zephyr default n; also needs `rtc`). */
  datetime: boolean;
  /** os reset (needs `CONFIG_REBOOT`). */
  reset: boolean;
  /** os info (`MCUMGR_GRP_OS_INFO`, Zephyr default n). */
  osInfo: boolean;
  /** os bootloader info (`MCUMGR_GRP_OS_BOOTLOADER_INFO`, Zephyr default n). */
  bootloaderInfo: boolean;
  /** image slot info (`MCUMGR_GRP_IMG_SLOT_INFO`). */
  slotInfo: boolean;
  /** stat group. */
  stat: boolean;
  /** settings group. */
  settings: boolean;
  /** fs group. */
  fs: boolean;
  /** fs status (`MCUMGR_GRP_FS_FILE_STATUS`, Zephyr default y). */
  fsStatus: boolean;
  /** fs hash/checksum with crc32 and sha256 (`MCUMGR_GRP_FS_CHECKSUM_HASH`, Zephyr default n). */
  fsHashChecksum: boolean;
  /** fs supported hashes (`..._CHECKSUM_HASH_SUPPORTED_CMD`, Zephyr default n). */
  fsSupportedCmd: boolean;
  /** shell group. */
  shell: boolean;
  /** enum group. */
  enum: boolean;
  /** enum details (`MCUMGR_GRP_ENUM_DETAILS`, with name and handler count). */
  enumDetails: boolean;
  /** Zephyr basic group (storage erase). */
  zephyrBasic: boolean;
}

/** What a reset hook may answer: nothing (allow), an `MGMT_ERR_*` rc, or a group error. */
export type ResetHookResult = void | undefined | number | { group: number; rc: number };

/** Options of {@link createZephyrDevice}. Every default is Zephyr's unless said otherwise. */
export interface ZephyrDeviceOptions extends FlashOptions {
  /** `MCUMGR_TRANSPORT_NETBUF_SIZE`. Default 384 (Zephyr uses 2048 when UDP is enabled). */
  netbufSize?: number;
  /** `MCUMGR_TRANSPORT_NETBUF_COUNT`. Default 4. */
  netbufCount?: number;
  /** UART line buffer size. Default 128. */
  lineBufSize?: number;
  /** UART line buffer count. Default 2. */
  lineBufCount?: number;
  /** Serial encodings. Default `['console', 'raw']`. */
  encodings?: Array<'console' | 'raw' | 'cobs'>;
  /** `MCUMGR_SMP_SUPPORT_ORIGINAL_PROTOCOL` (SMP v1 requests). Default true. */
  smpV1Support?: boolean;
  /** `MCUMGR_GRP_IMG_FRUGAL_LIST`. Default false. */
  frugalList?: boolean;
  /** `IMG_ENABLE_IMAGE_CHECK` (upload `match`). Default true. */
  imageCheck?: boolean;
  /** `MCUMGR_SMP_LEGACY_RC_BEHAVIOUR`. Default false. */
  legacyRc?: boolean;
  /** `MCUMGR_SMP_VERBOSE_ERR_RESPONSE` (+ image verbose errors): `rsn` in rc errors. Default false. */
  verboseErr?: boolean;
  /** `ZCBOR_CANONICAL`: definite-length maps and arrays. Default false (indefinite). */
  definiteCbor?: boolean;
  /**
   * `MCUMGR_GRP_OS_MCUMGR_PARAMS`. Default **true** in the simulator; real Zephyr defaults it
   * off (devices then answer rc 8 and clients fall back to 384).
   */
  mcumgrParams?: boolean;
  /** Command sets compiled in. Default: all true (see each field for Zephyr's own default). */
  features?: Partial<ZephyrFeatures>;
  /** Version of the image built for the primary slot(s). Default `"1.0.0"`. */
  appVersion?: string;
  /** Body size of the built initial image. Default 4096. */
  appBodySize?: number;
  /** Initial content of the primary slot of image 0 (instead of a built image). */
  initialImage?: Uint8Array;
  /** Initial content of the secondary slot of image 0 (default: erased). */
  secondaryImage?: Uint8Array;
  /** Use an existing flash (shared with an MCUboot personality) instead of a new one. */
  flash?: FlashModel;
  /** Network host name (os info `n`). Default `"zephyr"`. */
  hostname?: string;
  /** `CONFIG_BOARD`. Default `"nrf52840dk"`. */
  board?: string;
  /** `CONFIG_BOARD_REVISION` (os info `i` adds `@rev`). Default none. */
  boardRevision?: string;
  /** Kernel version (os info `v`, shell `kernel version`). Default `"4.2.0"`. */
  kernelVersion?: string;
  /** `BUILD_VERSION` (os info `r`). Default `"v4.2.0"`. */
  buildVersion?: string;
  /** `CONFIG_ARCH`. Default `"arm"`. */
  arch?: string;
  /** Processor name. Default `"cortex-m4"`. */
  processor?: string;
  /** Build date/time; when set, os info accepts `b`. Default unset (then `b` is invalid). */
  buildDateTime?: string;
  /** `MCUMGR_GRP_OS_INFO_MAX_RESPONSE_SIZE`. Default 256. */
  osInfoMaxResponseSize?: number;
  /** An `rtc` device exists (datetime commands compiled in). Default true. */
  rtc?: boolean;
  /** Initial RTC time; default: RTC not set (datetime get answers RTC_NOT_SET until set). */
  rtcTime?: Date | number;
  /** `MCUMGR_GRP_OS_DATETIME_MS`. Default false. */
  datetimeMs?: boolean;
  /** Make RTC calls fail (err {0, 5}). Default false. */
  rtcFails?: boolean;
  /** Bootloader mode reported by bootloader info (`mode`). Default 3 (swap using move). */
  bootloaderMode?: number;
  /** MCUboot downgrade prevention (refuses older images at boot; `no-downgrade` in info). Default false. */
  downgradePrevention?: boolean;
  /** `MCUMGR_GRP_IMG_ALLOW_ERASE_PENDING`. Default false. */
  allowEraseProtected?: boolean;
  /** `MCUMGR_GRP_IMG_ALLOW_CONFIRM_NON_ACTIVE_IMAGE_SECONDARY`. Default false. */
  allowConfirmNonActiveSecondary?: boolean;
  /** `MCUMGR_GRP_IMG_VERSION_CMP_USE_BUILD_NUMBER`. Default false. */
  versionCmpUseBuild?: boolean;
  /** `MCUMGR_GRP_OS_RESET_MS`. Default 250. */
  resetMs?: number;
  /** `MCUMGR_GRP_OS_RESET_HOOK`: when set, `force` is decoded and the hook may refuse. */
  resetHook?: (req: { force: boolean; bootMode?: number }) => ResetHookResult;
  /** `MCUMGR_GRP_OS_RESET_BOOT_MODE`: decode `boot_mode` (0 normal, 1 bootloader). Default false. */
  resetBootMode?: boolean;
  /** Threads for taskstat. */
  threads?: SimThread[];
  /** @deprecated Use `taskstatName`. `false` is `taskstatName: 'index'`. */
  taskstatUseName?: boolean;
  /**
   * Taskstat: what keys each thread (`MCUMGR_GRP_OS_TASKSTAT_USE_THREAD_{NAME,PRIO,IDX}_FOR_NAME`).
   * Zephyr's default is `'name'` with `CONFIG_THREAD_NAME`, else `'prio'`; neither is unique.
   * Default `'name'`.
   */
  taskstatName?: 'name' | 'prio' | 'index';
  /** Taskstat: signed priorities. Default true. */
  taskstatSignedPriority?: boolean;
  /** Taskstat: `stksiz`/`stkuse`. Default true. */
  taskstatStackInfo?: boolean;
  /** Taskstat: `runtime` (`SCHED_THREAD_USAGE`). Default false. */
  taskstatRuntime?: boolean;
  /** `MCUMGR_GRP_OS_TASKSTAT_ONLY_SUPPORTED_STATS`. Default true. */
  taskstatOnlySupported?: boolean;
  /** Memory pools for mpstat. */
  memPools?: SimMemPool[];
  /** Initial settings (key → value); also persisted in storage. Default `{}`. */
  settings?: Record<string, Uint8Array | string>;
  /** Settings subtrees with a handler (first path segment). Default: roots of `settings` plus `"app"`. */
  settingsRoots?: string[];
  /** `MCUMGR_GRP_SETTINGS_NAME_LEN`. Default 32. */
  settingsNameLen?: number;
  /** `MCUMGR_GRP_SETTINGS_VALUE_LEN`. Default 32. */
  settingsValueLen?: number;
  /** Stat groups: group → field → value (or a function read at each request). */
  stats?: Record<string, Record<string, number | (() => number)>>;
  /** `MCUMGR_GRP_STAT_MAX_NAME_LEN`. Default 32. */
  statMaxNameLen?: number;
  /** Initial files (absolute path → content). */
  files?: Record<string, Uint8Array | string>;
  /** Mount points. Default `['/lfs']`. */
  mountPoints?: string[];
  /** Read-only mount points. */
  readOnlyMounts?: string[];
  /** `MCUMGR_GRP_FS_PATH_LEN`. Default 64. */
  fsPathLen?: number;
  /** `MCUMGR_GRP_FS_MAX_OFFSET_LEN` (3 for the 64 KB file size choice, 5 for 4 GB). Default 3. */
  fsMaxOffsetLen?: number;
  /** `MCUMGR_GRP_FS_FILE_AUTOMATIC_IDLE_CLOSE_TIME`, ms. Default 4000. */
  fsIdleCloseMs?: number;
  /** `CONFIG_SHELL_CMD_BUFF_SIZE`. Default 256. */
  shellCmdBuffSize?: number;
  /** `CONFIG_SHELL_BACKEND_DUMMY_BUF_SIZE`. Default 300. */
  shellOutputBufSize?: number;
  /** `MCUMGR_GRP_SHELL_LEGACY_RC_RETURN_CODE` (`rc` instead of `ret`). Default false. */
  shellLegacyRc?: boolean;
  /** Extra shell commands (name → implementation), added to the built-in ones. */
  shellCommands?: Record<string, ShellCommand>;
  /** `MCUMGR_GRP_ENUM_DETAILS_BUFFER_TYPE_STACK_ENTRIES`. Default 16. */
  enumDetailsMaxEntries?: number;
  /** Storage erase faults (basic group): none, `open` (no partition), `config`, `erase`. */
  storageFault?: 'none' | 'open' | 'config' | 'erase';
  /** The device's clock in ms (RTC, uptime, fs idle close). Default `Date.now`. */
  now?: () => number;
  /**
   * Processing time of every SMP message in ms (decode, dispatch, encode the answer), on top of
   * the flash time the command itself costs. Default 0.
   */
  requestMs?: number;
}

/** Resolved options (all defaults applied). */
export type ResolvedZephyrOptions = Required<
  Omit<
    ZephyrDeviceOptions,
    | 'features'
    | 'initialImage'
    | 'secondaryImage'
    | 'flash'
    | 'boardRevision'
    | 'buildDateTime'
    | 'rtcTime'
    | 'resetHook'
    | 'shellCommands'
    | 'files'
    | 'settings'
    | 'settingsRoots'
    | 'stats'
    | 'threads'
    | 'memPools'
    | 'readOnlyMounts'
    | 'hostname'
    | 'buildVersion'
    | keyof FlashOptions
  >
> & {
  features: ZephyrFeatures;
  boardRevision?: string;
  buildDateTime?: string;
  resetHook?: ZephyrDeviceOptions['resetHook'];
  hostname?: string;
  buildVersion?: string;
};

/** Inspection view of one slot. */
export interface SlotSummary {
  image: number;
  slot: number;
  /** Version string when the slot holds a readable image. */
  version?: string;
  /** SHA-256 TLV value (hex) when readable. */
  hash?: string;
  /** Whether MCUboot would accept the image (hash verified). */
  valid: boolean;
  /** Trailer state. */
  trailer: SwapState;
}

/** Upload progress as the device sees it. */
export interface UploadProgress {
  image: number;
  slot: number;
  off: number;
  size: number;
  sha: Buffer;
}

const ALL_FEATURES: ZephyrFeatures = {
  echo: true,
  taskstat: true,
  mpstat: true,
  datetime: true,
  reset: true,
  osInfo: true,
  bootloaderInfo: true,
  slotInfo: true,
  stat: true,
  settings: true,
  fs: true,
  fsStatus: true,
  fsHashChecksum: true,
  fsSupportedCmd: true,
  shell: true,
  enum: true,
  enumDetails: true,
  zephyrBasic: true,
};

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
    const o: ResolvedZephyrOptions = {
      netbufSize: opts.netbufSize ?? 384,
      netbufCount: opts.netbufCount ?? 4,
      lineBufSize: opts.lineBufSize ?? 128,
      lineBufCount: opts.lineBufCount ?? 2,
      encodings: opts.encodings ?? ['console', 'raw'],
      smpV1Support: opts.smpV1Support ?? true,
      frugalList: opts.frugalList ?? false,
      imageCheck: opts.imageCheck ?? true,
      legacyRc: opts.legacyRc ?? false,
      verboseErr: opts.verboseErr ?? false,
      definiteCbor: opts.definiteCbor ?? false,
      mcumgrParams: opts.mcumgrParams ?? true,
      features: { ...ALL_FEATURES, ...opts.features },
      appVersion: opts.appVersion ?? '1.0.0',
      appBodySize: opts.appBodySize ?? 4096,
      hostname: opts.hostname ?? 'zephyr',
      board: opts.board ?? 'nrf52840dk',
      boardRevision: opts.boardRevision,
      kernelVersion: opts.kernelVersion ?? '4.2.0',
      buildVersion: opts.buildVersion ?? 'v4.2.0',
      arch: opts.arch ?? 'arm',
      processor: opts.processor ?? 'cortex-m4',
      buildDateTime: opts.buildDateTime,
      osInfoMaxResponseSize: opts.osInfoMaxResponseSize ?? 256,
      rtc: opts.rtc ?? true,
      datetimeMs: opts.datetimeMs ?? false,
      rtcFails: opts.rtcFails ?? false,
      bootloaderMode: opts.bootloaderMode ?? 3,
      downgradePrevention: opts.downgradePrevention ?? false,
      allowEraseProtected: opts.allowEraseProtected ?? false,
      allowConfirmNonActiveSecondary: opts.allowConfirmNonActiveSecondary ?? false,
      versionCmpUseBuild: opts.versionCmpUseBuild ?? false,
      resetMs: opts.resetMs ?? 250,
      resetHook: opts.resetHook,
      resetBootMode: opts.resetBootMode ?? false,
      taskstatUseName: opts.taskstatUseName ?? true,
      taskstatName: opts.taskstatName ?? (opts.taskstatUseName === false ? 'index' : 'name'),
      taskstatSignedPriority: opts.taskstatSignedPriority ?? true,
      taskstatStackInfo: opts.taskstatStackInfo ?? true,
      taskstatRuntime: opts.taskstatRuntime ?? false,
      taskstatOnlySupported: opts.taskstatOnlySupported ?? true,
      settingsNameLen: opts.settingsNameLen ?? 32,
      settingsValueLen: opts.settingsValueLen ?? 32,
      statMaxNameLen: opts.statMaxNameLen ?? 32,
      mountPoints: opts.mountPoints ?? ['/lfs'],
      fsPathLen: opts.fsPathLen ?? 64,
      fsMaxOffsetLen: opts.fsMaxOffsetLen ?? 3,
      fsIdleCloseMs: opts.fsIdleCloseMs ?? 4000,
      shellCmdBuffSize: opts.shellCmdBuffSize ?? 256,
      shellOutputBufSize: opts.shellOutputBufSize ?? 300,
      shellLegacyRc: opts.shellLegacyRc ?? false,
      enumDetailsMaxEntries: opts.enumDetailsMaxEntries ?? 16,
      storageFault: opts.storageFault ?? 'none',
      now: opts.now ?? Date.now,
      requestMs: opts.requestMs ?? 0,
    };
    this.options = o;
    if (!Number.isInteger(o.netbufSize) || o.netbufSize < 64 || o.netbufSize > 65535) {
      throw new RangeError(`netbufSize must be an integer 64..65535, got ${o.netbufSize}`);
    }
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
