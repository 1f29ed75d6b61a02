/**
 * Protocol constants the simulated device needs (PROTOCOL.md §2, §3): group ids, `MGMT_ERR_*`
 * codes, the groups' own error codes, and the v2 → v1 translation functions of §2.4, including
 * their quirks.
 * @module
 */

// Group ids are protocol constants shared with the client (src/protocol/ids.ts); only request
// logic is kept apart.
import { Group } from '../../protocol/ids.js';
export { Group };

/** `enum mcumgr_err_t`. */
export const MgmtErr = {
  EOK: 0,
  EUNKNOWN: 1,
  ENOMEM: 2,
  EINVAL: 3,
  ETIMEOUT: 4,
  ENOENT: 5,
  EBADSTATE: 6,
  EMSGSIZE: 7,
  ENOTSUP: 8,
  ECORRUPT: 9,
  EBUSY: 10,
  EACCESSDENIED: 11,
  UNSUPPORTED_TOO_OLD: 12,
  UNSUPPORTED_TOO_NEW: 13,
} as const;

/** `os_mgmt_err_code_t`. */
export const OsErr = {
  UNKNOWN: 1,
  INVALID_FORMAT: 2,
  QUERY_YIELDS_NO_ANSWER: 3,
  RTC_NOT_SET: 4,
  RTC_COMMAND_FAILED: 5,
  QUERY_RESPONSE_VALUE_NOT_VALID: 6,
  HEAP_STATS_FETCH_FAILED: 7,
} as const;

/** `img_mgmt_err_code_t`. */
export const ImgErr = {
  UNKNOWN: 1,
  FLASH_CONFIG_QUERY_FAIL: 2,
  NO_IMAGE: 3,
  NO_TLVS: 4,
  INVALID_TLV: 5,
  TLV_MULTIPLE_HASHES_FOUND: 6,
  TLV_INVALID_SIZE: 7,
  HASH_NOT_FOUND: 8,
  NO_FREE_SLOT: 9,
  FLASH_OPEN_FAILED: 10,
  FLASH_READ_FAILED: 11,
  FLASH_WRITE_FAILED: 12,
  FLASH_ERASE_FAILED: 13,
  INVALID_SLOT: 14,
  NO_FREE_MEMORY: 15,
  FLASH_CONTEXT_ALREADY_SET: 16,
  FLASH_CONTEXT_NOT_SET: 17,
  FLASH_AREA_DEVICE_NULL: 18,
  INVALID_PAGE_OFFSET: 19,
  INVALID_OFFSET: 20,
  INVALID_LENGTH: 21,
  INVALID_IMAGE_HEADER: 22,
  INVALID_IMAGE_HEADER_MAGIC: 23,
  INVALID_HASH: 24,
  INVALID_FLASH_ADDRESS: 25,
  VERSION_GET_FAILED: 26,
  CURRENT_VERSION_IS_NEWER: 27,
  IMAGE_ALREADY_PENDING: 28,
  INVALID_IMAGE_VECTOR_TABLE: 29,
  INVALID_IMAGE_TOO_LARGE: 30,
  INVALID_IMAGE_DATA_OVERRUN: 31,
  IMAGE_CONFIRMATION_DENIED: 32,
  IMAGE_SETTING_TEST_TO_ACTIVE_DENIED: 33,
  ACTIVE_SLOT_NOT_KNOWN: 34,
} as const;

/** `stat_mgmt_err_code_t`. */
export const StatErr = { UNKNOWN: 1, INVALID_GROUP: 2, INVALID_STAT_NAME: 3, INVALID_STAT_SIZE: 4, WALK_ABORTED: 5 } as const;

/** `settings_mgmt_ret_code_t`. */
export const SettingsErr = {
  UNKNOWN: 1,
  KEY_TOO_LONG: 2,
  KEY_NOT_FOUND: 3,
  READ_NOT_SUPPORTED: 4,
  ROOT_KEY_NOT_FOUND: 5,
  WRITE_NOT_SUPPORTED: 6,
  DELETE_NOT_SUPPORTED: 7,
} as const;

/** `fs_mgmt_err_code_t`. */
export const FsErr = {
  UNKNOWN: 1,
  FILE_INVALID_NAME: 2,
  FILE_NOT_FOUND: 3,
  FILE_IS_DIRECTORY: 4,
  FILE_OPEN_FAILED: 5,
  FILE_SEEK_FAILED: 6,
  FILE_READ_FAILED: 7,
  FILE_TRUNCATE_FAILED: 8,
  FILE_DELETE_FAILED: 9,
  FILE_WRITE_FAILED: 10,
  FILE_OFFSET_NOT_VALID: 11,
  FILE_OFFSET_LARGER_THAN_FILE: 12,
  CHECKSUM_HASH_NOT_FOUND: 13,
  MOUNT_POINT_NOT_FOUND: 14,
  READ_ONLY_FILESYSTEM: 15,
  FILE_EMPTY: 16,
  FILE_CLOSE_FAILED: 17,
} as const;

/** `shell_mgmt_err_code_t`. */
export const ShellErr = { UNKNOWN: 1, COMMAND_TOO_LONG: 2, EMPTY_COMMAND: 3 } as const;

/** `enum_mgmt_err_code_t`. */
export const EnumErr = { UNKNOWN: 1, TOO_MANY_GROUP_ENTRIES: 2, INSUFFICIENT_HEAP_FOR_ENTRIES: 3, INDEX_TOO_LARGE: 4 } as const;

/** `zephyr_basic_group_err_code_t`. */
export const BasicErr = { UNKNOWN: 1, FLASH_OPEN_FAILED: 2, FLASH_CONFIG_QUERY_FAIL: 3, FLASH_ERASE_FAILED: 4 } as const;

/** A group's v2 → v1 error translation (`mg_translate_error`). */
export type Translator = (err: number) => number;

const { EINVAL, ENOENT, EUNKNOWN, EBADSTATE, ENOMEM, EOK } = MgmtErr;

/** The translation functions of PROTOCOL.md §2.4, by group id. Groups without one → EUNKNOWN. */
export const translators: Record<number, Translator> = {
  [Group.OS]: (e) => (e === OsErr.INVALID_FORMAT ? EINVAL : e === OsErr.QUERY_YIELDS_NO_ANSWER || e === OsErr.RTC_NOT_SET ? ENOENT : EUNKNOWN),
  [Group.IMAGE]: (e) => {
    switch (e) {
      case ImgErr.NO_IMAGE:
      case ImgErr.NO_TLVS:
        return ENOENT;
      case ImgErr.NO_FREE_SLOT:
      case ImgErr.CURRENT_VERSION_IS_NEWER:
      case ImgErr.IMAGE_ALREADY_PENDING:
        return EBADSTATE;
      case ImgErr.NO_FREE_MEMORY:
        return ENOMEM;
      case ImgErr.INVALID_SLOT:
      case ImgErr.INVALID_PAGE_OFFSET:
      case ImgErr.INVALID_OFFSET:
      case ImgErr.INVALID_LENGTH:
      case ImgErr.INVALID_IMAGE_HEADER:
      case ImgErr.INVALID_HASH:
      case ImgErr.INVALID_FLASH_ADDRESS:
        return EINVAL;
      default:
        return EUNKNOWN;
    }
  },
  [Group.STAT]: (e) =>
    e === StatErr.INVALID_GROUP || e === StatErr.INVALID_STAT_NAME ? ENOENT : e === StatErr.INVALID_STAT_SIZE ? EINVAL : EUNKNOWN,
  [Group.SETTINGS]: (e) =>
    e === SettingsErr.KEY_TOO_LONG ? EINVAL : e === SettingsErr.KEY_NOT_FOUND || e === SettingsErr.READ_NOT_SUPPORTED ? ENOENT : EUNKNOWN,
  [Group.FS]: (e) =>
    e === FsErr.FILE_INVALID_NAME || e === FsErr.CHECKSUM_HASH_NOT_FOUND
      ? EINVAL
      : e === FsErr.FILE_NOT_FOUND || e === FsErr.MOUNT_POINT_NOT_FOUND
        ? ENOENT
        : EUNKNOWN,
  [Group.SHELL]: (e) => (e === ShellErr.COMMAND_TOO_LONG || e === ShellErr.EMPTY_COMMAND ? EINVAL : EUNKNOWN),
  [Group.ENUM]: (e) => (e === EnumErr.TOO_MANY_GROUP_ENTRIES ? EINVAL : EUNKNOWN),
  // Source quirk: two failures translate to EOK (PROTOCOL.md §2.4).
  [Group.ZEPHYR_BASIC]: (e) =>
    e === BasicErr.FLASH_OPEN_FAILED ? ENOENT : e === BasicErr.FLASH_CONFIG_QUERY_FAIL || e === BasicErr.FLASH_ERASE_FAILED ? EOK : EUNKNOWN,
};
