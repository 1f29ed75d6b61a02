/**
 * The `diagnostics_channel` event of transfers: progress of every upload and download, the same
 * figures `onProgress` gets, for tracing without passing a callback through every layer. Nothing
 * is built or published while the channel has no subscriber.
 *
 * @example
 * ```ts
 * import diagnostics_channel from 'node:diagnostics_channel';
 * import { TRANSFER_CHANNELS, type TransferProgressEvent } from 'mcumgr-toolkit';
 *
 * diagnostics_channel.subscribe(TRANSFER_CHANNELS.progress, (m) => {
 *   const e = m as TransferProgressEvent;
 *   console.log(`transfer ${e.transfer} ${e.direction}: ${e.done}/${e.total}`);
 * });
 * ```
 * @module
 */
import diagnostics_channel from 'node:diagnostics_channel';
import type { TransferProgress } from './types.js';

/** The names of the transfer channels; stable across versions. */
export const TRANSFER_CHANNELS = {
  /** A transfer's confirmed bytes moved: {@link TransferProgressEvent}. */
  progress: 'mcumgr:transfer:progress',
} as const;

/** Published on `mcumgr:transfer:progress`. */
export interface TransferProgressEvent extends TransferProgress {
  /** Numbers the transfers of this copy of the package, from 1; the same for all events of one transfer. */
  transfer: number;
  direction: 'upload' | 'download';
}

const progressChannel = diagnostics_channel.channel(TRANSFER_CHANNELS.progress);
let lastTransfer = 0;

/** @internal A number for a new transfer's events. */
export function nextTransferId(): number {
  return ++lastTransfer;
}

/** @internal True when someone listens to transfer progress (callers skip building the figures otherwise). */
export function progressObserved(): boolean {
  return progressChannel.hasSubscribers;
}

/** @internal Publishes a progress event (when subscribed). */
export function publishTransferProgress(transfer: number, direction: 'upload' | 'download', p: TransferProgress): void {
  if (!progressChannel.hasSubscribers) return;
  progressChannel.publish({ ...p, transfer, direction } satisfies TransferProgressEvent);
}
