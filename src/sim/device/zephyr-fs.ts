/**
 * The file system group (8) of the Zephyr personality (PROTOCOL.md §3.5): download, upload,
 * status, hash/checksum and the supported-hash list, over the in-memory file system.
 * @module
 */
import { createHash } from 'node:crypto';
import { bstr, decodeBulk, tstr, u64 } from './cbor-reader.js';
import { OMap, omap } from './cbor-writer.js';
import { FsErr, Group, MgmtErr, translators } from './codes.js';
import { addErr, type GroupDef, type SmpCtx } from './smp.js';
import type { ZephyrDevice } from './zephyr.js';

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

/** Bytes the files take on the simulated file system. */
function vfsUsed(dev: ZephyrDevice): number {
  let n = 0;
  for (const f of dev.vfs.files.values()) n += f.length;
  return n;
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
    const grows = Math.max(file.length, fc.pos + data.length) - file.length;
    if (grows > 0 && vfsUsed(dev) - (vfs.files.get(path)?.length ?? 0) + file.length + grows > dev.options.fsSize) {
      // fs_write fails (LittleFS: -ENOSPC): fs_mgmt answers FILE_WRITE_FAILED and closes the
      // file; what was written before stays (fs_mgmt.c, fs_mgmt_file_upload).
      addErr(ctx, Group.FS, FsErr.FILE_WRITE_FAILED);
      if (file.length !== (vfs.files.get(path)?.length ?? 0)) vfs.files.set(path, file);
      dev.fsCleanup();
      return 0;
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
