/**
 * Statistics group (group 2, PROTOCOL.md §3.3): list the statistics groups, read one.
 * @module
 */
import { Op } from '../codec/header.js';
import { Group, StatCmd } from '../protocol/ids.js';
import { SmpDeviceError, SmpResponseError } from '../errors.js';
import { groupErrName } from '../protocol/error-names.js';
import { throwIfDeviceError, type SmpResponse } from '../session.js';
import { argCall, argString, describe, need, type CallOptions, type GroupHost } from './util.js';

/** One statistics group read by {@link StatGroup.read}. */
export interface StatGroupData {
  /** The group's name as the device echoed it. */
  name: string;
  /** Counter values by field name. */
  fields: Record<string, number>;
}

const W = 'stat';

/** The statistics group's commands; reach it as `client.stat`. */
export class StatGroup {
  readonly #host: GroupHost;

  /** @internal */
  constructor(host: GroupHost) {
    this.#host = host;
  }

  /** Names of the device's statistics groups. */
  async list(options?: CallOptions): Promise<string[]> {
    const call = argCall(options);
    const { body } = await this.#host.request(Op.READ, Group.STAT, StatCmd.LIST, {}, call);
    const what = `${W} list`;
    return need(body, 'stat_list', 'array', what).map((v, i) => {
      if (typeof v !== 'string') throw new SmpResponseError(`the device's answer to ${what} has stat_list[${i}] as ${describe(v)}, expected a text string`);
      return v;
    });
  }

  /**
   * The counters of one statistics group. An unknown name fails with a device error whose
   * `rcName` is `STAT_MGMT_ERR_INVALID_STAT_NAME`: Zephyr before the fix of zephyr PR #104682
   * tags stat errors with group 63 (`errGroup` 63) instead of 2, so the code is named from the
   * stat group's list either way.
   */
  async read(name: string, options?: CallOptions): Promise<StatGroupData> {
    argString('name', name, { nonEmpty: true, hint: 'pass a group name from stat.list()' });
    const call = argCall(options);
    const rsp = await this.#host.request(Op.READ, Group.STAT, StatCmd.SHOW, { name }, { ...call, rawErrors: true });
    throwStatError(rsp, name);
    const body = rsp.body;
    const what = `${W} read`;
    const raw = need(body, 'fields', 'map', what);
    const fields: Record<string, number> = {};
    for (const [k, v] of Object.entries(raw)) {
      if (typeof v === 'number') fields[k] = v;
      else if (typeof v === 'bigint') fields[k] = Number(v);
      else throw new SmpResponseError(`the device's answer to ${what} has fields["${k}"] as ${describe(v)}, expected an unsigned integer`);
    }
    return { name: typeof body.name === 'string' ? body.name : name, fields };
  }
}

/** Device errors of stat show, named after the stat group even when tagged with group 63. */
function throwStatError(rsp: SmpResponse, name: string): void {
  if (rsp.payload.length === 0) {
    // An SMP v1 request whose group error translated to MGMT_ERR_EOK: Zephyr then sends 8 stale
    // bytes of its buffer as the header, no map. Most often they do not match this request and
    // the call times out instead; when they do (the simulator's model), this is the answer.
    throw new SmpResponseError(
      `the device answered stat read of "${name}" with an empty payload: older Zephyr does this to SMP v1 ` +
        'requests when the group is unknown or its counters cannot be read; check the name with stat.list(), or use SMP v2 (version: 1) for the error code',
    );
  }
  const err = rsp.body.err;
  if (err !== null && typeof err === 'object' && !Array.isArray(err)) {
    const { group, rc } = err as { group?: unknown; rc?: unknown };
    if (group === Group.ZEPHYR_BASIC && typeof rc === 'number' && rc !== 0) {
      const rcName = groupErrName(Group.STAT, rc);
      throw new SmpDeviceError({
        group: Group.STAT,
        command: StatCmd.SHOW,
        rc,
        style: 'err',
        errGroup: group,
        rcName,
        reason: typeof rsp.body.rsn === 'string' ? rsp.body.rsn : undefined,
        message: `device answered ${rcName} (err ${rc}, tagged with group 63 by older Zephyr) to stat read of "${name}"`,
      });
    }
  }
  throwIfDeviceError(rsp, Group.STAT, StatCmd.SHOW);
}
