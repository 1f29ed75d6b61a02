/**
 * Stat (2), settings (3), shell (9), enumeration (10) and Zephyr basic (63)
 * groups of the Zephyr personality (PROTOCOL.md §3.3, §3.4, §3.6–§3.8; the fs group is `zephyr-fs.ts`).
 * @module
 */
import { BAD, bstr, decodeBulk, firstMap, tstr, u32, type CItem } from './cbor-reader.js';
import { OMap, TStr, omap } from './cbor-writer.js';
import { BasicErr, EnumErr, Group, MgmtErr, SettingsErr, ShellErr, StatErr, translators } from './codes.js';
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
