/**
 * One process's handle on the fleet database: a `pg` pool for the fleet's own tables, a pg-boss
 * instance for the job queue (in a schema of its own beside them), transactions that span both
 * (pg-boss writes its jobs through the transaction's connection), and a retry helper that rides
 * out a database restart.
 * @module
 */
import type PgBossType from 'pg-boss';
import type { Pool, PoolClient } from 'pg';
import { loadPg, loadPgBoss } from './deps.js';
import { fleetDdl } from './schema.js';

/** Options of {@link openFleet}. */
export interface FleetOptions {
  /** PostgreSQL URL, e.g. `postgres://user:pw@host:5432/db` (`mcumgr fleet up` prints one). */
  url: string;
  /**
   * Schema of the fleet's tables (letters, digits, `_`; default `mcumgr_fleet`). pg-boss uses
   * `<schema>_boss`. Several fleets can share one database under different schemas.
   */
  schema?: string;
  /** How often an idle station asks for jobs, seconds (pg-boss polling; minimum 0.5). Default 0.5. */
  pollingIntervalSeconds?: number;
  /** How often pg-boss expires leases of dead stations and retries their jobs, seconds. Default 10. */
  maintenanceIntervalSeconds?: number;
  /** Run pg-boss maintenance (lease expiry) in this process. Default true. */
  supervise?: boolean;
}

/** A transaction's connection, as pg-boss accepts it for `send`/`cancel`/`complete` (`{ db }`). */
export interface TxDb {
  executeSql(text: string, values: unknown[]): Promise<{ rows: any[] }>;
}

/** An open fleet database. Close it with {@link Fleet.close}. */
export interface Fleet {
  readonly url: string;
  /** Schema of the fleet's tables (already validated: safe to put in SQL). */
  readonly schema: string;
  readonly pool: Pool;
  readonly boss: PgBossType;
  /** Polling interval of stations, seconds. */
  readonly pollingIntervalSeconds: number;
  /** Runs one statement on the pool. */
  query<R = any>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Runs `fn` in a transaction; `db` lets pg-boss calls join it. */
  tx<T>(fn: (c: PoolClient, db: TxDb) => Promise<T>): Promise<T>;
  /** Makes sure a station's queue exists and returns its name. */
  stationQueue(station: string): Promise<string>;
  /** Stops pg-boss and closes the pool. */
  close(): Promise<void>;
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,40}$/;
/** Codes of errors that mean "the database is not reachable right now", worth waiting out. */
const TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004', '40001', '40P01']);

/** True when `e` says the database is down or restarting (or a serialisation conflict), not that the statement is wrong. */
export function isTransient(e: unknown): boolean {
  const err = e as { code?: string; message?: string } | undefined;
  if (!err) return false;
  if (err.code && TRANSIENT.has(err.code)) return true;
  return /Connection terminated|connection.*(closed|ended)|Client has encountered a connection error|terminating connection|the database system is (starting|shutting)/i.test(err.message ?? '');
}

/**
 * Runs `fn` until it succeeds, waiting out a database that is down or restarting (up to
 * `maxMs`, default 120 s); any other error is thrown at once.
 */
export async function persist<T>(fn: () => Promise<T>, maxMs = 120_000, signal?: AbortSignal): Promise<T> {
  const until = Date.now() + maxMs;
  for (let pause = 100; ; pause = Math.min(pause * 2, 2000)) {
    try {
      return await fn();
    } catch (e) {
      if (!isTransient(e) || Date.now() + pause > until || signal?.aborted) throw e;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

/**
 * Connects to the fleet database, creating the fleet's tables and pg-boss's schema when they are
 * missing. Needs the optional packages `pg` and `pg-boss`.
 *
 * @example
 * ```ts
 * const fleet = await openFleet({ url: 'postgres://postgres:pw@localhost:5432/postgres' });
 * console.log(await listDevices(fleet));
 * await fleet.close();
 * ```
 */
export async function openFleet(options: FleetOptions): Promise<Fleet> {
  if (options === null || typeof options !== 'object') throw new TypeError('openFleet needs options { url }');
  const url = options.url;
  if (typeof url !== 'string' || !/^postgres(ql)?:\/\//.test(url)) {
    throw new TypeError(`url must be a PostgreSQL URL like postgres://user:password@host:5432/db, got ${JSON.stringify(url)}; "mcumgr fleet up" starts one and prints it`);
  }
  const schema = options.schema ?? 'mcumgr_fleet';
  if (typeof schema !== 'string' || !SCHEMA_RE.test(schema)) {
    throw new RangeError(`schema must be lower-case letters, digits and _ (at most 41), got ${JSON.stringify(schema)}`);
  }
  const polling = options.pollingIntervalSeconds ?? 0.5;
  if (typeof polling !== 'number' || !(polling >= 0.5 && polling <= 60)) throw new RangeError(`pollingIntervalSeconds must be 0.5..60, got ${String(polling)}`);
  const maintenance = options.maintenanceIntervalSeconds ?? 10;
  if (typeof maintenance !== 'number' || !(maintenance >= 1 && maintenance <= 3600)) throw new RangeError(`maintenanceIntervalSeconds must be 1..3600, got ${String(maintenance)}`);

  const pg = await loadPg();
  const PgBoss = await loadPgBoss();
  const pool = new pg.Pool({ connectionString: url, max: 6, connectionTimeoutMillis: 5000 });
  pool.on('error', () => {
    /* an idle connection died (database restart): the pool replaces it on the next checkout */
  });
  const query = async <R>(sql: string, params: unknown[] = []): Promise<R[]> => (await pool.query(sql, params)).rows as R[];
  const tx = async <T>(fn: (c: PoolClient, db: TxDb) => Promise<T>): Promise<T> => {
    const c = await pool.connect();
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      const db: TxDb = { executeSql: (text, values) => c.query(text, values as unknown[]) };
      const out = await fn(c, db);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch((r: Error) => (broken = r));
      throw e;
    } finally {
      c.release(broken);
    }
  };

  try {
    await persist(() =>
      tx(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`mcumgr-fleet:${schema}`]);
        await c.query(fleetDdl(`"${schema}"`));
      }),
    );
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }

  const boss = new PgBoss({
    connectionString: url,
    schema: `${schema}_boss`,
    max: 4,
    supervise: options.supervise ?? true,
    schedule: false,
    maintenanceIntervalSeconds: maintenance,
  });
  boss.on('error', () => {
    /* pg-boss reports failed polls and maintenance here while the database restarts; it retries by itself */
  });
  try {
    await persist(() => boss.start());
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
  const queues = new Set<string>();
  return {
    url,
    schema,
    pool,
    boss,
    pollingIntervalSeconds: polling,
    query,
    tx,
    async stationQueue(station) {
      const name = `fleet_station_${station.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      if (queues.has(name)) return name;
      await persist(async () => {
        if (!(await boss.getQueue(name))) {
          try {
            await boss.createQueue(name, { name, retryLimit: 20, retryDelay: 1 });
          } catch (e) {
            if (!(await boss.getQueue(name))) throw e; // created by another process meanwhile is fine
          }
        }
      });
      queues.add(name);
      return name;
    },
    async close() {
      await boss.stop({ graceful: false, wait: true, close: true }).catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  };
}
