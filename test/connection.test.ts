/** Connection-string parsing and formatting. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConnection, formatConnection, type Connection } from '../src/connection.js';

const ok: Array<[string, Connection]> = [
  ['serial:/dev/ttyACM0', { kind: 'serial', path: '/dev/ttyACM0', client: {} }],
  [
    'serial:/dev/ttyACM0?baud=115200&encoding=console',
    { kind: 'serial', path: '/dev/ttyACM0', baudRate: 115200, encoding: 'console', client: {} },
  ],
  ['serial:COM3?encoding=cobs', { kind: 'serial', path: 'COM3', encoding: 'cobs', client: {} }],
  ['serial:///dev/ttyUSB1', { kind: 'serial', path: '/dev/ttyUSB1', client: {} }],
  [
    'serial:/dev/pts/4?timeout=2000&frameSize=1024&smp=1&retries=2',
    { kind: 'serial', path: '/dev/pts/4', client: { timeoutMs: 2000, frameSize: 1024, version: 0, retries: 2 } },
  ],
  ['usb:2fe3:0004', { kind: 'usb', id: '2fe3:0004', vid: '2fe3', pid: '0004', client: {} }],
  [
    'usb:2FE3:0004:ABC123?baud=1000000',
    { kind: 'usb', id: '2fe3:0004:ABC123', vid: '2fe3', pid: '0004', serialNumber: 'ABC123', baudRate: 1000000, client: {} },
  ],
  ['usb:0x2fe3:4', { kind: 'usb', id: '2fe3:0004', vid: '2fe3', pid: '0004', client: {} }],
  ['udp:192.0.2.1:1337', { kind: 'udp', host: '192.0.2.1', port: 1337, client: {} }],
  ['udp:192.0.2.1', { kind: 'udp', host: '192.0.2.1', port: 1337, client: {} }],
  ['udp://device.local:9000?mtu=1280', { kind: 'udp', host: 'device.local', port: 9000, mtu: 1280, client: {} }],
  ['udp:[2001:db8::1]:1337', { kind: 'udp', host: '2001:db8::1', port: 1337, client: {} }],
  ['udp:[::1]', { kind: 'udp', host: '::1', port: 1337, client: {} }],
  ['udp:[fe80::1%eth0]:1337', { kind: 'udp', host: 'fe80::1%eth0', port: 1337, client: {} }],
  ['UDP:10.0.0.1:5?smp=2', { kind: 'udp', host: '10.0.0.1', port: 5, client: { version: 1 } }],
];

for (const [text, want] of ok) {
  test(`parses ${text}`, () => {
    assert.deepEqual(parseConnection(text), want);
  });
}

const bad: Array<[string, RegExp]> = [
  ['/dev/ttyACM0', /no scheme/],
  ['tcp:1.2.3.4', /unknown scheme "tcp".*serial:, usb:, udp: or ble:/],
  ['serial:', /serial port path is missing/],
  ['serial:/dev/ttyACM0?baud=fast', /baud=fast is not a whole number/],
  ['serial:/dev/ttyACM0?encoding=hex', /encoding=hex is not known.*console/],
  ['serial:/dev/ttyACM0?speed=9600', /unknown parameter "speed"/],
  ['serial:/dev/ttyACM0?baud', /parameter "baud" has no value/],
  ['serial:/dev/ttyACM0?baud=1&baud=2', /given twice/],
  ['serial:/dev/ttyACM0?smp=3', /smp=3 is not 1 or 2/],
  ['serial:/dev/ttyACM0?frameSize=10', /frameSize=10/],
  ['usb:2fe3', /"2fe3" is not a USB id.*VID:PID/],
  ['usb:zzzz:0004', /not a USB id/],
  ['udp:', /host is missing/],
  ['udp:1.2.3.4:99999', /port "99999"/],
  ['udp:1.2.3.4:http', /port "http"/],
  ['udp:2001:db8::1', /several ":".*brackets/],
  ['udp:[2001:db8::1', /no closing "\]"/],
  ['udp:[2001:db8::1]x', /unexpected "x"/],
  ['udp:[host]:1', /not an IPv6 address/],
  ['udp:1.2.3.4?baud=9600', /unknown parameter "baud"/],
  ['udp:bad host:1', /not a valid host/],
];

for (const [text, re] of bad) {
  test(`rejects ${text}`, () => {
    assert.throws(
      () => parseConnection(text),
      (e: unknown) => e instanceof RangeError && re.test(e.message) && e.message.includes(JSON.stringify(text)),
    );
  });
}

test('rejects a non-string', () => {
  assert.throws(() => parseConnection(5 as unknown as string), TypeError);
});

test('formatConnection round-trips', () => {
  for (const [text] of ok) {
    const c = parseConnection(text);
    assert.deepEqual(parseConnection(formatConnection(c)), c, text);
  }
  assert.equal(formatConnection(parseConnection('udp:[::1]')), 'udp:[::1]:1337');
  assert.equal(formatConnection(parseConnection('serial:/dev/ttyACM0?encoding=raw&baud=9600')), 'serial:/dev/ttyACM0?baud=9600&encoding=raw');
});
