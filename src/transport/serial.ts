/**
 * Opens a serial transport: one {@link SerialTransport} (the framing) over a byte link, the
 * addon's worker-safe serial I/O when it is loaded, else the `serialport` package (main thread
 * only).
 * @module
 */
import { isMainThread } from 'node:worker_threads';
import { native, nativeLoadError } from '../addon.js';
import { TransportError } from '../errors.js';
import { NativeSerialTransport, nativeSerialAvailable } from './serial-native.js';
import { resolveSerialOptions, type SerialTransportOptions } from './serial-options.js';
import { SerialPortFallbackTransport } from './serial-port-fallback.js';
import type { SerialTransport } from './serial-transport.js';

export type { SerialTransportOptions } from './serial-options.js';
export type { ByteLink, ByteLinkSink, ByteLinkTarget, OpenByteLink } from './byte-link.js';
export { SerialTransport } from './serial-transport.js';
export { NativeSerialTransport, NativeByteLink } from './serial-native.js';
export { SerialPortFallbackTransport, openSerialPortLink } from './serial-port-fallback.js';

/** Which implementation {@link openSerialTransport} uses. */
export type SerialBackend = 'auto' | 'native' | 'serialport';

/** Options of {@link openSerialTransport}. */
export interface OpenSerialOptions extends SerialTransportOptions {
  /** `auto` (default): native when the addon has serial I/O, else `serialport` on the main thread. */
  backend?: SerialBackend;
}

/** The backend `auto` would pick in this thread, or `undefined` when none can be used here. */
export function serialBackend(): 'native' | 'serialport' | undefined {
  if (nativeSerialAvailable(native)) return 'native';
  return isMainThread ? 'serialport' : undefined;
}

/**
 * Opens a serial port as a {@link SerialTransport}.
 * @throws TypeError/RangeError for bad options; TransportError when the port cannot be opened (the
 *   message names the path), or in a worker thread without the native addon.
 */
export async function openSerialTransport(opts: OpenSerialOptions): Promise<SerialTransport> {
  const o = resolveSerialOptions(opts);
  const backend = opts.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'native' && backend !== 'serialport') {
    throw new RangeError(`serial option "backend" must be 'auto', 'native' or 'serialport'; got ${String(backend)}`);
  }
  const hasNative = nativeSerialAvailable(native);
  if (backend === 'native' || (backend === 'auto' && hasNative)) {
    if (!hasNative) {
      const why = nativeLoadError();
      throw new TransportError(
        `cannot open serial port ${o.path}: the native serial I/O is not available` +
          (why ? ` (the addon failed to load: ${why.message})` : ' (build it with npm run build:native)'),
      );
    }
    return new NativeSerialTransport(opts);
  }
  if (!isMainThread) {
    throw new TransportError(
      `cannot open serial port ${o.path} in a worker thread: the native addon's serial I/O is not available and the ` +
        'serialport package crashes inside worker threads; build the addon (npm run build:native) or open the port on the main thread',
    );
  }
  return SerialPortFallbackTransport.open(opts);
}
