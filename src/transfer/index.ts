/**
 * Pipelined transfers: image upload, file upload and download. They call the groups' request
 * builders through the session; the groups never call them (the client wires them to
 * `client.image.upload`, `client.fs.upload` and `client.fs.download`).
 * @module
 */
export * from './types.js';
export { uploadImage, type ImageUploadOptions, type ImageUploadResult } from './image-upload.js';
export { uploadFile, type FileUploadOptions, type FileUploadResult } from './file-upload.js';
export { verifyDeviceFile, type FsVerification } from './fs-verify.js';
export {
  downloadFile,
  type DownloadOptions,
  type DownloadResult,
  type FileDownloadOptions,
  type FileDownloadResult,
} from './file-download.js';
export { fitChunk } from './chunking.js';
