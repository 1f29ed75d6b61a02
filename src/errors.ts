/**
 * Error classes with stable `code`s. Every failure the library reports is one of these (or a
 * plain `TypeError`/`RangeError` for a bad argument, raised before any byte is sent).
 *
 * Errors cross worker-thread boundaries as plain objects ({@link serializeError}) and are rebuilt
 * into the same classes ({@link deserializeError}).
 *
 * `instanceof` holds across two copies of the package in one process (ESM and `require()`, dist
 * and tsx sources in workers): every error carries the brand `Symbol.for('mcumgr-toolkit.error.<CODE>')`
 * and each class's static `Symbol.hasInstance` accepts an object branded with one of its codes.
 *
 * @module
 */

/**
 * Every `code` an error of this library can carry: one closed list, so a `switch` over
 * `err.code` can be checked for exhaustiveness.
 */
export const MCUMGR_ERROR_CODES = [
  'SMP_ERR_TIMEOUT',
  'SMP_ERR_DEVICE',
  'SMP_ERR_GROUP',
  'SMP_ERR_FRAME',
  'SMP_ERR_RESPONSE',
  'SMP_ERR_CLOSED',
  'SMP_ERR_TRANSPORT',
  'SMP_ERR_FRAME_SIZE',
  'SMP_ERR_VERIFY',
  'IMAGE_ERR_FORMAT',
  'IMAGE_ERR_HASH_REQUIRED',
  'IMAGE_ERR_SWAP_SCHEDULED',
  'IMAGE_ERR_RECOVERY_IMAGE',
  'IMAGE_ERR_TOO_LARGE',
  'SOURCE_ERR_CHANGED',
  'BLE_ERR_UNAVAILABLE',
  'FLEET_ERR_MISSING_PACKAGE',
  'FLEET_ERR_UNKNOWN_ROLLOUT',
  'FLEET_ERR_STATE',
  'FLEET_ERR_DEADLINE',
  'FLEET_ERR_IMAGE_HASH',
  'FLEET_ERR_CANCELLED',
  'ABORT_ERR',
] as const;

/**
 * The `code` of an error of this library.
 * @example
 * ```ts
 * function describe(code: McumgrErrorCode): string {
 *   switch (code) {
 *     case 'SMP_ERR_TIMEOUT': return 'no answer';
 *     // ...
 *   }
 * }
 * ```
 */
export type McumgrErrorCode = (typeof MCUMGR_ERROR_CODES)[number];

/** The registry symbol an error with `code` carries (shared by every copy of the package). */
export function errorBrand(code: McumgrErrorCode): symbol {
  return Symbol.for(`mcumgr-toolkit.error.${code}`);
}

/** The brands each of the package's own classes accepts in `instanceof`; user subclasses have none. */
const OWN_BRANDS = Symbol('mcumgr-toolkit.error.brands');

function brand(err: object, code: McumgrErrorCode): void {
  Object.defineProperty(err, errorBrand(code), { value: true, configurable: true });
}

/** The package's error classes by name, for {@link deserializeError}; filled by {@link codesOf}. */
const classes = new Map<string, new (...a: any[]) => McuMgrError>();

function codesOf(cls: new (...a: any[]) => McuMgrError, codes: readonly McumgrErrorCode[]): void {
  Object.defineProperty(cls, OWN_BRANDS, { value: codes.map(errorBrand) });
  classes.set(cls.name, cls);
}

/**
 * Base class of every error this library raises about the protocol or the device.
 * @example
 * ```ts
 * try {
 *   await client.os.echo('hi');
 * } catch (err) {
 *   if (err instanceof McuMgrError && err.code === 'SMP_ERR_TIMEOUT') console.error('no answer');
 * }
 * ```
 */
export class McuMgrError extends Error {
  /** A stable machine-readable code, e.g. `SMP_ERR_TIMEOUT`. */
  readonly code: McumgrErrorCode;
  constructor(code: McumgrErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    brand(this, code);
  }

  /**
   * True for an instance of this class, also one made by another copy of the package (it carries
   * the brand of one of the class's codes). A subclass defined outside the package checks its
   * prototype chain only.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (typeof value !== 'object' || value === null || !Object.hasOwn(this, OWN_BRANDS)) return false;
    const brands = (this as unknown as { [OWN_BRANDS]: readonly symbol[] })[OWN_BRANDS];
    return brands.some((b) => (value as Record<symbol, unknown>)[b] === true);
  }
}
codesOf(McuMgrError, MCUMGR_ERROR_CODES);

/** No answer arrived within the request's deadline. */
export class SmpTimeoutError extends McuMgrError {
  declare readonly code: 'SMP_ERR_TIMEOUT';
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number) {
    super('SMP_ERR_TIMEOUT', message);
    this.timeoutMs = timeoutMs;
  }
}
codesOf(SmpTimeoutError, ['SMP_ERR_TIMEOUT']);

/** The device answered with an error: SMP v1 `rc` or SMP v2 `err {group, rc}`. */
export class SmpDeviceError extends McuMgrError {
  declare readonly code: 'SMP_ERR_DEVICE' | 'SMP_ERR_GROUP';
  /** Group of the request that failed. */
  readonly group: number;
  /** Command id of the request that failed. */
  readonly command: number;
  /** The error value: an `MGMT_ERR_*` code (style `rc`) or the group's own code (style `err`). */
  readonly rc: number;
  /** Group that the `err` map named (v2 group errors only; may differ from `group`, e.g. stat). */
  readonly errGroup: number | undefined;
  /** `rc`: SMP-level `MGMT_ERR_*` code; `err`: group-specific code of SMP v2. */
  readonly style: 'rc' | 'err';
  /** Symbolic name of the code, e.g. `MGMT_ERR_ENOTSUP` or `IMG_MGMT_ERR_NO_FREE_SLOT`. */
  readonly rcName: string;
  /** Optional `rsn` text sent by devices built with verbose error responses. */
  readonly reason: string | undefined;
  constructor(init: {
    group: number;
    command: number;
    rc: number;
    style: 'rc' | 'err';
    rcName: string;
    errGroup?: number;
    reason?: string;
    message?: string;
  }) {
    super(
      init.style === 'rc' ? 'SMP_ERR_DEVICE' : 'SMP_ERR_GROUP',
      init.message ??
        `device answered ${init.rcName} (${init.style} ${init.rc}) to group ${init.group} command ${init.command}` +
          (init.reason ? `: ${init.reason}` : ''),
    );
    this.group = init.group;
    this.command = init.command;
    this.rc = init.rc;
    this.style = init.style;
    this.rcName = init.rcName;
    this.errGroup = init.errGroup;
    this.reason = init.reason;
  }
}
codesOf(SmpDeviceError, ['SMP_ERR_DEVICE', 'SMP_ERR_GROUP']);

/** A frame or packet from the device could not be understood (bad CBOR, wrong shape, …). */
export class SmpFrameError extends McuMgrError {
  declare readonly code: 'SMP_ERR_FRAME';
  constructor(message: string, options?: { cause?: unknown }) {
    super('SMP_ERR_FRAME', message, options);
  }
}
codesOf(SmpFrameError, ['SMP_ERR_FRAME']);

/** The device's answer decoded but does not have the fields the command promises. */
export class SmpResponseError extends McuMgrError {
  declare readonly code: 'SMP_ERR_RESPONSE';
  constructor(message: string, options?: { cause?: unknown }) {
    super('SMP_ERR_RESPONSE', message, options);
  }
}
codesOf(SmpResponseError, ['SMP_ERR_RESPONSE']);

/** The session or transport is closed; no new request can be sent. */
export class SmpClosedError extends McuMgrError {
  declare readonly code: 'SMP_ERR_CLOSED';
  constructor(message = 'the connection is closed; open a new client') {
    super('SMP_ERR_CLOSED', message);
  }
}
codesOf(SmpClosedError, ['SMP_ERR_CLOSED']);

/** The transport failed (port vanished, write error, socket error). */
export class TransportError extends McuMgrError {
  declare readonly code: 'SMP_ERR_TRANSPORT';
  constructor(message: string, options?: { cause?: unknown }) {
    super('SMP_ERR_TRANSPORT', message, options);
  }
}
codesOf(TransportError, ['SMP_ERR_TRANSPORT']);

/** A request does not fit the frame size the device accepts. */
export class SmpFrameSizeError extends McuMgrError {
  declare readonly code: 'SMP_ERR_FRAME_SIZE';
  constructor(message: string) {
    super('SMP_ERR_FRAME_SIZE', message);
  }
}
codesOf(SmpFrameSizeError, ['SMP_ERR_FRAME_SIZE']);

/** An MCUboot image is malformed; raised before anything is sent to a device. */
export class ImageFormatError extends McuMgrError {
  declare readonly code: 'IMAGE_ERR_FORMAT';
  constructor(message: string) {
    super('IMAGE_ERR_FORMAT', message);
  }
}
codesOf(ImageFormatError, ['IMAGE_ERR_FORMAT']);

/** A transfer finished but what the device holds is not what was sent. */
export class VerifyError extends McuMgrError {
  declare readonly code: 'SMP_ERR_VERIFY';
  constructor(message: string) {
    super('SMP_ERR_VERIFY', message);
  }
}
codesOf(VerifyError, ['SMP_ERR_VERIFY']);

/**
 * Refused before anything was written: the request would make the device boot an image other
 * than the one intended (MCUboot serial recovery's set-state schedules the secondary slot; a swap
 * already scheduled would replace a freshly recovered image).
 */
export class ImageStateError extends McuMgrError {
  declare readonly code: 'IMAGE_ERR_HASH_REQUIRED' | 'IMAGE_ERR_SWAP_SCHEDULED' | 'IMAGE_ERR_RECOVERY_IMAGE';
  constructor(code: ImageStateError['code'], message: string) {
    super(code, message);
  }
}
codesOf(ImageStateError, ['IMAGE_ERR_HASH_REQUIRED', 'IMAGE_ERR_SWAP_SCHEDULED', 'IMAGE_ERR_RECOVERY_IMAGE']);

/** The operation was cancelled through its `AbortSignal`. */
export class AbortError extends McuMgrError {
  declare readonly code: 'ABORT_ERR';
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super('ABORT_ERR', message, options);
  }
}
codesOf(AbortError, ['ABORT_ERR']);

/** The plain-object shape an error takes across a worker-thread boundary. */
export interface SerializedError {
  name: string;
  code?: string;
  message: string;
  [field: string]: unknown;
}

/** Turns any thrown value into a plain object that survives `postMessage`. */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const out: SerializedError = { name: err.name, message: err.message };
    for (const [k, v] of Object.entries(err)) {
      if (k === 'cause') continue;
      if (v === undefined || typeof v === 'function') continue;
      out[k] = v;
    }
    return out;
  }
  return { name: 'Error', code: 'ERR_UNKNOWN', message: String(err) };
}

/** Rebuilds an error sent by {@link serializeError} as an instance of the library's class. */
export function deserializeError(data: SerializedError): Error {
  const Cls = classes.get(data.name);
  let err: Error;
  if (Cls) {
    err = Object.create(Cls.prototype) as Error;
    Object.defineProperty(err, 'message', { value: data.message, writable: true, configurable: true });
  } else if (data.name === 'TypeError') err = new TypeError(data.message);
  else if (data.name === 'RangeError') err = new RangeError(data.message);
  else err = new Error(data.message);
  for (const [k, v] of Object.entries(data)) {
    if (k === 'message') continue;
    Object.defineProperty(err, k, { value: v, writable: true, configurable: true, enumerable: k !== 'name' });
  }
  if (!err.stack) err.stack = `${data.name}: ${data.message}`;
  if (Cls && (MCUMGR_ERROR_CODES as readonly string[]).includes(data.code ?? '')) brand(err, data.code as McumgrErrorCode);
  return err;
}
