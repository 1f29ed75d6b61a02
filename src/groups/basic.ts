/**
 * Zephyr basic group (group 63, PROTOCOL.md §3.8): erase the storage partition.
 * @module
 */
import { Op } from '../codec/header.js';
import { Group, BasicCmd } from '../protocol/ids.js';
import { argCall, type CallOptions, type GroupHost } from './util.js';

/** The Zephyr basic group's commands; reach it as `client.basic`. */
export class BasicGroup {
  readonly #host: GroupHost;

  /** @internal */
  constructor(host: GroupHost) {
    this.#host = host;
  }

  /**
   * Erases the device's `storage_partition` (settings, file systems). Uses the long timeout.
   * Note: SMP v1 clients see two of its failures as success (a Zephyr quirk); use SMP v2.
   */
  async eraseStorage(options?: CallOptions): Promise<void> {
    const call = argCall(options);
    await this.#host.request(Op.WRITE, Group.ZEPHYR_BASIC, BasicCmd.ERASE_STORAGE, {}, { ...call, timeoutClass: 'long' });
  }
}
