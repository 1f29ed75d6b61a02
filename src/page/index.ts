/**
 * The station page: a small HTTP server that shows runs live in a browser (one row per device,
 * progress, failures and why, totals, rollout groups) by server-sent events, with report downloads
 * and token-guarded controls. Sources are turned into {@link PageEvent}s by adapters: bulk runs
 * ({@link pageBulkRun}), tracked transfers ({@link followTransfer}), fleet rollouts
 * ({@link pageRollout}) and station agents ({@link pageStation}) here; anything else maps its
 * events onto {@link PageEvent} the same way.
 * @module
 */
export { servePage, parseServeAddress, type PageServer, type PageReports, type ServePageOptions } from './server.js';
export {
  RunState,
  totalsOf,
  MAX_PAGE_DEVICES,
  type PageDevice,
  type PageDeviceState,
  type PageError,
  type PageEvent,
  type PageGroup,
  type PageRun,
  type PageRunStatus,
  type PageSnapshot,
  type PageTotals,
  type PageUpdate,
} from './model.js';
export { pageBulkRun, bulkProgressToPage, bulkResultToPage, pageErrorOf, type PageBulkRun } from './bulk-adapter.js';
export { followTransfer, transferToPage } from './transfer-adapter.js';
export { pageRollout, rolloutRunStatus, groupRunStatus, type PageRollout, type RolloutControls } from './rollout-adapter.js';
export { pageStation, STATION_PAGE_RESULTS, type PageStation } from './station-adapter.js';
