/**
 * Reports of a rollout or of a bulk run: JSON, CSV, and JUnit XML (CI servers and manufacturing
 * execution systems import JUnit). Pure formatting: nothing here touches the database.
 * @module
 */
import type { BulkReport } from '../bulk/index.js';
import type { RolloutStatus } from './status.js';

/** A report's file format. */
export type ReportFormat = 'json' | 'csv' | 'junit';

/** One device's line of a report. */
export interface ReportRow {
  device: string;
  /** Deployment group (rollouts), else 0. */
  group: number;
  /** Station that drove it (rollouts), else empty. */
  station: string;
  /** `ok`, `failed`, `cancelled`, or a state not ended yet (`pending`, `queued`, `running`). */
  status: string;
  alreadyInstalled: boolean;
  verified: boolean;
  bytes: number;
  seconds: number;
  /** Times a station took its job (1 for a bulk run). */
  deliveries: number;
  errorCode: string;
  errorMessage: string;
}

/** The rows of a rollout's report. */
export function rolloutReport(s: RolloutStatus): { title: string; rows: ReportRow[] } {
  return {
    title: `rollout ${s.id} (${s.name}, image ${s.imageVersion}, ${s.state})`,
    rows: s.devices.map((d) => ({
      device: d.device,
      group: d.group,
      station: d.station ?? '',
      status: d.status,
      alreadyInstalled: d.alreadyInstalled,
      verified: d.verified,
      bytes: d.bytes,
      seconds: d.seconds,
      deliveries: d.deliveries,
      errorCode: d.errorCode ?? '',
      errorMessage: d.errorMessage ?? '',
    })),
  };
}

/** The rows of a `bulkFlash` report. */
export function bulkReportRows(r: BulkReport): { title: string; rows: ReportRow[] } {
  return {
    title: `bulk flash${r.image ? ` of image ${r.image.version}` : ''}`,
    rows: r.devices.map((d) => ({
      device: d.name,
      group: 0,
      station: '',
      status: d.ok ? 'ok' : 'failed',
      alreadyInstalled: d.alreadyInstalled,
      verified: d.verified,
      bytes: d.bytes,
      seconds: Math.round(d.seconds * 1000) / 1000,
      deliveries: 1,
      errorCode: d.error ? ((d.error as { code?: string }).code ?? d.error.name) : '',
      errorMessage: d.error?.message ?? '',
    })),
  };
}

const COLUMNS: Array<keyof ReportRow> = ['device', 'group', 'station', 'status', 'alreadyInstalled', 'verified', 'bytes', 'seconds', 'deliveries', 'errorCode', 'errorMessage'];

function csvField(v: unknown): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function xml(s: string): string {
  // XML 1.0 cannot carry most control characters, even escaped: drop them.
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * A report as text in `format`: JSON (`{title, ok, devices}`), CSV (a header line, one line per
 * device), or JUnit XML (one test case per device, classname `group-N`; failed devices carry a
 * `<failure>` with the error code as type, cancelled ones `<skipped>`).
 */
export function formatReport(report: { title: string; rows: ReportRow[] }, format: ReportFormat): string {
  const { title, rows } = report;
  if (format === 'json') return `${JSON.stringify({ title, ok: rows.every((r) => r.status === 'ok'), devices: rows }, null, 2)}\n`;
  if (format === 'csv') return `${[COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((c) => csvField(r[c])).join(','))].join('\n')}\n`;
  if (format !== 'junit') throw new RangeError(`format must be json, csv or junit, got ${JSON.stringify(format)}`);
  const failures = rows.filter((r) => r.status === 'failed').length;
  const skipped = rows.filter((r) => r.status !== 'ok' && r.status !== 'failed').length;
  const time = rows.reduce((a, r) => a + r.seconds, 0);
  const cases = rows.map((r) => {
    const head = `    <testcase classname="group-${r.group}" name="${xml(r.device)}" time="${r.seconds.toFixed(3)}">`;
    const props = `<system-out>${xml(`station=${r.station} bytes=${r.bytes} verified=${r.verified} alreadyInstalled=${r.alreadyInstalled} deliveries=${r.deliveries}`)}</system-out>`;
    if (r.status === 'ok') return `${head}${props}</testcase>`;
    if (r.status === 'failed') return `${head}<failure type="${xml(r.errorCode)}" message="${xml(r.errorMessage)}">${xml(r.errorMessage)}</failure>${props}</testcase>`;
    return `${head}<skipped message="${xml(r.errorMessage || r.status)}"/>${props}</testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(title)}" tests="${rows.length}" failures="${failures}" skipped="${skipped}" time="${time.toFixed(3)}">`,
    `  <testsuite name="${xml(title)}" tests="${rows.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/** The format a file name asks for: `.csv`, `.xml` (JUnit), else JSON. */
export function formatOfFile(file: string): ReportFormat {
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.xml$/i.test(file)) return 'junit';
  return 'json';
}
