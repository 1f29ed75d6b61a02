/**
 * One source for the simulated device's buffer knobs. `startSimulator({ limits })` and the
 * `mcumgr sim` flags become options of the device itself, so the device, its link model and its
 * `os mcumgr params` answer always agree (a link that accepts 2048-byte packets in front of a
 * device that says 384, or the other way round, is no device that exists).
 * @module
 */
import type { DeviceLimits } from './types.js';
import type { McubootDeviceOptions, ZephyrDeviceOptions } from './device/index.js';

/**
 * The device options that give `limits`, merged with `device` (the same knob set twice to two
 * values is refused rather than silently picked).
 * @throws RangeError naming the knob when `limits` and `device` disagree, or when an MCUboot
 *   device is given more than one buffer (serial recovery reassembles into one).
 */
export function deviceOptionsWithLimits(
  personality: 'zephyr' | 'mcuboot',
  limits: Partial<DeviceLimits> | undefined,
  device: ZephyrDeviceOptions | McubootDeviceOptions = {},
): ZephyrDeviceOptions | McubootDeviceOptions {
  if (!limits) return device;
  const out: Record<string, unknown> = { ...device };
  const put = (key: string, value: unknown, knob: string): void => {
    if (value === undefined) return;
    const had = (device as Record<string, unknown>)[key];
    if (had !== undefined && JSON.stringify(had) !== JSON.stringify(value)) {
      throw new RangeError(`limits.${knob} (${JSON.stringify(value)}) and device.${key} (${JSON.stringify(had)}) disagree: set the knob once`);
    }
    out[key] = value;
  };
  if (personality === 'mcuboot') {
    if (limits.netbufCount !== undefined && limits.netbufCount !== 1) {
      throw new RangeError(`limits.netbufCount must be 1 for MCUboot serial recovery (it reassembles one request at a time), got ${limits.netbufCount}`);
    }
    put('maxReceive', limits.netbufSize, 'netbufSize');
    if (limits.rawInputTimeoutMs === Infinity) put('rawInputTimeout', false, 'rawInputTimeoutMs');
    else put('rawInputTimeoutMs', limits.rawInputTimeoutMs, 'rawInputTimeoutMs');
  } else {
    put('netbufSize', limits.netbufSize, 'netbufSize');
    put('netbufCount', limits.netbufCount, 'netbufCount');
  }
  put('lineBufSize', limits.lineBufSize, 'lineBufSize');
  put('lineBufCount', limits.lineBufCount, 'lineBufCount');
  put('encodings', limits.encodings, 'encodings');
  return out as ZephyrDeviceOptions | McubootDeviceOptions;
}
