/**
 * Port listing from a fake sysfs tree (the layout of a CDC ACM port, a usb-serial adapter, an 8250
 * UART, a placeholder 8250 and a virtual terminal), USB selectors, and picking a port by selector.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, symlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, dirname } from 'node:path';
import { findUsbPort, listSerialPorts, listSysfsPorts, matchesUsbSelector, parseUsbSelector } from '../src/transport/list-ports.js';

let root = '';

async function attrs(dir: string, values: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [k, v] of Object.entries(values)) await writeFile(join(dir, k), `${v}\n`);
}

/** /sys/class/tty/NAME → the tty's directory under devices/, with `device` → `deviceDir`. */
async function tty(name: string, ttyDir: string, deviceDir: string | undefined, extra: Record<string, string> = {}): Promise<void> {
  await mkdir(ttyDir, { recursive: true });
  await attrs(ttyDir, { dev: '166:0', ...extra });
  if (deviceDir) {
    await mkdir(deviceDir, { recursive: true });
    await symlink(relative(ttyDir, deviceDir), join(ttyDir, 'device'));
  }
  const link = join(root, 'class', 'tty', name);
  await mkdir(dirname(link), { recursive: true });
  await symlink(relative(dirname(link), ttyDir), link);
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'mcumgr-sysfs-'));
  const usb = join(root, 'devices', 'pci0000:00', '0000:00:14.0', 'usb1');
  // Two Zephyr boards (same VID:PID, different serials) on CDC ACM.
  for (const [port, n, serial] of [['1-1', 0, 'E6614C311B5A'], ['1-2', 1, '0123456789AB']] as const) {
    const dev = join(usb, port);
    await attrs(dev, { idVendor: '2fe3', idProduct: '0004', serial, manufacturer: 'ZEPHYR', product: 'USB-DEV' });
    const intf = join(dev, `${port}:1.0`);
    await tty(`ttyACM${n}`, join(intf, 'tty', `ttyACM${n}`), intf);
  }
  // An FTDI adapter through usb-serial: the tty's device is the port, the USB device two levels up.
  const ftdi = join(usb, '1-3');
  await attrs(ftdi, { idVendor: '0403', idProduct: '6001', serial: 'A50285BI', manufacturer: 'FTDI', product: 'FT232R USB UART' });
  const ftdiPort = join(ftdi, '1-3:1.0', 'ttyUSB0');
  await tty('ttyUSB0', join(ftdiPort, 'tty', 'ttyUSB0'), ftdiPort);
  // A real 8250 UART (type 4 = 16550A) and a placeholder one (type 0).
  const plat = join(root, 'devices', 'platform', 'serial8250');
  await tty('ttyS0', join(root, 'devices', 'pnp0', '00:04', 'tty', 'ttyS0'), join(root, 'devices', 'pnp0', '00:04'), { type: '4' });
  await tty('ttyS1', join(plat, 'tty', 'ttyS1'), plat, { type: '0' });
  // Virtual terminals have no device.
  await tty('tty1', join(root, 'devices', 'virtual', 'tty', 'tty1'), undefined);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('listSerialPorts from sysfs', () => {
  test('finds USB identities and skips virtual and placeholder ttys', async () => {
    const ports = await listSerialPorts({ source: 'sysfs', sysfsRoot: root });
    assert.deepEqual(ports, [
      { path: '/dev/ttyACM0', vendorId: '2fe3', productId: '0004', serialNumber: 'E6614C311B5A', manufacturer: 'ZEPHYR', product: 'USB-DEV' },
      { path: '/dev/ttyACM1', vendorId: '2fe3', productId: '0004', serialNumber: '0123456789AB', manufacturer: 'ZEPHYR', product: 'USB-DEV' },
      { path: '/dev/ttyS0' },
      { path: '/dev/ttyUSB0', vendorId: '0403', productId: '6001', serialNumber: 'A50285BI', manufacturer: 'FTDI', product: 'FT232R USB UART' },
    ]);
  });

  test('auto with an injected sysfs root reads it; devRoot changes the paths', async () => {
    const ports = await listSerialPorts({ sysfsRoot: root, devRoot: '/devx' });
    assert.deepEqual(
      ports.map((p) => p.path),
      ['/devx/ttyACM0', '/devx/ttyACM1', '/devx/ttyS0', '/devx/ttyUSB0'],
    );
  });

  test('a missing sysfs gives an empty list', async () => {
    assert.deepEqual(await listSysfsPorts(join(root, 'nope')), []);
  });

  test('auto on this machine does not throw', async () => {
    const ports = await listSerialPorts();
    assert.ok(Array.isArray(ports));
    for (const p of ports) assert.equal(typeof p.path, 'string');
  });

  test('bad source is a RangeError', async () => {
    await assert.rejects(listSerialPorts({ source: 'udev' as 'sysfs' }), RangeError);
  });
});

describe('USB selectors', () => {
  test('parses VID:PID and VID:PID:SERIAL', () => {
    assert.deepEqual(parseUsbSelector('2fe3:0004'), { vendorId: '2fe3', productId: '0004' });
    assert.deepEqual(parseUsbSelector('2FE3:4'), { vendorId: '2fe3', productId: '0004' });
    assert.deepEqual(parseUsbSelector('0x2fe3:0x0004:E6614C311B5A'), {
      vendorId: '2fe3',
      productId: '0004',
      serialNumber: 'E6614C311B5A',
    });
    assert.deepEqual(parseUsbSelector('2fe3:0004:a:b'), { vendorId: '2fe3', productId: '0004', serialNumber: 'a:b' });
  });

  test('rejects malformed selectors with a TypeError showing the form', () => {
    for (const bad of ['', '2fe3', '2fe3:', 'zzzz:0004', '12345:0004', '2fe3:0004:', ':0004']) {
      assert.throws(() => parseUsbSelector(bad), (e: Error) => e instanceof TypeError && /VID:PID/.test(e.message), bad);
    }
  });

  test('matching is case-insensitive on ids and exact on the serial', () => {
    const port = { path: '/dev/x', vendorId: '2FE3', productId: '0004', serialNumber: 'Ab1' };
    assert.equal(matchesUsbSelector(port, parseUsbSelector('2fe3:0004')), true);
    assert.equal(matchesUsbSelector(port, parseUsbSelector('2fe3:0004:Ab1')), true);
    assert.equal(matchesUsbSelector(port, parseUsbSelector('2fe3:0004:ab1')), false);
    assert.equal(matchesUsbSelector({ path: '/dev/ttyS0' }, parseUsbSelector('2fe3:0004')), false);
  });
});

describe('findUsbPort', () => {
  test('returns the one port that matches', async () => {
    const p = await findUsbPort('0403:6001', { source: 'sysfs', sysfsRoot: root });
    assert.equal(p.path, '/dev/ttyUSB0');
    const q = await findUsbPort({ vendorId: '2fe3', productId: '0004', serialNumber: '0123456789AB' }, { source: 'sysfs', sysfsRoot: root });
    assert.equal(q.path, '/dev/ttyACM1');
  });

  test('several matches: a TypeError listing them and asking for the serial', async () => {
    await assert.rejects(findUsbPort('2fe3:0004', { source: 'sysfs', sysfsRoot: root }), (e: Error) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /2 serial ports match/);
      assert.match(e.message, /\/dev\/ttyACM0/);
      assert.match(e.message, /\/dev\/ttyACM1/);
      assert.match(e.message, /VID:PID:SERIAL/);
      return true;
    });
  });

  test('no match: a TypeError listing the ports present', async () => {
    await assert.rejects(findUsbPort('1234:5678', { source: 'sysfs', sysfsRoot: root }), (e: Error) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /no serial port matches USB 1234:5678/);
      assert.match(e.message, /\/dev\/ttyUSB0 \(0403:6001:A50285BI FTDI FT232R USB UART\)/);
      assert.match(e.message, /\/dev\/ttyS0/);
      return true;
    });
    await assert.rejects(findUsbPort('1234:5678', { source: 'sysfs', sysfsRoot: join(root, 'nope') }), /ports present: none/);
  });
});
