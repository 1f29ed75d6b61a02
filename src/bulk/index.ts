/**
 * Bulk imaging: many devices flashed at once on a worker-thread pool ({@link bulkFlash}), with
 * per-device progress and results.
 * @example
 * ```ts
 * import { bulkFlash } from 'mcumgr-toolkit';
 * const report = await bulkFlash(['serial:/dev/ttyACM0', 'serial:/dev/ttyACM1'], 'app.signed.bin', { deadlineMs: 600_000 });
 * if (!report.ok) process.exitCode = 1;
 * ```
 * @module
 */
export { bulkFlash, workerSpec } from './pool.js';
export { ProgressThrottle, BulkProgressTally, type BulkTotals } from './progress.js';
export type {
  BulkCommand,
  BulkDeviceOptions,
  BulkDeviceResult,
  BulkJob,
  BulkOptions,
  BulkProgressEvent,
  BulkProgressFigures,
  BulkReport,
  BulkStep,
  BulkTarget,
} from './types.js';
export { bulkReportJson, bulkReportCsv, bulkReportJunit, bulkDeviceJson, bulkErrorOf } from './report.js';
