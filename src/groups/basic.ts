/**
 * Zephyr basic group (group 63, PROTOCOL.md §3.8): erase the storage partition.
 * @module
 */
import { Op } from '../codec/header.js';
import { Group, BasicCmd } from '../protocol/ids.js';
import { SmpResponseError } from '../errors.js';
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
   * Note: with SMP v1, Zephyr translates two of its failures (flash config query, erase) to
   * `MGMT_ERR_EOK` and then sends 8 bytes of its response buffer without writing a header: stale
   * content, usually the previous answer's header, which does not match this request, so the call
   * ends in an {@link SmpTimeoutError}. When the stale bytes happen to match (as the simulator
   * models them) the empty answer is an {@link SmpResponseError}. SMP v2 (the default) reports
   * the cause.
   */
  async eraseStorage(options?: CallOptions): Promise<void> {
    const call = argCall(options);
    const rsp = await this.#host.request(Op.WRITE, Group.ZEPHYR_BASIC, BasicCmd.ERASE_STORAGE, {}, { ...call, timeoutClass: 'long' });
    // A success always carries a CBOR map (at least `{}`); only the EOK translation sends none.
    if (rsp.payload.length === 0) {
      throw new SmpResponseError(
        'the device answered storage erase with an empty payload, which Zephyr sends to SMP v1 requests when the erase ' +
          'failed (flash config query or erase error); use SMP v2 (version: 1) to get the error code',
      );
    }
  }
}
