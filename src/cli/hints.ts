/**
 * Errors that name the fix: the library's errors say what happened at the protocol level
 * ("no answer to group 0 command 6"); the command line knows what the user asked for and which
 * connection, so it says that, and what to check or type next. Each hint keeps the error's class
 * and `code` (scripts and exit codes do not change), only the message grows.
 * @module
 */
import { Group, OsCmd } from '../protocol/ids.js';
import { McuMgrError, SmpDeviceError, SmpTimeoutError } from '../errors.js';
import { describePort, listSerialPorts } from '../transport/list-ports.js';
import { CliUsageError } from './output.js';

/** What the command line knows when an error reaches it. */
export interface HintContext {
  /** The command as typed, e.g. `os echo`. */
  command?: string;
  /** The connection string in use. */
  target?: string;
  /** The latest transfer progress. */
  progress?: { done: number; total: number };
}

/** What to check when a device never answers, by kind of link. */
function silenceAdvice(target: string | undefined): string {
  if (target === undefined || target.startsWith('sim')) return 'check the connection string';
  if (target.startsWith('udp:')) {
    return 'check the address and port (Zephyr listens on 1337), that the device runs MCUmgr over UDP (CONFIG_MCUMGR_TRANSPORT_UDP) and that no firewall drops the datagrams';
  }
  return (
    'check the port (mcumgr list shows the ports present), the baud rate (?baud=, default 115200, must match the device\'s UART), ' +
    'the encoding (--encoding console for CONFIG_MCUMGR_TRANSPORT_UART, raw for CONFIG_MCUMGR_TRANSPORT_RAW_UART, cobs for COBS framing), ' +
    'and that the device runs MCUmgr on that UART (not only its shell or log)'
  );
}

/** `group 0 command 6` in a timeout message names the os params probe the client sends first. */
function probeText(message: string): string {
  return /group 0 command 6\b/.test(message) ? 'the first request, os mcumgr params, got no answer' : message;
}

function deviceHint(e: SmpDeviceError, ctx: HintContext): string | undefined {
  const groupOf = e.errGroup ?? e.group;
  if (groupOf === Group.OS && e.command === OsCmd.DATETIME && (e.rcName === 'OS_MGMT_ERR_RTC_NOT_SET' || (ctx.command === 'os datetime' && e.rcName === 'MGMT_ERR_ENOENT'))) {
    return 'the device\'s clock has not been set since it booted: set it from this computer\'s clock with "mcumgr os datetime set now"';
  }
  if (groupOf === Group.SETTINGS && e.rcName === 'SETTINGS_MGMT_ERR_ROOT_KEY_NOT_FOUND') {
    return (
      'no settings handler on the device owns this name\'s root key, the part before the first "/" (e.g. "bt" in "bt/name"); ' +
      'each subsystem registers a handler for its root key (settings_register or SETTINGS_STATIC_HANDLER_DEFINE), so check the spelling ' +
      'and that the firmware is built with that subsystem'
    );
  }
  if (groupOf === Group.FS && e.rcName === 'FS_MGMT_ERR_FILE_WRITE_FAILED') {
    const at = ctx.progress ? ` at offset ${ctx.progress.done} of ${ctx.progress.total}` : '';
    return (
      `the device could not write the file${at}, most often because its file system is full ` +
      '(Zephyr\'s fs group has no command that reports free space, so this could not be checked before the upload); ' +
      'free space on the device, or write a smaller file'
    );
  }
  return undefined;
}

/** The error with a message that says what to do, same class and code; or the error itself. */
export function explainError(err: unknown, ctx: HintContext): unknown {
  if (err instanceof SmpTimeoutError) {
    const what = ctx.command ? `"${ctx.command}"` : 'the request';
    const from = ctx.target ? ` from ${ctx.target}` : '';
    const e = new SmpTimeoutError(
      `no answer to ${what}${from} within ${err.timeoutMs} ms (${probeText(err.message)}); ${silenceAdvice(ctx.target)}`,
      err.timeoutMs,
    );
    e.stack = err.stack;
    return e;
  }
  if (err instanceof SmpDeviceError) {
    const hint = deviceHint(err, ctx);
    if (hint !== undefined) {
      Object.defineProperty(err, 'message', { value: `${err.message}: ${hint}`, configurable: true, writable: true });
    }
  }
  return err;
}

/** Whether opening a serial port failed because there is no such device file. */
function isMissingPort(e: unknown): boolean {
  const codes = [e, (e as { cause?: unknown } | null)?.cause].map((x) => (x as { code?: unknown } | null)?.code);
  return codes.includes('ENOENT') || (e instanceof McuMgrError && /\bENOENT\b/.test(e.message));
}

/**
 * Turns "cannot open /dev/ttyNOPE: ENOENT" into a usage error that lists the ports present and
 * points at `mcumgr list` (as a `usb:` selector that matches nothing already does).
 */
export async function explainMissingPort(e: unknown, path: string): Promise<unknown> {
  if (!isMissingPort(e)) return e;
  let present = 'none found';
  try {
    const ports = await listSerialPorts();
    if (ports.length > 0) present = ports.map(describePort).join(', ');
  } catch {
    present = 'the port list is unavailable here';
  }
  return new CliUsageError(`no serial port ${path}: ports present: ${present}; "mcumgr list" shows them with their USB ids (then use serial:<path> or usb:VID:PID)`);
}
