/**
 * Statistics group (group 2, PROTOCOL.md §3.3): list the statistics groups, read one.
 * @module
 */
import { Op } from '../codec/header.js';
import { Group, StatCmd } from '../protocol/ids.js';
import { SmpResponseError } from '../errors.js';
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
   * The counters of one statistics group. An unknown name fails with a device error (Zephyr
   * tags it with group 63: `ZEPHYRBASIC_MGMT_ERR_FLASH_CONFIG_QUERY_FAIL`, code 3).
   */
  async read(name: string, options?: CallOptions): Promise<StatGroupData> {
    argString('name', name, { nonEmpty: true, hint: 'pass a group name from stat.list()' });
    const call = argCall(options);
    const { body } = await this.#host.request(Op.READ, Group.STAT, StatCmd.SHOW, { name }, call);
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
