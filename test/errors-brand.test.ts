/**
 * Error classes across two copies of the package in one process (as with ESM and `require()`, or
 * dist and tsx sources in workers): `instanceof` follows the `Symbol.for` brand, not the copy. The
 * second copy is the same module loaded again under another URL (a query string), so its classes
 * are distinct objects. Also: every class's code belongs to the one closed list of codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as A from '../src/errors.js';

const copyUrl = '../src/errors.js?second-copy';
const B = (await import(copyUrl)) as typeof A;

/** One instance of every class, made by copy `m`. */
function samples(m: typeof A): Array<[string, A.McuMgrError]> {
  return [
    ['McuMgrError', new m.McuMgrError('SOURCE_ERR_CHANGED', 'x')],
    ['SmpTimeoutError', new m.SmpTimeoutError('x', 5)],
    ['SmpDeviceError', new m.SmpDeviceError({ group: 1, command: 2, rc: 3, style: 'rc', rcName: 'MGMT_ERR_ENOMEM' })],
    ['SmpDeviceError', new m.SmpDeviceError({ group: 1, command: 2, rc: 3, style: 'err', rcName: 'IMG_MGMT_ERR_X' })],
    ['SmpFrameError', new m.SmpFrameError('x')],
    ['SmpResponseError', new m.SmpResponseError('x')],
    ['SmpClosedError', new m.SmpClosedError()],
    ['TransportError', new m.TransportError('x')],
    ['SmpFrameSizeError', new m.SmpFrameSizeError('x')],
    ['ImageFormatError', new m.ImageFormatError('x')],
    ['VerifyError', new m.VerifyError('x')],
    ['ImageStateError', new m.ImageStateError('IMAGE_ERR_SWAP_SCHEDULED', 'x')],
    ['AbortError', new m.AbortError()],
  ];
}

const CLASSES = [
  'SmpTimeoutError',
  'SmpDeviceError',
  'SmpFrameError',
  'SmpResponseError',
  'SmpClosedError',
  'TransportError',
  'SmpFrameSizeError',
  'ImageFormatError',
  'VerifyError',
  'ImageStateError',
  'AbortError',
] as const;

test('the second copy really is another copy', () => {
  assert.notEqual(A.SmpTimeoutError, B.SmpTimeoutError);
  assert.equal(Object.getPrototypeOf(new B.SmpTimeoutError('x', 1)) === A.SmpTimeoutError.prototype, false);
});

test('instanceof holds across copies for exactly the right class', () => {
  for (const [made, copy, other] of [
    ['B', B, A],
    ['A', A, B],
  ] as const) {
    for (const [name, err] of samples(copy)) {
      assert.ok(err instanceof other.McuMgrError, `${made}.${name} instanceof McuMgrError of the other copy`);
      assert.ok(err instanceof Error);
      for (const cls of CLASSES) {
        assert.equal(err instanceof other[cls], cls === name, `${made}.${name} instanceof other ${cls}`);
      }
    }
  }
});

test('the brand is Symbol.for("mcumgr-toolkit.error.<CODE>"), not enumerable, and survives serialization', () => {
  const err = new B.SmpTimeoutError('late', 9);
  assert.equal(A.errorBrand('SMP_ERR_TIMEOUT'), Symbol.for('mcumgr-toolkit.error.SMP_ERR_TIMEOUT'));
  assert.equal((err as unknown as Record<symbol, unknown>)[Symbol.for('mcumgr-toolkit.error.SMP_ERR_TIMEOUT')], true);
  assert.ok(!Object.keys(err).some((k) => k.includes('mcumgr-toolkit')));
  // A plain object with a code but no brand is not an instance.
  assert.equal({ code: 'SMP_ERR_TIMEOUT', message: 'x' } instanceof A.SmpTimeoutError, false);
  assert.equal((null as unknown as object) instanceof A.McuMgrError, false);
  // Across a worker boundary: serialized by one copy, rebuilt by the other.
  const back = A.deserializeError(B.serializeError(err));
  assert.ok(back instanceof A.SmpTimeoutError && back instanceof B.SmpTimeoutError);
  assert.equal((back as A.SmpTimeoutError).timeoutMs, 9);
});

test('a subclass defined outside the package checks its prototype chain only', () => {
  class StationTimeout extends A.SmpTimeoutError {}
  const mine = new StationTimeout('x', 1);
  assert.ok(mine instanceof A.SmpTimeoutError && mine instanceof B.SmpTimeoutError && mine instanceof StationTimeout);
  assert.equal(new B.SmpTimeoutError('x', 1) instanceof StationTimeout, false);
  assert.equal(new A.SmpTimeoutError('x', 1) instanceof StationTimeout, false);
});

test('every code is one of the closed list, and the list has no duplicates', () => {
  const codes = new Set<string>(A.MCUMGR_ERROR_CODES);
  assert.equal(codes.size, A.MCUMGR_ERROR_CODES.length);
  for (const [name, err] of samples(A)) assert.ok(codes.has(err.code), `${name}: ${err.code}`);
  // The type side: a code outside the union does not compile.
  // @ts-expect-error 'NOT_A_CODE' is not a McumgrErrorCode
  const bad = (): A.McuMgrError => new A.McuMgrError('NOT_A_CODE', 'x');
  assert.equal(typeof bad, 'function');
  const code: A.McumgrErrorCode = new A.VerifyError('x').code;
  assert.equal(code, 'SMP_ERR_VERIFY');
});
