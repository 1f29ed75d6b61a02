/**
 * Workflows: procedures of several steps over the transfers and the groups (the one-call
 * firmware update), and the event stream of a running transfer or update. They only call down.
 * @module
 */
export { trackTransfer, type TransferEvent, type TransferEventStream, type TransferHooks } from './events.js';
export {
  firmwareUpdate,
  type FirmwareUpdateOptions,
  type FirmwareUpdateResult,
  type FirmwareUpdateTarget,
  type SlotStateLike,
  type UpdateStep,
} from './firmware-update.js';
export { checkImageFits, slotLimit, type SlotFit, type SlotInfoSource } from './slot-fit.js';
