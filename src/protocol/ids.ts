/**
 * Group and command ids (PROTOCOL.md §3). Shared by the client and the simulated device: these
 * are constants of the protocol, not request logic.
 * @module
 */

/** Management group ids (`enum mcumgr_group_t`, plus Zephyr basic). */
export const Group = {
  OS: 0,
  IMAGE: 1,
  STAT: 2,
  SETTINGS: 3,
  LOG: 4,
  CRASH: 5,
  SPLIT: 6,
  RUN: 7,
  FS: 8,
  SHELL: 9,
  ENUM: 10,
  TRANSPORT: 11,
  ZEPHYR_BASIC: 63,
  PERUSER: 64,
} as const;

/** OS group command ids. */
export const OsCmd = {
  ECHO: 0,
  CONSOLE_ECHO: 1,
  TASKSTAT: 2,
  MPSTAT: 3,
  DATETIME: 4,
  RESET: 5,
  MCUMGR_PARAMS: 6,
  INFO: 7,
  BOOTLOADER_INFO: 8,
} as const;

/** Image group command ids. */
export const ImageCmd = { STATE: 0, UPLOAD: 1, FILE: 2, CORELIST: 3, CORELOAD: 4, ERASE: 5, SLOT_INFO: 6 } as const;
/** Stat group command ids. */
export const StatCmd = { SHOW: 0, LIST: 1 } as const;
/** Settings group command ids. */
export const SettingsCmd = { VALUE: 0, DELETE: 1, COMMIT: 2, LOAD_SAVE: 3 } as const;
/** FS group command ids. */
export const FsCmd = { FILE: 0, STATUS: 1, HASH_CHECKSUM: 2, SUPPORTED_HASHES: 3, CLOSE: 4 } as const;
/** Shell group command ids. */
export const ShellCmd = { EXEC: 0 } as const;
/** Enum group command ids. */
export const EnumCmd = { COUNT: 0, LIST: 1, SINGLE: 2, DETAILS: 3 } as const;
/** Zephyr basic group command ids. */
export const BasicCmd = { ERASE_STORAGE: 0 } as const;

/** Human names of the groups, for messages. */
export const GROUP_NAMES: Record<number, string> = {
  0: 'os',
  1: 'image',
  2: 'stat',
  3: 'settings',
  4: 'log',
  5: 'crash',
  6: 'split',
  7: 'run',
  8: 'fs',
  9: 'shell',
  10: 'enum',
  11: 'transport',
  63: 'zephyr basic',
};
