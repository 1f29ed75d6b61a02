/**
 * The simulated device's protocol core (DESIGN.md § The simulated device): pure SMP logic that a
 * link model and PTY/UDP/in-memory servers drive through {@link SimDeviceCore}.
 *
 * - {@link createZephyrDevice}: Zephyr's MCUmgr server — every group of PROTOCOL.md §3 with its
 *   Kconfig knobs, SMP v1/v2 errors with the v1 translation tables, indefinite-length CBOR.
 * - {@link createMcubootDevice}: MCUboot serial recovery (PROTOCOL.md §8).
 * - {@link FlashModel}: the slots both personalities share, with MCUboot trailers and the boot
 *   decision (test → swap → revert unless confirmed; permanent; invalid images refused).
 * - {@link buildImage} / {@link readSlotInfo} / {@link validateImage}: the device's own minimal
 *   MCUboot image handling (independent of the client's image code).
 *
 * @example
 * ```ts
 * import { createZephyrDevice } from './sim/device/index.js';
 * const dev = createZephyrDevice({ netbufSize: 384 });
 * const step = dev.handle(Buffer.from('0800000600000100a16164626869', 'hex'), 'memory');
 * step.responses[0]!.toString('hex'); // '0900000700000100bf6172626869ff'
 * ```
 * @module
 */
export type { DeviceLimits, DeviceStep, SimDeviceCore } from '../types.js';
export {
  ZephyrDevice,
  createZephyrDevice,
  type ZephyrDeviceOptions,
  type ZephyrFeatures,
  type ResolvedZephyrOptions,
  type ResetHookResult,
  type SlotSummary,
  type UploadProgress,
} from './zephyr.js';
export { McubootDevice, createMcubootDevice, type McubootDeviceOptions } from './mcuboot.js';
export { McubootBoard, createMcubootBoard, type McubootBoardOptions } from './board.js';
export {
  FlashModel,
  BOOT_MAGIC,
  TRAILER_SIZE,
  type FlashOptions,
  type BootReport,
  type SwapState,
  type SwapType,
  type MagicState,
  type FlagState,
} from './flash.js';
export {
  buildImage,
  readSlotInfo,
  validateImage,
  parseHeader,
  parseVersion,
  versionString,
  compareVersions,
  sha256,
  IMAGE_MAGIC,
  TLV_SHA256,
  IMAGE_F_NON_BOOTABLE,
  type BuildImageOptions,
  type ImageHeader,
  type ImageVersion,
  type SlotInfo,
  type TlvEntry,
  type ValidatedImage,
} from './image.js';
export { SimFs, type SimFsOptions, type OpenOutcome, type StatOutcome } from './vfs.js';
export { encodeCborValue, omap, OMap, TStr, type CborValue, type CborWriteOptions } from './cbor-writer.js';
export { readItem, decodeBulk, type CItem, type BulkSpec, type BulkResult } from './cbor-reader.js';
export type { ShellCommand, ShellResult } from './zephyr-groups.js';
export { crc32 } from './zephyr-fs.js';
export type { SimThread, SimMemPool } from './zephyr-os.js';
export { Group, MgmtErr, OsErr, ImgErr, StatErr, SettingsErr, FsErr, ShellErr, EnumErr, BasicErr, translators, type Translator } from './codes.js';
export type { GroupDef } from './smp.js';
