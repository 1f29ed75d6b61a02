/**
 * The session's checks: an answer's `rc`/`err` as a typed error, an abort's reason, and the
 * version and timeout arguments.
 * @module
 */
import type { CborMap } from './codec/cbor.js';
import { AbortError, SmpDeviceError } from './errors.js';
import { groupErrName, mgmtErrName } from './protocol/error-names.js';
import type { SmpResponse, SmpVersion } from './session.js';

/**
 * Turns an error answer into a {@link SmpDeviceError}: `rc` ≠ 0 (SMP v1 style, and SMP-level
 * errors in v2), or an `err` map (SMP v2 group error).
 */
export function throwIfDeviceError(rsp: SmpResponse, group: number, command: number): void {
  const b = rsp.body;
  const reason = typeof b.rsn === 'string' ? b.rsn : undefined;
  const err = b.err;
  if (err !== undefined && err !== null && typeof err === 'object' && !Array.isArray(err)) {
    const e = err as CborMap;
    const g = typeof e.group === 'number' ? e.group : group;
    const rc = typeof e.rc === 'number' ? e.rc : 1;
    if (rc !== 0) {
      throw new SmpDeviceError({ group, command, rc, style: 'err', errGroup: g, rcName: groupErrName(g, rc), reason });
    }
  }
  if (typeof b.rc === 'number' && b.rc !== 0) {
    throw new SmpDeviceError({ group, command, rc: b.rc, style: 'rc', rcName: mgmtErrName(b.rc), reason });
  }
}

export function abortErrorFrom(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof AbortError) return r;
  return new AbortError('the request was aborted', { cause: r });
}

export function checkVersion(v: number): SmpVersion {
  if (v !== 0 && v !== 1) throw new RangeError(`version must be 0 (SMP v1) or 1 (SMP v2), got ${v}`);
  return v;
}

export function checkTimeout(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0 || v > 2 ** 31 - 1) throw new RangeError(`${name} must be a positive number of ms, got ${v}`);
  return v;
}
