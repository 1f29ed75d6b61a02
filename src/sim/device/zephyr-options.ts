/**
 * The Zephyr personality's options: one field per Kconfig knob it models, with Zephyr's default
 * unless said otherwise, and the function that fills the defaults in.
 * @module
 */
import type { FlashModel, FlashOptions, SwapState } from './flash.js';
import type { ShellCommand } from './zephyr-groups.js';
import type { SimMemPool, SimThread } from './zephyr-os.js';

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
  /**
   * Size of the file system (the LittleFS partition), bytes: a write that would need more fails
   * as Zephyr's does (`FS_MGMT_ERR_FILE_WRITE_FAILED`, v1 rc 1). Default 16 MiB.
   */
  fsSize?: number;
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

export const ALL_FEATURES: ZephyrFeatures = {
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

/** Fills in every default of `opts` (Zephyr's, unless the field says otherwise) and checks the sizes. */
export function resolveZephyrOptions(opts: ZephyrDeviceOptions): ResolvedZephyrOptions {
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
    fsSize: opts.fsSize ?? 16 * 1024 * 1024,
    shellCmdBuffSize: opts.shellCmdBuffSize ?? 256,
    shellOutputBufSize: opts.shellOutputBufSize ?? 300,
    shellLegacyRc: opts.shellLegacyRc ?? false,
    enumDetailsMaxEntries: opts.enumDetailsMaxEntries ?? 16,
    storageFault: opts.storageFault ?? 'none',
    now: opts.now ?? Date.now,
    requestMs: opts.requestMs ?? 0,
  };
  if (!Number.isInteger(o.netbufSize) || o.netbufSize < 64 || o.netbufSize > 65535) {
    throw new RangeError(`netbufSize must be an integer 64..65535, got ${o.netbufSize}`);
  }
  return o;
}
