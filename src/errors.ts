/**
 * Error classes with stable `code`s. Every failure the library reports is one of these (or a
 * plain `TypeError`/`RangeError` for a bad argument, raised before any byte is sent).
 *
 * Errors cross worker-thread boundaries as plain objects ({@link serializeError}) and are rebuilt
 * into the same classes ({@link deserializeError}).
 *
 * @module
 */

/** Base class of every error this library raises about the protocol or the device. */
export class McuMgrError extends Error {
  /** A stable machine-readable code, e.g. `SMP_ERR_TIMEOUT`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** No answer arrived within the request's deadline. */
export class SmpTimeoutError extends McuMgrError {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number) {
    super('SMP_ERR_TIMEOUT', message);
    this.timeoutMs = timeoutMs;
  }
}

/** The device answered with an error: SMP v1 `rc` or SMP v2 `err {group, rc}`. */
export class SmpDeviceError extends McuMgrError {
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

/** A frame or packet from the device could not be understood (bad CBOR, wrong shape, …). */
export class SmpFrameError extends McuMgrError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SMP_ERR_FRAME', message, options);
  }
}

/** The device's answer decoded but does not have the fields the command promises. */
export class SmpResponseError extends McuMgrError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SMP_ERR_RESPONSE', message, options);
  }
}

/** The session or transport is closed; no new request can be sent. */
export class SmpClosedError extends McuMgrError {
  constructor(message = 'the connection is closed; open a new client') {
    super('SMP_ERR_CLOSED', message);
  }
}

/** The transport failed (port vanished, write error, socket error). */
export class TransportError extends McuMgrError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SMP_ERR_TRANSPORT', message, options);
  }
}

/** A request does not fit the frame size the device accepts. */
export class SmpFrameSizeError extends McuMgrError {
  constructor(message: string) {
    super('SMP_ERR_FRAME_SIZE', message);
  }
}

/** An MCUboot image is malformed; raised before anything is sent to a device. */
export class ImageFormatError extends McuMgrError {
  constructor(message: string) {
    super('IMAGE_ERR_FORMAT', message);
  }
}

/** A transfer finished but what the device holds is not what was sent. */
export class VerifyError extends McuMgrError {
  constructor(message: string) {
    super('SMP_ERR_VERIFY', message);
  }
}

/**
 * Refused before anything was written: the request would make the device boot an image other
 * than the one intended (MCUboot serial recovery's set-state schedules the secondary slot; a swap
 * already scheduled would replace a freshly recovered image).
 */
export class ImageStateError extends McuMgrError {
  constructor(code: 'IMAGE_ERR_HASH_REQUIRED' | 'IMAGE_ERR_SWAP_SCHEDULED' | 'IMAGE_ERR_RECOVERY_IMAGE', message: string) {
    super(code, message);
  }
}

/** The operation was cancelled through its `AbortSignal`. */
export class AbortError extends McuMgrError {
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super('ABORT_ERR', message, options);
  }
}

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

const classes: Record<string, new (...a: any[]) => McuMgrError> = {
  McuMgrError,
  SmpTimeoutError,
  SmpDeviceError,
  SmpFrameError,
  SmpResponseError,
  SmpClosedError,
  TransportError,
  SmpFrameSizeError,
  ImageFormatError,
  VerifyError,
  ImageStateError,
  AbortError,
};

/** Rebuilds an error sent by {@link serializeError} as an instance of the library's class. */
export function deserializeError(data: SerializedError): Error {
  const Cls = classes[data.name];
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
  return err;
}
