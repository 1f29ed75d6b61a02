/**
 * Enumeration group (group 10, PROTOCOL.md §3.7): which management groups the device has.
 * @module
 */
import { Op } from '../codec/header.js';
import type { CborMap } from '../codec/cbor.js';
import { Group, EnumCmd } from '../protocol/ids.js';
import { SmpResponseError } from '../errors.js';
import { argCall, argUint, describe, need, needMap, opt, type CallOptions, type GroupHost } from './util.js';

/** The answer of {@link EnumGroup.single}. */
export interface EnumSingle {
  /** The group id at that index. */
  group: number;
  /** True when this is the last group. */
  end: boolean;
}

/** One group in {@link EnumGroup.details}. */
export interface EnumGroupDetails {
  /** Group id. */
  group: number;
  /** Its name, when the device has group names enabled (e.g. `img mgmt`). */
  name?: string;
  /** Number of command handlers, when reported. */
  handlers?: number;
}

const W = 'enum';

/** The enumeration group's commands; reach it as `client.enum`. */
export class EnumGroup {
  readonly #host: GroupHost;

  /** @internal */
  constructor(host: GroupHost) {
    this.#host = host;
  }

  /** Number of management groups the device has. */
  async count(options?: CallOptions): Promise<number> {
    const call = argCall(options);
    const { body } = await this.#host.request(Op.READ, Group.ENUM, EnumCmd.COUNT, {}, call);
    return need(body, 'count', 'uint', `${W} count`);
  }

  /** The device's group ids, in registration order. */
  async list(options?: CallOptions): Promise<number[]> {
    const call = argCall(options);
    const { body } = await this.#host.request(Op.READ, Group.ENUM, EnumCmd.LIST, {}, call);
    return uintArray(need(body, 'groups', 'array', `${W} list`), 'groups', `${W} list`);
  }

  /** The group id at `index` (0-based). Past the end: `ENUM_MGMT_ERR_INDEX_TOO_LARGE`. */
  async single(index = 0, options?: CallOptions): Promise<EnumSingle> {
    argUint('index', index, { max: 0xffff });
    const call = argCall(options);
    const { body } = await this.#host.request(Op.READ, Group.ENUM, EnumCmd.SINGLE, { index }, call);
    const what = `${W} single`;
    return { group: need(body, 'group', 'uint', what), end: opt(body, 'end', 'bool', what) ?? false };
  }

  /** Details (name, handler count) of all groups, or of the listed ones (needs `MCUMGR_GRP_ENUM_DETAILS`). */
  async details(groups?: readonly number[], options?: CallOptions): Promise<EnumGroupDetails[]> {
    const body: CborMap = {};
    if (groups !== undefined) {
      if (!Array.isArray(groups)) throw new TypeError(`groups must be an array of group ids, got ${describe(groups)}`);
      body.groups = groups.map((g, i) => argUint(`groups[${i}]`, g, { max: 0xffff }));
    }
    const call = argCall(options);
    const { body: rsp } = await this.#host.request(Op.READ, Group.ENUM, EnumCmd.DETAILS, body, call);
    const what = `${W} details`;
    return need(rsp, 'groups', 'array', what).map((v, i) => {
      const m = needMap(v, `groups[${i}]`, what);
      const w = `${what} (groups[${i}])`;
      const d: EnumGroupDetails = { group: need(m, 'group', 'uint', w) };
      const name = opt(m, 'name', 'string', w);
      if (name !== undefined) d.name = name;
      const handlers = opt(m, 'handlers', 'uint', w);
      if (handlers !== undefined) d.handlers = handlers;
      return d;
    });
  }
}

function uintArray(a: unknown[], key: string, what: string): number[] {
  return a.map((v, i) => {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
    throw new SmpResponseError(`the device's answer to ${what} has ${key}[${i}] as ${describe(v)}, expected an unsigned integer`);
  });
}
