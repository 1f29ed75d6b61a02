/**
 * The registry: stations and the devices they reach, kept alive by a heartbeat with a TTL, so
 * that anyone can see which stations and boards are up and a rollout knows where to send a job.
 * @module
 */
import { hostname } from 'node:os';
import type { Fleet } from './db.js';

/** A device a station reaches. */
export interface StationDevice {
  /** The device's id, unique in the fleet (e.g. its serial number or a label on the fixture). */
  id: string;
  /** How the station reaches it, e.g. `serial:/dev/ttyACM0?baud=115200`. */
  connection: string;
}

/** A station as the registry shows it. */
export interface StationInfo {
  name: string;
  /** Its heartbeat is younger than its TTL and it has not stopped. */
  alive: boolean;
  host: string;
  pid: number;
  /** Last heartbeat, ms since the epoch. */
  heartbeatAt: number;
  devices: StationDevice[];
}

/** A device as the registry shows it (once per station that reaches it). */
export interface DeviceInfo extends StationDevice {
  station: string;
  /** The station is alive. */
  alive: boolean;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** Checks a station or device name. */
export function checkName(what: string, v: unknown): string {
  if (typeof v !== 'string' || !NAME_RE.test(v)) {
    throw new RangeError(`${what} must be 1..63 letters, digits, '.', '_' or '-' starting with a letter or digit, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Registers (or re-registers) a station with its devices. The newest instance of a name wins. */
export async function registerStation(fleet: Fleet, name: string, instance: string, ttlMs: number, devices: StationDevice[]): Promise<void> {
  const S = fleet.schema;
  await fleet.tx(async (c) => {
    await c.query(
      `INSERT INTO "${S}".stations (name, instance, host, pid, ttl_ms) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO UPDATE SET instance = EXCLUDED.instance, host = EXCLUDED.host, pid = EXCLUDED.pid, ttl_ms = EXCLUDED.ttl_ms,
                                        started_at = now(), heartbeat_at = now(), stopped = false`,
      [name, instance, hostname(), process.pid, ttlMs],
    );
    await c.query(`DELETE FROM "${S}".devices WHERE station = $1`, [name]);
    for (const d of devices) await c.query(`INSERT INTO "${S}".devices (id, station, connection) VALUES ($1, $2, $3)`, [d.id, name, d.connection]);
  });
}

/**
 * One heartbeat: refreshes the station's and its device locks' lifetimes. Returns false when
 * another instance has taken the name (this one should stop).
 */
export async function heartbeat(fleet: Fleet, name: string, instance: string, ttlMs: number): Promise<boolean> {
  const S = fleet.schema;
  const r = await fleet.query(`UPDATE "${S}".stations SET heartbeat_at = now() WHERE name = $1 AND instance = $2 RETURNING name`, [name, instance]);
  await fleet.query(`UPDATE "${S}".device_locks SET expires_at = now() + $2 * interval '1 millisecond' WHERE instance = $1`, [instance, ttlMs]);
  return r.length > 0;
}

/** Marks a station stopped (not alive) at once, instead of waiting for its TTL. */
export async function unregisterStation(fleet: Fleet, name: string, instance: string): Promise<void> {
  await fleet.query(`UPDATE "${fleet.schema}".stations SET stopped = true WHERE name = $1 AND instance = $2`, [name, instance]);
}

/** Every registered station, alive or not, with its devices. */
export async function listStations(fleet: Fleet): Promise<StationInfo[]> {
  const S = fleet.schema;
  const rows = await fleet.query<{ name: string; alive: boolean; host: string; pid: number; heartbeat_at: Date; devices: StationDevice[] | null }>(
    `SELECT s.name, (s.heartbeat_at > now() - s.ttl_ms * interval '1 millisecond' AND NOT s.stopped) AS alive, s.host, s.pid, s.heartbeat_at,
            (SELECT json_agg(json_build_object('id', d.id, 'connection', d.connection) ORDER BY d.id) FROM "${S}".devices d WHERE d.station = s.name) AS devices
       FROM "${S}".stations s ORDER BY s.name`,
  );
  return rows.map((r) => ({ name: r.name, alive: r.alive, host: r.host, pid: r.pid, heartbeatAt: r.heartbeat_at.getTime(), devices: r.devices ?? [] }));
}

/** Every registered device, once per station that reaches it. */
export async function listDevices(fleet: Fleet): Promise<DeviceInfo[]> {
  return (await listStations(fleet)).flatMap((s) => s.devices.map((d) => ({ ...d, station: s.name, alive: s.alive })));
}
