/**
 * A bulk run's results as files people import elsewhere: JSON (plain data), CSV (one line per
 * device, for a spreadsheet or an MES) and JUnit XML (one test case per device, which CI servers
 * and test managers read). These cover {@link BulkReport}s only; a fleet rollout has reports of its
 * own.
 * @module
 */
import { serializeError } from '../errors.js';
import type { BulkDeviceResult, BulkReport } from './types.js';

/** The stable code and message of a device's failure, or undefined when it succeeded. */
export function bulkErrorOf(d: Pick<BulkDeviceResult, 'error'>): { name: string; code: string; message: string } | undefined {
  if (!d.error) return undefined;
  const s = serializeError(d.error);
  return { name: s.name, code: typeof s.code === 'string' ? s.code : 'ERR_UNKNOWN', message: s.message };
}

/** One device's result as plain JSON data (the error reduced to name, code and message). */
export function bulkDeviceJson(d: BulkDeviceResult): Record<string, unknown> {
  const { error: _e, ...rest } = d;
  const error = bulkErrorOf(d);
  return error ? { ...rest, error } : rest;
}

/**
 * The report as one JSON document: `{ ok, seconds, stopped, image, totals, devices }`.
 * @example
 * ```ts
 * await writeFile('run.json', bulkReportJson(await bulkFlash(targets, image)));
 * ```
 */
export function bulkReportJson(report: BulkReport): string {
  const failed = report.devices.filter((d) => !d.ok).length;
  return JSON.stringify(
    {
      ok: report.ok,
      seconds: report.seconds,
      stopped: report.stopped ?? null,
      image: report.image ?? null,
      totals: { devices: report.devices.length, succeeded: report.devices.length - failed, failed },
      devices: report.devices.map(bulkDeviceJson),
    },
    null,
    2,
  );
}

const CSV_COLUMNS = ['index', 'name', 'target', 'ok', 'step', 'bytes', 'seconds', 'throughput_Bps', 'attempts', 'already_installed', 'verified', 'window', 'rewinds', 'timeouts', 'error_code', 'error_message'] as const;

/** A CSV cell: quoted when it holds a comma, quote or line break; a leading `=+-@` is defused so a spreadsheet does not run it as a formula. */
function csvCell(v: string | number | boolean): string {
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s) && typeof v === 'string') s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The report as CSV (RFC 4180, CRLF line ends), one line per device after a header line. */
export function bulkReportCsv(report: BulkReport): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const d of report.devices) {
    const e = bulkErrorOf(d);
    const row = [d.index, d.name, d.target, d.ok, d.step, d.bytes, d.seconds.toFixed(3), Math.round(d.throughput), d.attempts, d.alreadyInstalled, d.verified, d.window, d.rewinds, d.timeouts, e?.code ?? '', e?.message ?? ''];
    lines.push(row.map(csvCell).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

/** Text for an XML attribute or element. */
export function xmlText(s: string): string {
  // Characters XML 1.0 cannot hold at all are dropped; the five specials are escaped.
  return s.replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '').replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The report as JUnit XML: one `<testsuite>` for the run, one `<testcase>` per device (its name,
 * the target as `classname`, its time); a failed device has a `<failure>` with the error code as
 * `type` and the message.
 * @param suite name of the test suite. Default `bulk flash`.
 */
export function bulkReportJunit(report: BulkReport, suite = 'bulk flash'): string {
  const failures = report.devices.filter((d) => !d.ok).length;
  const cases = report.devices.map((d) => {
    const head = `    <testcase name="${xmlText(d.name)}" classname="${xmlText(d.target)}" time="${d.seconds.toFixed(3)}"`;
    if (d.ok) return `${head}/>`;
    const e = bulkErrorOf(d) ?? { code: 'FAILED', message: `failed at ${d.step}` };
    return `${head}>\n      <failure type="${xmlText(e.code)}" message="${xmlText(e.message)}">${xmlText(`step ${d.step}, ${d.bytes} bytes, ${d.attempts} attempt(s): ${e.message}`)}</failure>\n    </testcase>`;
  });
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="${xmlText(suite)}" tests="${report.devices.length}" failures="${failures}" errors="0" time="${report.seconds.toFixed(3)}">\n` +
    `  <testsuite name="${xmlText(suite)}" tests="${report.devices.length}" failures="${failures}" errors="0" skipped="0" time="${report.seconds.toFixed(3)}">\n` +
    cases.join('\n') +
    (cases.length ? '\n' : '') +
    `  </testsuite>\n</testsuites>\n`
  );
}
