/**
 * A board with MCUboot and a Zephyr application on one flash. It starts in serial recovery (the
 * `mcuboot` personality); a reset runs MCUboot's boot decision and starts the application in the
 * primary slot (the `zephyr` personality, answering with that image's version and hash), unless
 * recovery is held (button, retained boot mode asking for the bootloader) or no image is
 * bootable, where MCUboot stays in recovery (`BOOT_SERIAL_NO_APPLICATION`).
 *
 * The order is `boot/zephyr/main.c`'s (mcu-tools/mcuboot 2d4bacc3): the button is read before
 * `boot_go` (no swap), the retained boot mode after it (the swap has run), and a build with
 * `BOOT_SERIAL_WAIT_FOR_DFU` listens after `boot_go` for the rest of its wait: any request with a
 * valid header (`boot_serial_input`) keeps it in recovery for good, silence starts the application.
 * @module
 */
import type { DeviceLimits, DeviceStep, SimDeviceCore } from '../types.js';
import { McubootDevice, type McubootDeviceOptions } from './mcuboot.js';
import { ZephyrDevice, type ZephyrDeviceOptions } from './zephyr.js';

/** Options of {@link createMcubootBoard}: the bootloader's, plus the application's and the recovery entry. */
export interface McubootBoardOptions extends McubootDeviceOptions {
  /** Options of the application MCUboot starts (its Kconfig: net_bufs, groups…). Default Zephyr's. */
  app?: Omit<ZephyrDeviceOptions, 'flash' | keyof import('./flash.js').FlashOptions>;
  /** The recovery button is held: every reset enters serial recovery again. Default false. */
  holdRecovery?: boolean;
  /** Start in the application instead of recovery. Default false. */
  startInApp?: boolean;
  /**
   * `BOOT_SERIAL_WAIT_FOR_DFU_TIMEOUT` in ms (Kconfig default 500): after every reset MCUboot
   * listens this long, counted from power-up, before it starts the application; a request in that
   * time keeps it in serial recovery. Undefined (default): built without `BOOT_SERIAL_WAIT_FOR_DFU`.
   * The link that carries the board ends the wait; a board driven through `handle()` alone waits
   * until {@link McubootBoard.endBootWait} is called.
   */
  waitForDfuMs?: number;
}

/** MCUboot and its application on one simulated board. */
export class McubootBoard implements SimDeviceCore {
  /** The bootloader's serial recovery. */
  readonly boot: McubootDevice;
  /** The application (built on the same flash). */
  readonly app: ZephyrDevice;
  /** Hold the recovery button (takes effect at the next reset). */
  holdRecovery: boolean;
  /** `BOOT_SERIAL_WAIT_FOR_DFU_TIMEOUT`, or undefined when the build has no such wait. */
  readonly waitForDfuMs: number | undefined;
  #inRecovery: boolean;
  #waiting = false;
  /**
   * Why the board is in recovery, or undefined when the application runs: `wait-for-dfu` while
   * MCUboot listens after a reset (it may still start the application), `dfu-request` once a
   * request came in that time.
   */
  recoveryReason: 'start' | 'button' | 'boot-mode' | 'no-image' | 'wait-for-dfu' | 'dfu-request' | undefined;

  constructor(opts: McubootBoardOptions = {}) {
    const { app, holdRecovery, startInApp, waitForDfuMs, ...bootOpts } = opts;
    if (waitForDfuMs !== undefined && (!Number.isInteger(waitForDfuMs) || waitForDfuMs < 1 || waitForDfuMs > 3_600_000)) {
      throw new RangeError(`waitForDfuMs must be a whole number of ms, 1..3600000 (BOOT_SERIAL_WAIT_FOR_DFU_TIMEOUT), not ${String(waitForDfuMs)}`);
    }
    this.waitForDfuMs = waitForDfuMs;
    this.boot = new McubootDevice(bootOpts);
    // The client on the other end speaks one encoding: the application gets the bootloader's.
    this.app = new ZephyrDevice({ encodings: [...this.boot.limits.encodings], ...app, flash: this.boot.flash });
    this.holdRecovery = holdRecovery ?? false;
    this.#inRecovery = !(startInApp ?? false) || this.app.halted;
    this.recoveryReason = this.#inRecovery ? (this.app.halted ? 'no-image' : 'start') : undefined;
  }

  /** `mcuboot` in serial recovery, `zephyr` while the application runs. */
  get personality(): 'zephyr' | 'mcuboot' {
    return this.#inRecovery ? 'mcuboot' : 'zephyr';
  }

  /** The running firmware's buffers. */
  get limits(): DeviceLimits {
    return this.#inRecovery ? this.boot.limits : this.app.limits;
  }

  /** True while MCUboot's serial recovery answers. */
  get inRecovery(): boolean {
    return this.#inRecovery;
  }

  /** {@inheritDoc SimDeviceCore.handle} */
  handle(pkt: Buffer, via: string): DeviceStep {
    if (this.#waiting && acceptedByBootSerial(pkt)) {
      this.#waiting = false;
      this.recoveryReason = 'dfu-request';
    }
    return this.#inRecovery ? this.boot.handle(pkt, via) : this.app.handle(pkt, via);
  }

  /** {@inheritDoc SimDeviceCore.bootWaitMs} */
  get bootWaitMs(): number | undefined {
    return this.#waiting ? this.waitForDfuMs : undefined;
  }

  /** {@inheritDoc SimDeviceCore.endBootWait} */
  endBootWait(): boolean {
    if (!this.#waiting) return false;
    this.#waiting = false;
    this.#startApp();
    return !this.#inRecovery;
  }

  /**
   * Restarts the board. With the button held MCUboot enters recovery before its
   * boot decision (no swap); otherwise `boot_go` runs (swap, revert, validation) and the
   * application starts, unless the application asked for the bootloader (`boot_mode` 1 of os
   * reset) or nothing is bootable.
   */
  reboot(): void {
    this.#waiting = false;
    if (this.holdRecovery) {
      this.#enterRecovery('button');
      return;
    }
    const wantsBootloader = !this.#inRecovery && this.app.pendingBootMode === 1;
    // boot_go: swap, revert, validation (it also clears the application's pending boot mode).
    this.app.reboot();
    if (wantsBootloader) {
      this.#enterRecovery('boot-mode');
      return;
    }
    if (this.waitForDfuMs !== undefined) {
      this.#enterRecovery('wait-for-dfu');
      this.#waiting = true;
      return;
    }
    this.#startApp();
  }

  #startApp(): void {
    if (this.app.halted) this.#enterRecovery('no-image');
    else {
      this.#inRecovery = false;
      this.recoveryReason = undefined;
    }
  }

  #enterRecovery(reason: NonNullable<McubootBoard['recoveryReason']>): void {
    this.#inRecovery = true;
    this.recoveryReason = reason;
    this.boot.reboot();
  }

  /** The flash both firmwares share. */
  get flash(): McubootDevice['flash'] {
    return this.boot.flash;
  }

  /** Every slot with its MCUboot validity. */
  slots(): ReturnType<McubootDevice['slots']> {
    return this.boot.slots();
  }

  /** A copy of a slot's bytes. */
  readSlot(image: number, slot: number): Buffer {
    return this.boot.readSlot(image, slot);
  }

  /** The application's files (MCUboot keeps none). */
  get files(): Map<string, Buffer> {
    return this.app.files;
  }
}

/**
 * Whether `boot_serial_input` takes a packet (and so ends a DFU wait): a whole header, a read or
 * write op, and a length field not shorter than the body.
 */
function acceptedByBootSerial(pkt: Buffer): boolean {
  if (pkt.length < 8) return false;
  const op = pkt[0]! & 0x07;
  return (op === 0 || op === 2) && pkt.readUInt16BE(2) >= pkt.length - 8;
}

/** Creates a board: MCUboot serial recovery, and the Zephyr application it boots after a reset. */
export function createMcubootBoard(opts: McubootBoardOptions = {}): McubootBoard {
  return new McubootBoard(opts);
}
