/**
 * OS management group (group 0, PROTOCOL.md §3.1): echo, console echo, task and memory pool
 * statistics, date-time, reset, MCUmgr parameters, application info, bootloader info.
 * @module
 */
import { Op } from '../codec/header.js';
import type { CborMap } from '../codec/cbor.js';
import { cborMapEntries, type CborEntry } from '../codec/cbor-entries.js';
import { Group, OsCmd } from '../protocol/ids.js';
import { SmpResponseError } from '../errors.js';
import {
  argBool,
  argCall,
  argOptions,
  argString,
  argUint,
  describe,
  need,
  needMap,
  opt,
  type CallOptions,
  type GroupHost,
} from './util.js';

/**
 * One thread in {@link OsGroup.taskStats}. `name` is not unique: Zephyr keys threads by name
 * (`CONFIG_THREAD_NAME`), else by priority (the Kconfig default then) or by index, and every
 * thread is kept, in the device's order.
 */
export interface TaskStat {
  /**
   * The device's key for the thread: its name (cut to `MCUMGR_GRP_OS_TASKSTAT_THREAD_NAME_LEN`),
   * or its priority or index as decimal text when the device has no thread names.
   */
  name: string;
  /**
   * Priority. Zephyr sends it signed by default; with `..._TASKSTAT_SIGNED_PRIORITY=n` it sends the
   * sign-extended 32-bit value (-1 arrives as 4294967295), which is turned back into -1 here.
   */
  prio: number;
  /** Thread id (Zephyr: the iteration index). */
  tid: number;
  /** Thread state bits. */
  state: number;
  /** Stack size in 4-byte words, when the device reports stack info. */
  stackSize?: number;
  /** Stack used in 4-byte words, when reported. */
  stackUse?: number;
  /** Execution cycles, when reported. */
  runtime?: number;
  /** Context switches (Zephyr sends 0 when it sends it at all). */
  contextSwitches?: number;
  /** Last check-in (Zephyr: 0). */
  lastCheckin?: number;
  /** Next check-in (Zephyr: 0). */
  nextCheckin?: number;
}

/** One memory pool / heap in {@link OsGroup.memoryPoolStats}. */
export interface MemoryPoolStat {
  /** The pool's name as the device sent it (kept even when two pools share it). */
  name: string;
  /** Block size, when the device reports it. */
  blockSize?: number;
  /** Number of blocks. */
  blocks: number;
  /** Free blocks now. */
  free: number;
  /** Lowest number of free blocks seen. */
  minFree: number;
}

/** The answer of {@link OsGroup.dateTime}. */
export interface DeviceDateTime {
  /**
   * The text the device sent. Zephyr: `YYYY-MM-DDTHH:MM:SS`, plus `.<ms>` with
   * `MCUMGR_GRP_OS_DATETIME_MS` where `<ms>` is a plain number of milliseconds (`.5` is 5 ms);
   * never a time zone.
   */
  text: string;
  /**
   * The same instant: the fields read as UTC (Zephyr's clock keeps no time zone), or with the
   * offset the text carries (`Z`, `+02:00`) when a device sends one.
   */
  date: Date;
}

/** Options of {@link OsGroup.reset}. */
export interface ResetOptions extends CallOptions {
  /** Ask the device to reset even if an application hook would refuse (devices with the reset hook). */
  force?: boolean;
  /** Boot mode to request (Zephyr retention boot mode, e.g. 1 = stay in the bootloader). */
  bootMode?: number;
}

/** The answer of {@link OsGroup.mcumgrParams}. */
export interface McumgrParams {
  /** `MCUMGR_TRANSPORT_NETBUF_SIZE`: the largest SMP message the device buffers. */
  bufSize: number;
  /** `MCUMGR_TRANSPORT_NETBUF_COUNT`: how many such buffers it has. */
  bufCount: number;
}

/** MCUboot modes (`enum mcuboot_mode`) by value. */
export const BOOTLOADER_MODES: Readonly<Record<number, string>> = {
  [-1]: 'unknown',
  0: 'single-slot',
  1: 'swap-using-scratch',
  2: 'overwrite-only',
  3: 'swap-using-move',
  4: 'direct-xip',
  5: 'direct-xip-with-revert',
  6: 'ram-load',
  7: 'firmware-loader',
  8: 'single-slot-ram-load',
  9: 'swap-using-offset',
};

/** The answer of `bootloaderInfo()` without a query. */
export interface BootloaderName {
  /** The bootloader's name, e.g. `MCUboot`. */
  bootloader: string;
}

/** The answer of `bootloaderInfo('mode')`. */
export interface BootloaderMode {
  /** MCUboot mode number (see {@link BOOTLOADER_MODES}). */
  mode: number;
  /** The mode's name, or `mode <n>` when unknown. */
  modeName: string;
  /** Whether downgrade prevention is configured. */
  noDowngrade: boolean;
}

const W = 'os';

/** The OS group's commands; reach it as `client.os`. */
export class OsGroup {
  readonly #host: GroupHost;

  /** @internal */
  constructor(host: GroupHost) {
    this.#host = host;
  }

  /**
   * Sends a string and resolves with the device's echo of it.
   * @example
   * ```ts
   * await client.os.echo('hello'); // 'hello'
   * ```
   */
  async echo(text: string, options?: CallOptions): Promise<string> {
    argString('text', text, { hint: 'pass the text to echo' });
    const call = argCall(options);
    const { body } = await this.#host.request(Op.READ, Group.OS, OsCmd.ECHO, { d: text }, call);
    return need(body, 'r', 'string', `${W} echo`);
  }

  /**
   * Turns the device's console echo on or off. Zephyr does not implement it (answers
   * `MGMT_ERR_ENOTSUP`); MCUboot serial recovery accepts it.
   */
  async consoleEcho(on: boolean, options?: CallOptions): Promise<void> {
    argBool('on', on);
    const call = argCall(options);
    await this.#host.request(Op.WRITE, Group.OS, OsCmd.CONSOLE_ECHO, { echo: on ? 1 : 0 }, call);
  }

  /**
   * Thread statistics (needs `MCUMGR_GRP_OS_TASKSTAT` on the device), one entry per thread in the
   * device's order. Threads that share a name (or a priority, the key Zephyr uses without thread
   * names) are all kept: the answer is read entry by entry from the CBOR bytes.
   */
  async taskStats(options?: CallOptions): Promise<TaskStat[]> {
    const call = argCall(options);
    const { body, payload } = await this.#host.request(Op.READ, Group.OS, OsCmd.TASKSTAT, {}, call);
    const what = `${W} task statistics`;
    const tasks = need(body, 'tasks', 'map', what);
    return entriesOf(payload, ['tasks'], tasks).map(([key, v]) => {
      const name = String(key);
      const t = needMap(v, `tasks["${name}"]`, what);
      const w = `${what} (task "${name}")`;
      const s: TaskStat = {
        name,
        prio: unwrapPrio(need(t, 'prio', 'int', w)),
        tid: need(t, 'tid', 'uint', w),
        state: need(t, 'state', 'uint', w),
      };
      setIf(s, 'stackSize', opt(t, 'stksiz', 'uint', w));
      setIf(s, 'stackUse', opt(t, 'stkuse', 'uint', w));
      setIf(s, 'runtime', opt(t, 'runtime', 'uint', w));
      setIf(s, 'contextSwitches', opt(t, 'cswcnt', 'uint', w));
      setIf(s, 'lastCheckin', opt(t, 'last_checkin', 'uint', w));
      setIf(s, 'nextCheckin', opt(t, 'next_checkin', 'uint', w));
      return s;
    });
  }

  /**
   * Memory pool / heap statistics. Accepts both layouts Zephyr has used: pools under `mpools`
   * (the original protocol) and pools at the top level of the answer.
   */
  async memoryPoolStats(options?: CallOptions): Promise<MemoryPoolStat[]> {
    const call = argCall(options);
    const { body, payload } = await this.#host.request(Op.READ, Group.OS, OsCmd.MPSTAT, {}, call);
    const what = `${W} memory pool statistics`;
    const nested = body.mpools !== undefined;
    const pools = nested ? need(body, 'mpools', 'map', what) : body;
    const out: MemoryPoolStat[] = [];
    for (const [key, v] of entriesOf(payload, nested ? ['mpools'] : [], pools)) {
      const name = String(key);
      if (name === 'rc' || name === 'rsn') continue;
      const p = needMap(v, `pool "${name}"`, what);
      const w = `${what} (pool "${name}")`;
      const s: MemoryPoolStat = {
        name,
        blocks: need(p, 'nblks', 'uint', w),
        free: need(p, 'nfree', 'uint', w),
        minFree: need(p, 'min', 'uint', w),
      };
      setIf(s, 'blockSize', opt(p, 'blksiz', 'uint', w));
      out.push(s);
    }
    return out;
  }

  /** Reads the device's real-time clock (needs `MCUMGR_GRP_OS_DATETIME`). */
  async dateTime(options?: CallOptions): Promise<DeviceDateTime> {
    const call = argCall(options);
    const { body } = await this.#host.request(Op.READ, Group.OS, OsCmd.DATETIME, {}, call);
    const text = need(body, 'datetime', 'string', `${W} date-time`);
    return { text, date: parseDeviceDateTime(text, `${W} date-time`) };
  }

  /**
   * Sets the device's clock. A `Date` is sent as its UTC time (`{ local: true }` sends local
   * time) with milliseconds as three digits (see {@link formatDateTime}).
   *
   * A string is sent as given and must look like `YYYY-MM-DDTHH:MM:SS[.mmm][Z]`. The fraction, when
   * present, must be exactly three digits: Zephyr reads the digits after the dot as a whole number
   * of milliseconds 0–999 (`.5` would be 5 ms, not half a second) and refuses larger numbers such as
   * a microsecond fraction; a device without `MCUMGR_GRP_OS_DATETIME_MS` ignores it. Years must be
   * 1900–11899, the range Zephyr accepts.
   */
  async setDateTime(value: Date | string, options?: CallOptions & { local?: boolean }): Promise<void> {
    const o = argOptions('options', options);
    const call = argCall(o);
    if (o.local !== undefined) argBool('options.local', o.local);
    let text: string;
    if (value instanceof Date) {
      if (Number.isNaN(value.getTime())) throw new RangeError('value is an invalid Date; pass a valid Date or a YYYY-MM-DDTHH:MM:SS string');
      text = formatDateTime(value, o.local === true);
    } else if (typeof value === 'string') {
      const m = /^\d{4,5}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.(\d+))?Z?$/.exec(value);
      if (!m) throw new RangeError(`value must look like YYYY-MM-DDTHH:MM:SS[.mmm] (no time zone offset), got ${describe(value)}`);
      if (m[1] !== undefined && m[1].length !== 3) {
        throw new RangeError(
          `value's fraction ".${m[1]}" must be exactly three digits of milliseconds (e.g. ".500" or ".005"): ` +
            'Zephyr reads the digits as a whole number of milliseconds 0-999; or pass a Date',
        );
      }
      text = value;
    } else {
      throw new TypeError(`value must be a Date or a YYYY-MM-DDTHH:MM:SS string, got ${describe(value)}`);
    }
    const year = Number(text.slice(0, text.indexOf('-')));
    if (year < 1900 || year > 11899) {
      throw new RangeError(`value's year must be 1900..11899 (the device refuses other years), got ${year}`);
    }
    await this.#host.request(Op.WRITE, Group.OS, OsCmd.DATETIME, { datetime: text }, call);
  }

  /**
   * Asks the device to reboot. It answers first and restarts about 250 ms later (Zephyr
   * default). Devices with a reset hook may refuse with `MGMT_ERR_EBUSY`; retry with `force`.
   */
  async reset(options?: ResetOptions): Promise<void> {
    const o = argOptions('options', options);
    const call = argCall(o);
    const body: CborMap = {};
    if (o.force !== undefined) body.force = argBool('options.force', o.force);
    if (o.bootMode !== undefined) body.boot_mode = argUint('options.bootMode', o.bootMode, { max: 255 });
    await this.#host.request(Op.WRITE, Group.OS, OsCmd.RESET, body, { ...call, timeoutClass: 'reset' });
  }

  /**
   * The device's SMP buffer size and count (needs `MCUMGR_GRP_OS_MCUMGR_PARAMS`, off by default:
   * many devices answer `MGMT_ERR_ENOTSUP`). The client remembers the answer to cap transfer
   * windows at `bufCount − 1`.
   */
  async mcumgrParams(options?: CallOptions): Promise<McumgrParams> {
    const call = argCall(options);
    const { body } = await this.#host.request(Op.READ, Group.OS, OsCmd.MCUMGR_PARAMS, {}, call);
    const what = `${W} mcumgr params`;
    const p = { bufSize: need(body, 'buf_size', 'uint', what), bufCount: need(body, 'buf_count', 'uint', what) };
    if (p.bufSize < 8 || p.bufCount < 1) {
      throw new SmpResponseError(`the device's answer to ${what} has buf_size ${p.bufSize} and buf_count ${p.bufCount}; expected at least 8 and 1`);
    }
    this.#host.rememberParams(p);
    return p;
  }

  /**
   * OS/application information (`uname`-like; needs `MCUMGR_GRP_OS_INFO`). Each character of
   * `format` picks a field: `s` kernel, `n` node, `r` release, `v` version, `b` build time,
   * `m` machine, `p` processor, `i` platform, `o` OS, `a` all. Default: the device's (`s`).
   */
  async appInfo(format?: string, options?: CallOptions): Promise<string> {
    const call = argCall(options);
    const body: CborMap = {};
    if (format !== undefined) {
      argString('format', format, { hint: 'use letters like "a" (all) or "sv" (kernel name and version)' });
      if (/\s/.test(format)) throw new RangeError(`format must be field letters without spaces, e.g. "sv", got ${describe(format)}`);
      body.format = format;
    }
    const { body: rsp } = await this.#host.request(Op.READ, Group.OS, OsCmd.INFO, body, call);
    return need(rsp, 'output', 'string', `${W} application info`);
  }

  /** Bootloader information: without a query its name, with `'mode'` its MCUboot mode. */
  bootloaderInfo(query?: undefined, options?: CallOptions): Promise<BootloaderName>;
  bootloaderInfo(query: 'mode', options?: CallOptions): Promise<BootloaderMode>;
  /** Any other query (vendor extensions, e.g. `active_b0_slot`) resolves with the raw answer. */
  bootloaderInfo(query: string, options?: CallOptions): Promise<CborMap>;
  async bootloaderInfo(query?: string, options?: CallOptions): Promise<BootloaderName | BootloaderMode | CborMap> {
    const call = argCall(options);
    const what = `${W} bootloader info`;
    if (query === undefined) {
      const { body } = await this.#host.request(Op.READ, Group.OS, OsCmd.BOOTLOADER_INFO, {}, call);
      return { bootloader: need(body, 'bootloader', 'string', what) };
    }
    argString('query', query, { nonEmpty: true, hint: 'e.g. "mode", or leave it out for the bootloader name' });
    const { body } = await this.#host.request(Op.READ, Group.OS, OsCmd.BOOTLOADER_INFO, { query }, call);
    if (query !== 'mode') return body;
    const mode = need(body, 'mode', 'int', `${what} (mode)`);
    return {
      mode,
      modeName: BOOTLOADER_MODES[mode] ?? `mode ${mode}`,
      noDowngrade: opt(body, 'no-downgrade', 'bool', `${what} (mode)`) ?? false,
    };
  }
}

/**
 * Formats a Date the way Zephyr parses it: `YYYY-MM-DDTHH:MM:SS`, plus `.mmm` (always three
 * digits, since Zephyr reads them as a whole number of milliseconds) when the milliseconds are not
 * 0. No time zone: the device keeps none. UTC unless `local`.
 */
export function formatDateTime(d: Date, local = false): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const [y, mo, day, h, mi, s, ms] = local
    ? [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()]
    : [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()];
  return `${p(y, 4)}-${p(mo)}-${p(day)}T${p(h)}:${p(mi)}:${p(s)}${ms ? `.${p(ms, 3)}` : ''}`;
}

/**
 * Reads a device's date-time text. Zephyr prints milliseconds as a plain number (`.5` is 5 ms,
 * `.50` is 50 ms), so one to three digits are milliseconds; more digits (the documented
 * microsecond form some servers send) are a decimal fraction, cut to what a Date holds. A `Z` or
 * `±hh:mm` suffix is applied; without one the fields are UTC.
 */
function parseDeviceDateTime(text: string, what: string): Date {
  const m = /^\s*(\d+)-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?\s*(?:(Z)|([+-])(\d{2}):?(\d{2}))?/i.exec(text);
  if (!m) throw new SmpResponseError(`the device's answer to ${what} has "datetime" = ${describe(text)}, expected YYYY-MM-DDTHH:MM:SS`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const frac = m[7];
  const ms = frac === undefined ? 0 : frac.length <= 3 ? Number(frac) : Math.floor(Number(`0.${frac}`) * 1000);
  const offsetMin = m[9] === undefined ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not move years 0-99 to 1900-1999.
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, ms);
  if (offsetMin !== 0) date.setTime(date.getTime() - offsetMin * 60_000);
  return date;
}

/** Entries of the map at `path` in the raw payload, falling back to the decoded object's. */
function entriesOf(payload: Buffer | undefined, path: readonly string[], decoded: CborMap): CborEntry[] {
  // The raw walk keeps entries whose keys repeat; the decoded object kept only the last of each.
  return (payload && payload.length > 0 ? cborMapEntries(payload, path) : undefined) ?? Object.entries(decoded);
}

/**
 * Zephyr's unsigned taskstat priority is the int8 priority cast to `unsigned int` (sign-extended),
 * so values from 2^31 up are negative priorities.
 */
function unwrapPrio(p: number): number {
  return p >= 0x80000000 && p <= 0xffffffff ? p | 0 : p;
}

function setIf<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v !== undefined) o[k] = v;
}
