/**
 * Pipelined transfers: image upload, file upload and download, and the one-call firmware update.
 * @module
 */
export * from './types.js';
export { uploadImage, type ImageUploadOptions, type ImageUploadResult } from './image-upload.js';
export { uploadFile, type FileUploadOptions, type FileUploadResult } from './file-upload.js';
export { verifyDeviceFile, type FsVerification } from './fs-verify.js';
export { downloadFile, type DownloadOptions, type DownloadResult } from './file-download.js';
export { fitChunk } from './chunking.js';
export { trackTransfer, type TransferEvent, type TransferEventStream, type TransferHooks } from './events.js';
export {
  firmwareUpdate,
  type FirmwareUpdateOptions,
  type FirmwareUpdateResult,
  type FirmwareUpdateTarget,
  type SlotStateLike,
  type UpdateStep,
} from './firmware-update.js';
