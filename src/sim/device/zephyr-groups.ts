/**
 * Stat (2), settings (3), file system (8), shell (9), enumeration (10) and Zephyr basic (63)
 * groups of the Zephyr personality (PROTOCOL.md §3.3–§3.8).
 * @module
 */
import { createHash } from 'node:crypto';
import { BAD, bstr, decodeBulk, firstMap, tstr, u32, u64, type CItem } from './cbor-reader.js';
import { OMap, TStr, omap } from './cbor-writer.js';
import { BasicErr, EnumErr, FsErr, Group, MgmtErr, SettingsErr, ShellErr, StatErr, translators } from './codes.js';
import { addErr, type GroupDef, type SmpCtx } from './smp.js';
import type { ZephyrDevice } from './zephyr.js';

// ---- stat (2) ----------------------------------------------------------------------------------

/** Builds the stat group. */
export function statGroup(dev: ZephyrDevice): GroupDef {
  return {
    id: Group.STAT,
    name: 'stat mgmt',
    handlers: [{ read: (c) => statShow(dev, c) }, { read: (c) => statList(dev, c) }],
    translate: translators[Group.STAT],
  };
}

function statShow(dev: ZephyrDevice, ctx: SmpCtx): number {
  const req = decodeBulk(ctx.payload, { name: tstr });
  if (!req) return MgmtErr.EINVAL;
  const name = req.name ?? Buffer.alloc(0);
  if (name.length === 0 || name.length >= dev.options.statMaxNameLen) return MgmtErr.EINVAL;
  const group = dev.stats.get(name.toString('utf8'));
  if (!group) {
    // Source quirk: stat errors are tagged with the Zephyr-basic group id (63), not 2.
    addErr(ctx, Group.ZEPHYR_BASIC, StatErr.INVALID_STAT_NAME);
    return 0;
  }
  if (dev.options.legacyRc) ctx.out.set('rc', 0);
  const fields = new OMap();
  for (const [k, v] of Object.entries(group)) fields.set(k, (typeof v === 'function' ? v() : v) >>> 0);
  ctx.out.set('name', new TStr(name)).set('fields', fields);
  return 0;
}

function statList(dev: ZephyrDevice, ctx: SmpCtx): number {
  // This handler always sends "rc": 0 (not gated by the legacy-rc option).
  ctx.out.set('rc', 0).set('stat_list', [...dev.stats.keys()]);
  return 0;
}

// ---- settings (3) ------------------------------------------------------------------------------

/** Builds the settings group. */
export function settingsGroup(dev: ZephyrDevice): GroupDef {
  return {
    id: Group.SETTINGS,
    name: 'settings mgmt',
    handlers: [
      { read: (c) => settingsRead(dev, c), write: (c) => settingsWrite(dev, c) },
      { write: (c) => settingsDelete(dev, c) },
      { write: () => 0 }, // commit: the handlers' commit callbacks have nothing to do here
      { read: () => (dev.settingsLoad(), 0), write: () => (dev.settingsSave(), 0) },
    ],
    translate: translators[Group.SETTINGS],
  };
}

/** Checks the key like the handlers do; returns the name, an rc, or undefined after adding an err. */
function settingsKey(dev: ZephyrDevice, ctx: SmpCtx, key: Buffer | undefined): string | number | undefined {
  if (!key || key.length === 0) return MgmtErr.EINVAL;
  if (key.length >= dev.options.settingsNameLen) {
    addErr(ctx, Group.SETTINGS, SettingsErr.KEY_TOO_LONG);
    return undefined;
  }
  return key.toString('utf8');
}

function settingsRead(dev: ZephyrDevice, ctx: SmpCtx): number {
  const req = decodeBulk(ctx.payload, { name: tstr, max_size: u32 });
  if (!req) return MgmtErr.EINVAL;
  const name = settingsKey(dev, ctx, req.name);
  if (typeof name !== 'string') return name ?? 0;
  const valueLen = dev.options.settingsValueLen;
  let max = req.max_size ?? valueLen;
  let limited = false;
  if (max > valueLen) {
    max = valueLen;
    limited = true;
  }
  if (!dev.settingsHasRoot(name)) {
    addErr(ctx, Group.SETTINGS, SettingsErr.ROOT_KEY_NOT_FOUND);
    return 0;
  }
  const val = dev.settings.get(name);
  if (!val) {
    addErr(ctx, Group.SETTINGS, SettingsErr.KEY_NOT_FOUND);
    return 0;
  }
  ctx.out.set('val', val.subarray(0, max));
  if (limited) ctx.out.set('max_size', valueLen);
  return 0;
}

function settingsWrite(dev: ZephyrDevice, ctx: SmpCtx): number {
  const req = decodeBulk(ctx.payload, { name: tstr, val: bstr });
  if (!req) return MgmtErr.EINVAL;
  const name = settingsKey(dev, ctx, req.name);
  if (typeof name !== 'string') return name ?? 0;
  if (!dev.settingsHasRoot(name)) {
    addErr(ctx, Group.SETTINGS, SettingsErr.ROOT_KEY_NOT_FOUND);
    return 0;
  }
  dev.settings.set(name, Buffer.from(req.val ?? Buffer.alloc(0)));
  return 0;
}

function settingsDelete(dev: ZephyrDevice, ctx: SmpCtx): number {
  const req = decodeBulk(ctx.payload, { name: tstr });
  if (!req) return MgmtErr.EINVAL;
  const name = settingsKey(dev, ctx, req.name);
  if (typeof name !== 'string') return name ?? 0;
  // settings_delete() removes the key from persistent storage; the running application keeps its
  // in-RAM value until it reloads settings (e.g. after a reboot).
  dev.settingsStorage.delete(name);
  return 0;
}

// ---- fs (8) ------------------------------------------------------------------------------------

/** The single open-file context of fs_mgmt. */
export interface FsContext {
  state: 'none' | 'upload' | 'download';
  off: number;
  len: number;
  path: string;
  via: string;
  /** File position (for the seek-to-end on upload). */
  pos: number;
  /** Last activity, device clock ms (for the automatic idle close). */
  lastActivity: number;
}

/** A closed fs context. */
export function idleFs(): FsContext {
  return { state: 'none', off: 0, len: 0, path: '', via: '', pos: 0, lastActivity: 0 };
}

type StatResult = { ok: true; size: number } | { ok: false; rc: number };

/** Builds the fs group. */
export function fsGroup(dev: ZephyrDevice): GroupDef {
  const o = dev.options.features;
  const handlers: GroupDef['handlers'] = [];
  handlers[0] = { read: (c) => fsDownload(dev, c), write: (c) => fsUpload(dev, c) };
  if (o.fsStatus) handlers[1] = { read: (c) => fsStatus(dev, c) };
  if (o.fsHashChecksum) {
    handlers[2] = { read: (c) => fsHash(dev, c) };
    if (o.fsSupportedCmd) handlers[3] = { read: (c) => fsSupported(dev, c) };
  }
  handlers[4] = { write: () => (dev.fsCleanup(), 0) };
  return { id: Group.FS, handlers, translate: translators[Group.FS] };
}

/** `fs_mgmt_filelen` on the in-memory file system. */
function fileLen(dev: ZephyrDevice, path: string): StatResult {
  const v = dev.vfs.stat(path);
  if (v === 'einval') return { ok: false, rc: FsErr.FILE_INVALID_NAME };
  if (v === 'enoent') return { ok: false, rc: FsErr.FILE_NOT_FOUND };
  if (v === 'dir') return { ok: false, rc: FsErr.FILE_IS_DIRECTORY };
  return { ok: true, size: v };
}

function fsName(dev: ZephyrDevice, name: Buffer | undefined): string | undefined {
  if (!name || name.length === 0 || name.length > dev.options.fsPathLen) return undefined;
  return name.toString('utf8');
}

function fsDownload(dev: ZephyrDevice, ctx: SmpCtx): number {
  const req = decodeBulk(ctx.payload, { off: u64, name: tstr });
  if (!req || req.off === undefined) return MgmtErr.EINVAL;
  const path = fsName(dev, req.name);
  if (path === undefined) return MgmtErr.EINVAL;
  dev.fsIdleCheck();
  const fc = dev.fs;
  if (ctx.via !== fc.via || fc.state !== 'download' || path !== fc.path) dev.fsCleanup();
  if (fc.state === 'none') {
    const st = fileLen(dev, path);
    if (!st.ok) {
      addErr(ctx, Group.FS, st.rc);
      return 0;
    }
    fc.len = st.size;
    fc.off = 0;
    fc.pos = 0;
    fc.path = path;
    fc.state = 'download';
    fc.via = ctx.via;
  }
  const off = req.off;
  if (off !== fc.off) fc.off = off; // fs_seek: seeking past the end is allowed; reads return nothing
  const file = dev.vfs.files.get(path) ?? Buffer.alloc(0);
  const chunk = file.subarray(Math.min(off, file.length), Math.min(off + dev.downloadChunkSize, file.length));
  dev.busy += dev.flash.readCost(chunk.length);
  fc.off += chunk.length;
  if (dev.options.legacyRc) ctx.out.set('rc', 0);
  ctx.out.set('off', off).set('data', Buffer.from(chunk));
  if (off === 0) ctx.out.set('len', fc.len);
  finishCheck(dev);
  return 0;
}

function finishCheck(dev: ZephyrDevice): void {
  const fc = dev.fs;
  if (fc.len > 0 && fc.off >= fc.len) dev.fsCleanup();
  else fc.lastActivity = dev.now();
}

function fsUpload(dev: ZephyrDevice, ctx: SmpCtx): number {
  const req = decodeBulk(ctx.payload, { off: u64, name: tstr, data: bstr, len: u64 });
  if (!req || req.off === undefined) return MgmtErr.EINVAL;
  const path = fsName(dev, req.name);
  if (path === undefined || (req.off === 0 && req.len === undefined)) return MgmtErr.EINVAL;
  dev.fsIdleCheck();
  const fc = dev.fs;
  const vfs = dev.vfs;
  if (ctx.via !== fc.via || fc.state !== 'upload' || path !== fc.path) dev.fsCleanup();
  if (fc.state === 'none') {
    fc.off = 0;
    const r = vfs.openForWrite(path);
    if (r !== 'ok') {
      const rc =
        r === 'einval' ? FsErr.FILE_INVALID_NAME : r === 'enoent' ? FsErr.MOUNT_POINT_NOT_FOUND : r === 'erofs' ? FsErr.READ_ONLY_FILESYSTEM : FsErr.UNKNOWN;
      addErr(ctx, Group.FS, rc);
      return 0;
    }
    fc.path = path;
    fc.state = 'upload';
    fc.via = ctx.via;
    fc.pos = 0;
  }
  let existing = 0;
  if (req.off === 0) {
    fc.len = req.len!;
    const st = fileLen(dev, path);
    if (!st.ok) {
      addErr(ctx, Group.FS, st.rc);
      dev.fsCleanup();
      return 0;
    }
    existing = st.size;
  } else if (fc.off === 0) {
    const st = fileLen(dev, path);
    if (!st.ok) {
      addErr(ctx, Group.FS, st.rc);
      dev.fsCleanup();
      return 0;
    }
    fc.off = st.size;
  }
  if (req.off > 0 && req.off !== fc.off) {
    addErr(ctx, Group.FS, FsErr.FILE_OFFSET_NOT_VALID);
    ctx.out.set('len', fc.off);
    dev.fsCleanup();
    return 0;
  }
  const data = req.data ?? Buffer.alloc(0);
  if (data.length > 0) {
    let file = vfs.files.get(path) ?? Buffer.alloc(0);
    if (req.off === 0 && existing !== 0) {
      file = Buffer.alloc(0); // truncate to 0 before the first non-empty chunk
      fc.pos = 0;
    } else if (fc.pos !== req.off) {
      fc.pos = file.length; // seek to the end
    }
    const next = Buffer.alloc(Math.max(file.length, fc.pos + data.length));
    file.copy(next);
    next.set(data, fc.pos);
    vfs.files.set(path, next);
    fc.pos += data.length;
    fc.off += data.length;
    dev.busy += dev.flash.writeCost(data.length);
  }
  if (dev.options.legacyRc) ctx.out.set('rc', 0);
  ctx.out.set('off', fc.off);
  finishCheck(dev);
  return 0;
}

function fsStatus(dev: ZephyrDevice, ctx: SmpCtx): number {
  const req = decodeBulk(ctx.payload, { name: tstr });
  if (!req) return MgmtErr.EINVAL;
  const path = fsName(dev, req.name);
  if (path === undefined) return MgmtErr.EINVAL;
  const st = fileLen(dev, path);
  if (!st.ok) {
    addErr(ctx, Group.FS, st.rc);
    return 0;
  }
  if (dev.options.legacyRc) ctx.out.set('rc', 0);
  ctx.out.set('len', st.size);
  return 0;
}

/** Standard IEEE CRC-32 (zlib's). */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) {
    c ^= data[i]!;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const HASHES: Array<{ name: string; byteString: boolean; size: number; fn: (d: Uint8Array) => number | Buffer }> = [
  { name: 'crc32', byteString: false, size: 4, fn: crc32 },
  { name: 'sha256', byteString: true, size: 32, fn: (d) => createHash('sha256').update(d).digest() },
];

function fsHash(dev: ZephyrDevice, ctx: SmpCtx): number {
  const req = decodeBulk(ctx.payload, { type: tstr, name: tstr, off: u64, len: u64 });
  if (!req) return MgmtErr.EINVAL;
  const path = fsName(dev, req.name);
  const type = req.type ?? Buffer.alloc(0);
  if (path === undefined || type.length > 8 || req.len === 0) return MgmtErr.EINVAL;
  const typeName = type.length ? type.toString('utf8') : 'crc32';
  const h = HASHES.find((x) => x.name === typeName);
  if (!h) {
    addErr(ctx, Group.FS, FsErr.CHECKSUM_HASH_NOT_FOUND);
    return 0;
  }
  const st = fileLen(dev, path);
  if (!st.ok) {
    addErr(ctx, Group.FS, st.rc);
    return 0;
  }
  const off = req.off ?? 0;
  if (st.size <= off) {
    addErr(ctx, Group.FS, st.size === 0 ? FsErr.FILE_EMPTY : FsErr.FILE_OFFSET_LARGER_THAN_FILE);
    return 0;
  }
  const file = dev.vfs.files.get(path)!;
  const end = req.len === undefined ? file.length : Math.min(file.length, off + req.len);
  const part = file.subarray(off, end);
  dev.busy += dev.flash.readCost(part.length);
  ctx.out.set('type', typeName);
  if (off !== 0) ctx.out.set('off', off);
  ctx.out.set('len', part.length).set('output', h.fn(part));
  return 0;
}

function fsSupported(_dev: ZephyrDevice, ctx: SmpCtx): number {
  const types = new OMap();
  for (const h of HASHES) types.set(h.name, omap(['format', h.byteString ? 1 : 0], ['size', h.size]));
  ctx.out.set('types', types);
  return 0;
}

// ---- shell (9) ---------------------------------------------------------------------------------

/** What a simulated shell command prints and returns. */
export interface ShellResult {
  out: string;
  ret: number;
}

/** A simulated shell command: gets argv (argv[0] is the command) and the device. */
export type ShellCommand = (argv: string[], dev: ZephyrDevice) => ShellResult;

/** Builds the shell group. */
export function shellGroup(dev: ZephyrDevice): GroupDef {
  return { id: Group.SHELL, handlers: [{ write: (c) => shellExec(dev, c) }], translate: translators[Group.SHELL] };
}

function shellExec(dev: ZephyrDevice, ctx: SmpCtx): number {
  const map = firstMap(ctx.payload);
  if (!map) return MgmtErr.EINVAL;
  // Walk the map by hand like shell_mgmt_exec: skip keys until "argv"; a non-text key fails.
  let argv: CItem | undefined;
  for (const [k, v] of map.entries) {
    if (k.t !== 'tstr' || k.indef) return MgmtErr.EINVAL;
    if (k.v.toString('latin1') === 'argv') {
      argv = v;
      break;
    }
  }
  if (!argv || argv.t !== 'array') return MgmtErr.EINVAL;
  const limit = dev.options.shellCmdBuffSize;
  const words: Buffer[] = [];
  let len = 0;
  for (const item of argv.items) {
    if (item.t !== 'tstr' || item.indef) break; // the first non-string ends the command line
    if (len + item.v.length >= limit) {
      addErr(ctx, Group.SHELL, ShellErr.COMMAND_TOO_LONG);
      return 0;
    }
    words.push(item.v);
    len += item.v.length + 1;
  }
  if (len === 0) {
    addErr(ctx, Group.SHELL, ShellErr.EMPTY_COMMAND);
    return 0;
  }
  const line = Buffer.concat(words.flatMap((w, i) => (i ? [Buffer.from(' '), w] : [w]))).toString('utf8');
  const r = dev.runShell(line);
  // The dummy backend keeps at most CONFIG_SHELL_BACKEND_DUMMY_BUF_SIZE - 1 bytes, with CRLF line ends.
  let out = Buffer.from(r.out.replace(/\r?\n/g, '\r\n'), 'utf8');
  if (out.length > dev.options.shellOutputBufSize - 1) out = out.subarray(0, dev.options.shellOutputBufSize - 1);
  ctx.out.set('o', new TStr(out)).set(dev.options.shellLegacyRc ? 'rc' : 'ret', r.ret);
  return 0;
}

// ---- enum (10) ---------------------------------------------------------------------------------

/** Builds the enumeration group. */
export function enumGroup(dev: ZephyrDevice): GroupDef {
  const handlers: GroupDef['handlers'] = [
    { read: (c) => (c.out.set('count', dev.groups.length), 0) },
    { read: (c) => (c.out.set('groups', dev.groups.map((g) => g.id)), 0) },
    { read: (c) => enumSingle(dev, c) },
  ];
  if (dev.options.features.enumDetails) handlers[3] = { read: (c) => enumDetails(dev, c) };
  return { id: Group.ENUM, name: 'enum mgmt', handlers, translate: translators[Group.ENUM] };
}

function enumSingle(dev: ZephyrDevice, ctx: SmpCtx): number {
  const req = decodeBulk(ctx.payload, { index: u32 });
  if (!req) return MgmtErr.EINVAL;
  const index = req.index ?? 0;
  if (index > 65535) return MgmtErr.EINVAL;
  const g = dev.groups[index];
  if (!g) {
    addErr(ctx, Group.ENUM, EnumErr.INDEX_TOO_LARGE);
    return 0;
  }
  ctx.out.set('group', g.id);
  if (index === dev.groups.length - 1) ctx.out.set('end', true);
  return 0;
}

function enumDetails(dev: ZephyrDevice, ctx: SmpCtx): number {
  // "groups": an array of group ids to filter on; entries are counted first, then decoded as uint.
  const countOnly = (i: CItem) => (i.t === 'array' ? i.items.length : 0);
  const req = decodeBulk(ctx.payload, { groups: (i: CItem) => i });
  if (!req) return MgmtErr.EINVAL;
  let filter: number[] | undefined;
  if (req.groups) {
    const n = countOnly(req.groups);
    if (n > dev.options.enumDetailsMaxEntries) {
      addErr(ctx, Group.ENUM, EnumErr.TOO_MANY_GROUP_ENTRIES);
      return 0;
    }
    if (n > 0) {
      filter = [];
      for (const it of (req.groups as Extract<CItem, { t: 'array' }>).items) {
        const v = u32(it);
        if (v === BAD) return MgmtErr.EINVAL;
        filter.push(v & 0xffff);
      }
    }
  }
  const list: OMap[] = [];
  for (const g of dev.groups) {
    if (filter && !filter.includes(g.id)) continue;
    list.push(omap(['group', g.id], ['name', g.name ?? ''], ['handlers', g.handlers.length]));
  }
  ctx.out.set('groups', list);
  return 0;
}

// ---- zephyr basic (63) -------------------------------------------------------------------------

/** Builds the Zephyr basic group (storage erase). */
export function basicGroup(dev: ZephyrDevice): GroupDef {
  return {
    id: Group.ZEPHYR_BASIC,
    name: 'zephyr basic mgmt',
    handlers: [{ write: (c) => storageErase(dev, c) }],
    translate: translators[Group.ZEPHYR_BASIC],
  };
}

function storageErase(dev: ZephyrDevice, ctx: SmpCtx): number {
  const f = dev.flash;
  const fault = f.storageFault;
  if (fault === 'open') addErr(ctx, Group.ZEPHYR_BASIC, BasicErr.FLASH_OPEN_FAILED);
  else if (fault === 'config') addErr(ctx, Group.ZEPHYR_BASIC, BasicErr.FLASH_CONFIG_QUERY_FAIL);
  else if (fault === 'erase') addErr(ctx, Group.ZEPHYR_BASIC, BasicErr.FLASH_ERASE_FAILED);
  else {
    f.storage.fill(0xff);
    dev.busy += f.eraseCost(Math.ceil(f.storage.length / f.pageSize));
    dev.onStorageErased();
  }
  return 0;
}
