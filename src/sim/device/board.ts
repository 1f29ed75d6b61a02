/**
 * A board with MCUboot and a Zephyr application on one flash. It starts in serial recovery (the
 * `mcuboot` personality); a reset runs MCUboot's boot decision and starts the application in the
 * primary slot (the `zephyr` personality, answering with that image's version and hash), unless
 * recovery is held (button, retained boot mode asking for the bootloader) or no image is
 * bootable, where MCUboot stays in recovery (`BOOT_SERIAL_NO_APPLICATION`).
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
}

/** MCUboot and its application on one simulated board. */
export class McubootBoard implements SimDeviceCore {
  /** The bootloader's serial recovery. */
  readonly boot: McubootDevice;
  /** The application (built on the same flash). */
  readonly app: ZephyrDevice;
  /** Hold the recovery button (takes effect at the next reset). */
  holdRecovery: boolean;
  #inRecovery: boolean;
  /** Why the board is in recovery, or undefined when the application runs. */
  recoveryReason: 'start' | 'button' | 'boot-mode' | 'no-image' | undefined;

  constructor(opts: McubootBoardOptions = {}) {
    const { app, holdRecovery, startInApp, ...bootOpts } = opts;
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
    return this.#inRecovery ? this.boot.handle(pkt, via) : this.app.handle(pkt, via);
  }

  /**
   * Restarts the board. With the button held MCUboot enters recovery before its
   * boot decision (no swap); otherwise `boot_go` runs (swap, revert, validation) and the
   * application starts, unless the application asked for the bootloader (`boot_mode` 1 of os
   * reset) or nothing is bootable.
   */
  reboot(): void {
    if (this.holdRecovery) {
      this.#enterRecovery('button');
      return;
    }
    const wantsBootloader = !this.#inRecovery && this.app.pendingBootMode === 1;
    if (wantsBootloader) {
      this.app.pendingBootMode = undefined;
      this.#enterRecovery('boot-mode');
      return;
    }
    this.app.reboot();
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

/** Creates a board: MCUboot serial recovery, and the Zephyr application it boots after a reset. */
export function createMcubootBoard(opts: McubootBoardOptions = {}): McubootBoard {
  return new McubootBoard(opts);
}
