/**
 * MCUboot image files (PROTOCOL.md §7): parse and validate them ({@link parseImage},
 * {@link readImageInfo}), compute the upload `sha` ({@link computeUploadSha}), build valid test
 * images ({@link buildImage}) and handle versions ({@link parseVersion}, {@link formatVersion},
 * {@link compareVersions}).
 *
 * Two digests matter to a client and are easy to confuse:
 * - the image **hash** ({@link ImageInfo.hash}) is the value of the hash TLV; the device lists
 *   it and the image-state command takes it;
 * - the upload **sha** ({@link ImageInfo.uploadSha}, {@link computeUploadSha}) is the SHA-256 of
 *   the whole file and goes with the first upload chunk.
 *
 * @example
 * ```ts
 * import { readImageInfo } from 'mcumgr-toolkit';
 * const info = await readImageInfo('zephyr.signed.bin');
 * info.versionString;          // '1.2.3'
 * info.hash.toString('hex');   // what `image list` will show once it is uploaded
 * info.uploadSha;              // what the upload sends as `sha`
 * ```
 * @module
 */
export {
  IMAGE_MAGIC,
  IMAGE_MAGIC_V1,
  IMAGE_MAGIC_ERASED,
  IMAGE_HEADER_SIZE,
  ImageFlag,
  decodeImageFlags,
  type ImageHeader,
  type ImageFlags,
} from './header.js';
export {
  TLV_INFO_MAGIC,
  TLV_INFO_MAGIC_PROTECTED,
  TlvType,
  HASH_TLVS,
  tlvTypeName,
  type ImageHashType,
  type ImageTlv,
  type TlvInput,
} from './tlv.js';
export {
  parseVersion,
  formatVersion,
  compareVersions,
  type ImageVersion,
  type CompareVersionsOptions,
} from './version.js';
export {
  parseImage,
  readImageInfo,
  MAX_IMAGE_FILE_SIZE,
  type ImageInfo,
  type ParseImageOptions,
} from './parse.js';
export { computeUploadSha, type UploadShaSource, type ComputeUploadShaOptions } from './sha.js';
export { buildImage, deterministicBytes, type BuildImageOptions } from './build.js';
export { readImageFile } from './read-file.js';
