/**
 * **mcumgr-toolkit** — an MCUmgr (SMP) client for Node: every command of Zephyr's management
 * groups behind typed promises, pipelined image and file transfers, serial (console, raw, COBS)
 * and UDP transports, MCUboot image helpers.
 *
 * @example
 * ```ts
 * import { MCUmgrClient } from 'mcumgr-toolkit';
 *
 * await using client = await MCUmgrClient.connect('serial:/dev/ttyACM0?baud=115200');
 * await client.useAutoFrameSize();
 * console.log(await client.os.echo('Hello world!'));
 * for (const s of await client.image.state()) console.log(s.slot, s.version, s.active ? 'active' : '');
 * await client.firmwareUpdate('build/zephyr/zephyr.signed.bin');
 * ```
 *
 * The simulated device lives in its own entry point, `mcumgr-toolkit/sim`.
 * @module
 */

/* The client ------------------------------------------------------------------------------- */

export { MCUmgrClient } from './client.js';
export {
  DEFAULT_FRAME_SIZE,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_LONG_TIMEOUT_MS,
  MIN_FRAME_SIZE,
  MAX_FRAME_SIZE,
  type ClientOptions,
  type SerialClientOptions,
  type UdpClientOptions,
  type ClientTimeouts,
  type AutoFrameSize,
  type RawRequestOptions,
  type BleClientOptions,
} from './client/options.js';
export { ClientImageGroup, ClientFsGroup } from './client/transfers.js';

export {
  parseConnection,
  formatConnection,
  type Connection,
  type SerialConnection,
  type UsbConnection,
  type UdpConnection,
  type BleConnection,
  type ConnectionClientOptions,
} from './connection.js';

/* Groups: namespaces and their typed results ----------------------------------------------- */

export type { CallOptions, TimeoutClass } from './groups/util.js';
export {
  OsGroup,
  BOOTLOADER_MODES,
  formatDateTime,
  type TaskStat,
  type MemoryPoolStat,
  type DeviceDateTime,
  type ResetOptions,
  type McumgrParams,
  type BootloaderName,
  type BootloaderMode,
} from './groups/os.js';
export { ImageGroup, type ImageSlotState, type ImageSlotInfo, type SlotInfoEntry } from './groups/image.js';
export { StatGroup, type StatGroupData } from './groups/stat.js';
export { SettingsGroup } from './groups/settings.js';
export { FsGroup, type FsHashOptions, type FsHashResult, type FsHashType } from './groups/fs.js';
export { ShellGroup, type ShellResult } from './groups/shell.js';
export { EnumGroup, type EnumSingle, type EnumGroupDetails } from './groups/enum.js';
export { BasicGroup } from './groups/basic.js';

/* Errors ----------------------------------------------------------------------------------- */

export {
  McuMgrError,
  SmpTimeoutError,
  SmpDeviceError,
  SmpFrameError,
  SmpResponseError,
  SmpClosedError,
  TransportError,
  SmpFrameSizeError,
  ImageFormatError,
  VerifyError,
  ImageStateError,
  AbortError,
  serializeError,
  deserializeError,
  type SerializedError,
} from './errors.js';
export { MGMT_ERR, GROUP_ERR, mgmtErrName, groupErrName } from './protocol/error-names.js';

/* Protocol constants and the session -------------------------------------------------------- */

export { Group, OsCmd, ImageCmd, StatCmd, SettingsCmd, FsCmd, ShellCmd, EnumCmd, BasicCmd, GROUP_NAMES } from './protocol/ids.js';
export { Op, SMP_HEADER_SIZE, type SmpHeader, type OpCode } from './codec/header.js';
export type { CborMap } from './codec/cbor.js';
export {
  SmpSession,
  MAX_IN_FLIGHT,
  throwIfDeviceError,
  type SmpVersion,
  type SessionOptions,
  type RequestOptions,
  type SmpResponse,
  type SessionStats,
  type ResponseSink,
  type PreparedRequest,
} from './session.js';

/* Codec backend ------------------------------------------------------------------------------ */

/**
 * Which codec implementation is in use: `'native'` (the C++ addon) or `'ts'` (the TypeScript
 * twins; set `MCUMGR_NATIVE=0` to force them).
 */
export { codecBackend } from './codec/index.js';
/** Why the native addon did not load, when it did not (`undefined` when it loaded or was disabled). */
export { nativeLoadError } from './addon.js';

/* Transports ------------------------------------------------------------------------------- */

export type { Transport, TransportEvents } from './transport/transport.js';
export { SERIAL_ENCODINGS, type SerialEncoding } from './transport/framing.js';
export {
  openUdpTransport,
  UdpTransport,
  DEFAULT_UDP_PORT,
  DEFAULT_DEVICE_UDP_MTU,
  DEFAULT_LINK_MTU,
  type UdpTransportOptions,
  type UdpTransportStats,
  type UdpAcceptFrom,
} from './transport/udp.js';
export {
  openSerialTransport,
  serialBackend,
  type SerialBackend,
  type OpenSerialOptions,
  SerialTransport,
  type SerialTransportOptions,
} from './transport/serial.js';
export type { ResolvedSerialOptions } from './transport/serial-options.js';
/** A byte link under {@link SerialTransport}: bring your own (a USB stack, a TCP bridge) with `SerialTransport.open`. */
export type { ByteLink, ByteLinkSink, ByteLinkTarget, OpenByteLink } from './transport/byte-link.js';
export {
  listSerialPorts,
  findUsbPort,
  parseUsbSelector,
  formatUsbSelector,
  type SerialPortInfo,
  type ListPortsOptions,
  type UsbSelector,
} from './transport/list-ports.js';
export { createMemoryPair, type MemoryPairOptions } from './transport/memory.js';

/* Transfers ---------------------------------------------------------------------------------- */

export {
  uploadImage,
  uploadFile,
  downloadFile,
  type TransferContext,
  type UploadSource,
  type TransferProgress,
  type TransferOptions,
  type TransferResult,
  type ImageUploadOptions,
  type ImageUploadResult,
  // uploadFile's own option and result interfaces (FsGroup's FileUploadOptions/Result are derived from these)
  type FileUploadOptions as UploadFileOptions,
  type FileUploadResult as UploadFileResult,
  type DownloadOptions,
  type DownloadResult,
  type FileUploadOptions,
  type FileUploadResult,
  type FileDownloadOptions,
  type FileDownloadResult,
  type FsVerification,
} from './transfer/index.js';

/* Workflows ---------------------------------------------------------------------------------- */

export {
  firmwareUpdate,
  type FirmwareUpdateOptions,
  type FirmwareUpdateResult,
  type FirmwareUpdateTarget,
  type SlotStateLike,
  type UpdateStep,
  trackTransfer,
  type TransferEvent,
  type TransferEventStream,
  type TransferHooks,
  checkImageFits,
  slotLimit,
  type SlotFit,
  type SlotInfoSource,
} from './workflows/index.js';

/* MCUboot images ----------------------------------------------------------------------------- */

export * from './image/index.js';

/* Bulk imaging ------------------------------------------------------------------------------- */

export {
  bulkFlash,
  type BulkCommand,
  type BulkDeviceOptions,
  type BulkDeviceResult,
  type BulkJob,
  type BulkOptions,
  type BulkProgressEvent,
  type BulkProgressFigures,
  type BulkReport,
  type BulkStep,
  type BulkTarget,
} from './bulk/index.js';

/* Error codes and diagnostics_channel events ------------------------------------------------- */

export { MCUMGR_ERROR_CODES, errorBrand, type McumgrErrorCode } from './errors.js';
export {
  REQUEST_CHANNELS,
  type RequestEvent,
  type RequestStartEvent,
  type RequestAnswerEvent,
  type RequestTimeoutEvent,
  type RequestErrorEvent,
} from './session-diagnostics.js';
export { TRANSFER_CHANNELS, type TransferProgressEvent } from './transfer/diagnostics.js';

/* Station page ------------------------------------------------------------------------------- */

export * from './page/index.js';
export { bulkReportJson, bulkReportCsv, bulkReportJunit } from './bulk/index.js';

/* Bluetooth LE (SMP over GATT; noble is an optional peer dependency, loaded only when used) ---- */

export * from './transport/ble/index.js';
