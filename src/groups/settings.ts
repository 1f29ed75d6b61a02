/**
 * Settings ("config") group (group 3, PROTOCOL.md §3.4): read, write and delete settings;
 * commit, load, save.
 * @module
 */
import { Op } from '../codec/header.js';
import type { CborMap } from '../codec/cbor.js';
import { Group, SettingsCmd } from '../protocol/ids.js';
import { argBytes, argCall, argString, argUint, describe, need, type CallOptions, type GroupHost } from './util.js';

const W = 'settings';
const NAME_HINT = 'pass a setting key such as "app/name"';

/** The settings group's commands; reach it as `client.settings`. */
export class SettingsGroup {
  readonly #host: GroupHost;

  /** @internal */
  constructor(host: GroupHost) {
    this.#host = host;
  }

  /**
   * Reads a setting's value. The device returns at most `min(maxSize,
   * MCUMGR_GRP_SETTINGS_VALUE_LEN)` bytes (32 by default).
   */
  async read(name: string, maxSize?: number, options?: CallOptions): Promise<Buffer> {
    argString('name', name, { nonEmpty: true, hint: NAME_HINT });
    const body: CborMap = { name };
    if (maxSize !== undefined) body.max_size = argUint('maxSize', maxSize, { min: 1, max: 0xffffffff });
    const call = argCall(options);
    const { body: rsp } = await this.#host.request(Op.READ, Group.SETTINGS, SettingsCmd.VALUE, body, call);
    return need(rsp, 'val', 'bytes', `${W} read`);
  }

  /** Writes a setting. A string value is sent as its UTF-8 bytes (no terminating NUL). */
  async write(name: string, value: Uint8Array | string, options?: CallOptions): Promise<void> {
    argString('name', name, { nonEmpty: true, hint: NAME_HINT });
    let val: Buffer;
    if (typeof value === 'string') val = Buffer.from(value, 'utf8');
    else if (value instanceof Uint8Array) val = argBytes('value', value);
    else throw new TypeError(`value must be a Buffer, Uint8Array or string, got ${describe(value)}`);
    const call = argCall(options);
    await this.#host.request(Op.WRITE, Group.SETTINGS, SettingsCmd.VALUE, { name, val }, call);
  }

  /** Deletes a setting. */
  async delete(name: string, options?: CallOptions): Promise<void> {
    argString('name', name, { nonEmpty: true, hint: NAME_HINT });
    const call = argCall(options);
    await this.#host.request(Op.WRITE, Group.SETTINGS, SettingsCmd.DELETE, { name }, call);
  }

  /** Applies the written settings (runs the handlers' commit callbacks). */
  async commit(options?: CallOptions): Promise<void> {
    const call = argCall(options);
    await this.#host.request(Op.WRITE, Group.SETTINGS, SettingsCmd.COMMIT, {}, call);
  }

  /** Loads the settings from persistent storage. */
  async load(options?: CallOptions): Promise<void> {
    const call = argCall(options);
    await this.#host.request(Op.READ, Group.SETTINGS, SettingsCmd.LOAD_SAVE, {}, call);
  }

  /** Saves the settings to persistent storage. */
  async save(options?: CallOptions): Promise<void> {
    const call = argCall(options);
    await this.#host.request(Op.WRITE, Group.SETTINGS, SettingsCmd.LOAD_SAVE, {}, { ...call, timeoutClass: 'long' });
  }
}
