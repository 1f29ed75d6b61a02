/**
 * Shell group (group 9, PROTOCOL.md §3.6): run a shell command line and capture its output.
 * @module
 */
import { Op } from '../codec/header.js';
import { Group, ShellCmd } from '../protocol/ids.js';
import { throwIfDeviceError } from '../session.js';
import { argCall, describe, need, opt, type CallOptions, type GroupHost } from './util.js';

/** The result of {@link ShellGroup.exec}. */
export interface ShellResult {
  /** What the command printed (captured by the device; may be truncated). */
  output: string;
  /** The command's own return value (0 = success; e.g. −8 for an unknown command). */
  ret: number;
}

const W = 'shell exec';

/** The shell group's commands; reach it as `client.shell`. */
export class ShellGroup {
  readonly #host: GroupHost;

  /** @internal */
  constructor(host: GroupHost) {
    this.#host = host;
  }

  /**
   * Runs a shell command on the device. The words are joined by single spaces on the device.
   * A failing command is not an error: check `ret`. Devices built with the legacy return code
   * send it as `rc`; it is reported here as `ret` as well.
   * @example
   * ```ts
   * const { output, ret } = await client.shell.exec(['kernel', 'version']);
   * ```
   */
  async exec(argv: readonly string[], options?: CallOptions): Promise<ShellResult> {
    if (!Array.isArray(argv)) {
      throw new TypeError(
        `argv must be an array of strings, got ${describe(argv)}` +
          (typeof argv === 'string' ? '; split the command line, e.g. "kernel version".split(" ")' : ''),
      );
    }
    if (argv.length === 0) throw new RangeError('argv must hold at least the command name, e.g. ["kernel", "version"]');
    argv.forEach((a, i) => {
      if (typeof a !== 'string') throw new TypeError(`argv[${i}] must be a string, got ${describe(a)}`);
    });
    if (argv[0] === '') throw new RangeError('argv[0] (the command name) must not be empty');
    const call = argCall(options);
    const rsp = await this.#host.request(Op.WRITE, Group.SHELL, ShellCmd.EXEC, { argv: [...argv] }, { ...call, rawErrors: true });
    const body = rsp.body;
    if (body.o === undefined) {
      // No output: an SMP-level failure (rc 3 bad argv, rc 7 too large, rc 8 unsupported) or a
      // v2 group error (empty command, command too long).
      throwIfDeviceError(rsp, Group.SHELL, ShellCmd.EXEC);
    } else if (body.err !== undefined) {
      throwIfDeviceError({ ...rsp, body: { err: body.err } }, Group.SHELL, ShellCmd.EXEC);
    }
    const output = need(body, 'o', 'string', W);
    const ret = opt(body, 'ret', 'int', W) ?? opt(body, 'rc', 'int', W) ?? 0;
    return { output, ret };
  }
}
