/**
 * The BLE transport's own failure: no usable Bluetooth stack on this host.
 * @module
 */
import { McuMgrError } from '../../errors.js';

/**
 * The Bluetooth stack cannot start: `@abandonware/noble` is not installed, this kernel has no
 * Bluetooth sockets (`EAFNOSUPPORT`), the process lacks the capabilities noble needs
 * (`EPERM`: `unauthorized`), or the adapter is off or missing. The message says which and how to
 * fix it. Code `BLE_ERR_UNAVAILABLE`.
 */
export class BleUnavailableError extends McuMgrError {
  /** What went wrong: `not-installed`, `no-bluetooth`, `unauthorized`, `powered-off`, `unsupported`. */
  readonly reason: string;
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super('BLE_ERR_UNAVAILABLE', message, options);
    this.reason = reason;
  }
}
