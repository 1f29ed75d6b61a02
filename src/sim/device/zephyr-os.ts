/**
 * OS management group (0) of the Zephyr personality (PROTOCOL.md §3.1).
 * @module
 */
import { bool, decodeBulk, tstr, u32 } from './cbor-reader.js';
import { OMap, TStr, omap } from './cbor-writer.js';
import { Group, MgmtErr, OsErr, translators } from './codes.js';
import { addErr, type CommandDef, type GroupDef, type SmpCtx } from './smp.js';
import type { ZephyrDevice } from './zephyr.js';

/** A thread as `os taskstat` reports it. */
export interface SimThread {
  name: string;
  /** Priority (signed by default, PROTOCOL.md §3.1). */
  prio: number;
  /** `thread->base.thread_state` bits. */
  state: number;
  /** Stack size in bytes (reported in 4-byte words). */
  stackSize: number;
  /** Stack bytes used (reported in 4-byte words). */
  stackUsed: number;
  /** Execution cycles (only sent when `taskstatRuntime` is enabled). */
  runtime?: number;
}

/** A memory pool as `os mpstat` reports it. */
export interface SimMemPool {
  name: string;
  blksiz: number;
  nblks: number;
  nfree: number;
  min: number;
}

/** Threads of a typical `smp_svr` build. */
export const DEFAULT_THREADS: SimThread[] = [
  { name: 'mcumgr smp', prio: 14, state: 0, stackSize: 2048, stackUsed: 1240 },
  { name: 'sysworkq', prio: -1, state: 2, stackSize: 1024, stackUsed: 356 },
  { name: 'logging', prio: 14, state: 2, stackSize: 768, stackUsed: 244 },
  { name: 'idle', prio: 15, state: 128, stackSize: 320, stackUsed: 64 },
  { name: 'main', prio: 0, state: 2, stackSize: 2048, stackUsed: 612 },
];

/** Memory pools reported by `os mpstat` by default. */
export const DEFAULT_MEM_POOLS: SimMemPool[] = [{ name: 'heap', blksiz: 8, nblks: 512, nfree: 488, min: 470 }];

const DT_MIN = 19;
const DT_MAX = 26; // lengths ≥ this are refused (RTC_DATETIME_MAX_STRING_SIZE)

/** Builds the OS group for `dev`. */
export function osGroup(dev: ZephyrDevice): GroupDef {
  const o = dev.options;
  const handlers: Array<CommandDef | undefined> = [];
  if (o.features.echo) handlers[0] = { read: (c) => echo(c), write: (c) => echo(c) };
  if (o.features.taskstat) handlers[2] = { read: (c) => taskstat(dev, c) };
  if (o.features.mpstat) handlers[3] = { read: (c) => mpstat(dev, c) };
  if (o.features.datetime && o.rtc) handlers[4] = { read: (c) => datetimeGet(dev, c), write: (c) => datetimeSet(dev, c) };
  if (o.features.reset) handlers[5] = { write: (c) => reset(dev, c) };
  if (o.mcumgrParams) handlers[6] = { read: (c) => params(dev, c) };
  if (o.features.osInfo) handlers[7] = { read: (c) => info(dev, c) };
  if (o.features.bootloaderInfo) handlers[8] = { read: (c) => bootloaderInfo(dev, c) };
  return { id: Group.OS, handlers, translate: translators[Group.OS] };
}

function echo(ctx: SmpCtx): number {
  const req = decodeBulk(ctx.payload, { d: tstr });
  if (!req) return MgmtErr.EINVAL;
  // Missing "d": the decode still succeeds and the reply carries an empty string.
  ctx.out.set('r', new TStr(req.d ?? Buffer.alloc(0)));
  return 0;
}

/** `MCUMGR_GRP_OS_TASKSTAT_THREAD_NAME_LEN` defaults: `THREAD_MAX_NAME_LEN` (32) with names, else 5. */
const TASKSTAT_NAME_LEN = 32;
const TASKSTAT_NUMBER_LEN = 5;

function taskstat(dev: ZephyrDevice, ctx: SmpCtx): number {
  const o = dev.options;
  // An OMap keeps repeated keys, as zcbor writes them: two threads may share a name or priority.
  const tasks = new OMap();
  dev.threads.forEach((t, idx) => {
    const fields = new OMap();
    // Without SIGNED_PRIORITY the int8 priority goes out as a sign-extended `unsigned int` (-1 is
    // 0xffffffff): the source's `& 0xff` binds to the encoder's bool result, not to the value.
    fields.set('prio', o.taskstatSignedPriority ? t.prio : t.prio >>> 0);
    fields.set('tid', idx);
    fields.set('state', t.state);
    if (o.taskstatStackInfo) {
      fields.set('stksiz', Math.floor(t.stackSize / 4));
      fields.set('stkuse', Math.floor(t.stackUsed / 4));
    }
    if (o.taskstatRuntime) fields.set('runtime', t.runtime ?? 0);
    else if (!o.taskstatOnlySupported) fields.set('runtime', 0);
    if (!o.taskstatOnlySupported) {
      fields.set('cswcnt', 0).set('last_checkin', 0).set('next_checkin', 0);
    }
    tasks.set(taskstatKey(o.taskstatName, t, idx), fields);
  });
  ctx.out.set('tasks', tasks);
  return 0;
}

/** The key os_mgmt gives a thread: its name cut to the name length, or a number as `snprintf` cuts it. */
function taskstatKey(from: 'name' | 'prio' | 'index', t: SimThread, idx: number): string {
  if (from === 'name') return Buffer.from(t.name, 'utf8').subarray(0, TASKSTAT_NAME_LEN).toString('utf8');
  // snprintf into a buffer of NAME_LEN bytes: at most NAME_LEN − 1 characters.
  return String(from === 'prio' ? t.prio : idx).slice(0, TASKSTAT_NUMBER_LEN - 1);
}

function mpstat(dev: ZephyrDevice, ctx: SmpCtx): number {
  const pools = new OMap();
  for (const p of dev.memPools) {
    pools.set(p.name, omap(['blksiz', p.blksiz], ['nblks', p.nblks], ['nfree', p.nfree], ['min', p.min]));
  }
  ctx.out.set('mpools', pools);
  return 0;
}

function datetimeGet(dev: ZephyrDevice, ctx: SmpCtx): number {
  if (dev.rtcFails) {
    addErr(ctx, Group.OS, OsErr.RTC_COMMAND_FAILED);
    return 0;
  }
  const t = dev.rtcNow();
  if (t === undefined) {
    addErr(ctx, Group.OS, OsErr.RTC_NOT_SET);
    return 0;
  }
  const d = new Date(t);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  let s =
    `${String(d.getUTCFullYear()).padStart(4, ' ')}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}` +
    `T${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  if (dev.options.datetimeMs) s += `.${d.getUTCMilliseconds()}`;
  ctx.out.set('datetime', s);
  return 0;
}

/**
 * C `strtol(s, &end, 10)` on a NUL-terminated buffer: skips leading white space, takes an
 * optional sign and decimal digits. Returns the value (clamped to int32 like a 32-bit `long`) and
 * the index after the number, or the start index when no digits were found.
 */
function strtol(s: Buffer, start: number): { value: number; end: number } {
  let i = start;
  while (i < s.length && (s[i] === 0x20 || (s[i]! >= 0x09 && s[i]! <= 0x0d))) i++;
  let neg = false;
  if (i < s.length && (s[i] === 0x2b || s[i] === 0x2d)) {
    neg = s[i] === 0x2d;
    i++;
  }
  const digits = i;
  let v = 0;
  while (i < s.length && s[i]! >= 0x30 && s[i]! <= 0x39) {
    v = v * 10 + (s[i]! - 0x30);
    if (v > 0x80000000) v = 0x80000000;
    i++;
  }
  if (i === digits) return { value: 0, end: start };
  v = neg ? -v : v;
  return { value: Math.max(-0x80000000, Math.min(0x7fffffff, v)), end: i };
}

function datetimeSet(dev: ZephyrDevice, ctx: SmpCtx): number {
  const req = decodeBulk(ctx.payload, { datetime: tstr });
  if (!req) return MgmtErr.EINVAL;
  const str = req.datetime ?? Buffer.alloc(0);
  if (str.length < DT_MIN || str.length >= DT_MAX) return MgmtErr.EINVAL;
  // Parse like os_mgmt_datetime_write: six strtol fields, each followed by one separator byte.
  const s = Buffer.concat([str, Buffer.from([0])]); // the code works on a NUL-terminated copy
  const end = str.length;
  const bounds: Array<[number, number]> = [
    [1900, 11899],
    [1, 12],
    [1, 31],
    [0, 23],
    [0, 59],
    [0, 59],
  ];
  const vals: number[] = [];
  let pos = 0;
  for (const [min, max] of bounds) {
    // Reaching the end early is an error; running past it (after a field that ended the string)
    // would read stack garbage on the device — treated as malformed here.
    if (pos >= end) return MgmtErr.EINVAL;
    const r = strtol(s.subarray(0, end), pos);
    if (r.end === pos) return MgmtErr.EINVAL;
    if (r.value < min || r.value > max) return MgmtErr.EINVAL;
    vals.push(r.value);
    pos = r.end + 1;
  }
  let ms = 0;
  if (dev.options.datetimeMs && pos - 1 < end && s[pos - 1] === 0x2e && pos < end) {
    const r = strtol(s.subarray(0, end), pos);
    if (r.value < 0 || r.value > 999) return MgmtErr.EINVAL;
    ms = r.value;
  }
  if (dev.rtcFails) {
    addErr(ctx, Group.OS, OsErr.RTC_COMMAND_FAILED);
    return 0;
  }
  const [y, mo, d, h, mi, se] = vals as [number, number, number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, se, ms);
  dev.setRtc(date.getTime());
  return 0;
}

function reset(dev: ZephyrDevice, ctx: SmpCtx): number {
  const o = dev.options;
  let force = false;
  let bootMode: number | undefined;
  if (o.resetHook || o.resetBootMode) {
    const spec: Record<string, typeof bool | typeof u32> = {};
    if (o.resetHook) spec.force = bool;
    if (o.resetBootMode) spec.boot_mode = u32;
    // A decode failure is ignored: this is a core command (force stays false).
    const req = decodeBulk(ctx.payload, spec) as { force?: boolean; boot_mode?: number } | undefined;
    if (req) {
      force = req.force ?? false;
      if (req.boot_mode !== undefined) {
        if (req.boot_mode > 0xff) return MgmtErr.EINVAL;
        bootMode = req.boot_mode;
      }
    }
  }
  if (o.resetHook) {
    const r = o.resetHook({ force, bootMode });
    if (typeof r === 'number' && r !== 0) return r;
    if (r && typeof r === 'object') {
      addErr(ctx, r.group, r.rc);
      return 0;
    }
  }
  dev.requestReset({ force, bootMode });
  return 0;
}

function params(dev: ZephyrDevice, ctx: SmpCtx): number {
  ctx.out.set('buf_size', dev.limits.netbufSize).set('buf_count', dev.limits.netbufCount);
  return 0;
}

const INFO_FLAGS = { s: 1, n: 2, r: 4, v: 8, b: 16, m: 32, p: 64, i: 128, o: 256 } as const;

function info(dev: ZephyrDevice, ctx: SmpCtx): number {
  const o = dev.options;
  const req = decodeBulk(ctx.payload, { format: tstr });
  if (!req) return MgmtErr.EINVAL;
  const fmt = req.format ?? Buffer.alloc(0);
  let mask = 0;
  let valid = 0;
  const all = INFO_FLAGS.s | INFO_FLAGS.n | INFO_FLAGS.r | INFO_FLAGS.v | (o.buildDateTime ? INFO_FLAGS.b : 0) | INFO_FLAGS.m | INFO_FLAGS.p | INFO_FLAGS.i | INFO_FLAGS.o;
  for (const byte of fmt) {
    const ch = String.fromCharCode(byte);
    if (ch === 'a') {
      mask = all;
      valid++;
    } else if (ch in INFO_FLAGS && (ch !== 'b' || o.buildDateTime)) {
      mask |= INFO_FLAGS[ch as keyof typeof INFO_FLAGS];
      valid++;
    }
  }
  if (valid !== fmt.length) {
    addErr(ctx, Group.OS, OsErr.INVALID_FORMAT);
    return 0;
  }
  if (mask === 0) mask = INFO_FLAGS.s;
  const parts: string[] = [];
  if (mask & INFO_FLAGS.s) parts.push('Zephyr');
  if (mask & INFO_FLAGS.n) parts.push(o.hostname ?? 'unknown');
  if (mask & INFO_FLAGS.r) parts.push(o.buildVersion ?? 'unknown');
  if (mask & INFO_FLAGS.v) parts.push(o.kernelVersion);
  if (mask & INFO_FLAGS.b) parts.push(o.buildDateTime ?? '');
  if (mask & INFO_FLAGS.m) parts.push(o.arch);
  if (mask & INFO_FLAGS.p) parts.push(o.processor);
  if (mask & INFO_FLAGS.i) parts.push(o.boardRevision ? `${o.board}@${o.boardRevision}` : o.board);
  if (mask & INFO_FLAGS.o) parts.push('Zephyr');
  const output = Buffer.from(parts.join(' '), 'utf8');
  // snprintf into a CONFIG_MCUMGR_GRP_OS_INFO_MAX_RESPONSE_SIZE buffer: the text plus its NUL must fit.
  if (output.length >= o.osInfoMaxResponseSize) return MgmtErr.EMSGSIZE;
  ctx.out.set('output', new TStr(output));
  return 0;
}

function bootloaderInfo(dev: ZephyrDevice, ctx: SmpCtx): number {
  const o = dev.options;
  const req = decodeBulk(ctx.payload, { query: tstr });
  if (!req) return MgmtErr.EINVAL;
  if (req.query === undefined) {
    ctx.out.set('bootloader', 'MCUboot');
    return 0;
  }
  if (req.query.toString('latin1') === 'mode') {
    ctx.out.set('mode', o.bootloaderMode);
    if (o.downgradePrevention) ctx.out.set('no-downgrade', true);
    return 0;
  }
  // Source quirk: an OS group code returned as the handler's MGMT return value → {"rc": 3}.
  return OsErr.QUERY_YIELDS_NO_ANSWER;
}
