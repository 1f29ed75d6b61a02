/**
 * The fleet's own tables, beside pg-boss's queue tables: stations and the devices they reach (a
 * heartbeat registry), content-addressed images, rollouts with their groups and per-device
 * results, device locks, and the event stream. Created on first connect, under an advisory lock
 * so that several stations starting at once do not race.
 * @module
 */

/** The DDL of one fleet schema. `S` is the quoted schema name. */
export function fleetDdl(S: string): string {
  return `
CREATE SCHEMA IF NOT EXISTS ${S};
CREATE TABLE IF NOT EXISTS ${S}.stations (
  name text PRIMARY KEY,
  instance text NOT NULL,
  host text NOT NULL,
  pid int NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  ttl_ms int NOT NULL,
  stopped boolean NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS ${S}.devices (
  id text NOT NULL,
  station text NOT NULL REFERENCES ${S}.stations(name) ON DELETE CASCADE,
  connection text NOT NULL,
  seen_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, station)
);
CREATE TABLE IF NOT EXISTS ${S}.images (
  sha256 text PRIMARY KEY,
  size int NOT NULL,
  version text NOT NULL,
  image_hash text NOT NULL,
  bytes bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ${S}.rollouts (
  id text PRIMARY KEY,
  name text NOT NULL,
  image_sha text NOT NULL REFERENCES ${S}.images(sha256),
  state text NOT NULL,
  reason text,
  mode text NOT NULL,
  success_threshold double precision NOT NULL,
  error_threshold double precision NOT NULL,
  group_count int NOT NULL,
  deadline_at timestamptz,
  lease_s int NOT NULL,
  options jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ${S}.rollout_groups (
  rollout_id text NOT NULL REFERENCES ${S}.rollouts(id) ON DELETE CASCADE,
  group_no int NOT NULL,
  state text NOT NULL DEFAULT 'pending',
  started_at timestamptz,
  finished_at timestamptz,
  PRIMARY KEY (rollout_id, group_no)
);
CREATE TABLE IF NOT EXISTS ${S}.rollout_devices (
  rollout_id text NOT NULL REFERENCES ${S}.rollouts(id) ON DELETE CASCADE,
  device_id text NOT NULL,
  group_no int NOT NULL,
  station text,
  status text NOT NULL DEFAULT 'pending',
  job_id text,
  instance text,
  deliveries int NOT NULL DEFAULT 0,
  result jsonb,
  error_code text,
  error_message text,
  queued_at timestamptz,
  started_at timestamptz,
  first_byte_ms double precision,
  queued_ms double precision,
  finished_at timestamptz,
  PRIMARY KEY (rollout_id, device_id)
);
CREATE INDEX IF NOT EXISTS rollout_devices_station ON ${S}.rollout_devices (station, status);
CREATE TABLE IF NOT EXISTS ${S}.device_locks (
  device_id text PRIMARY KEY,
  rollout_id text NOT NULL,
  station text NOT NULL,
  instance text NOT NULL,
  job_id text NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS ${S}.events (
  seq bigserial PRIMARY KEY,
  rollout_id text NOT NULL,
  body jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS events_rollout ON ${S}.events (rollout_id, seq);
`;
}
