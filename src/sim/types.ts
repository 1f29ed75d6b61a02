/**
 * The contract between the simulated device's protocol core (personalities, flash model) and
 * the link model / servers that carry its packets. The core is pure logic with a clock it is
 * told about; the link decides when bytes arrive, what is dropped, and how long things take.
 * @module
 */

/** What the device does with one received transport packet. */
export interface DeviceStep {
  /** Response packets (SMP header + CBOR), in order. A transport packet may hold several requests. */
  responses: Buffer[];
  /** Simulated processing time the device spent (flash erase/write, hashing), in ms. */
  busyMs: number;
  /** The device reboots this many ms after the responses are sent (os reset). */
  resetAfterMs?: number;
}

/** Buffer limits the link model enforces, from the device's Kconfig. */
export interface DeviceLimits {
  /** `MCUMGR_TRANSPORT_NETBUF_SIZE` (Zephyr) / `BOOT_SERIAL_MAX_RECEIVE_SIZE` (MCUboot). */
  netbufSize: number;
  /** `MCUMGR_TRANSPORT_NETBUF_COUNT`; MCUboot: 1. */
  netbufCount: number;
  /** UART line buffer size (Zephyr 128, MCUboot `BOOT_MAX_LINE_INPUT_LEN` 128). */
  lineBufSize: number;
  /** UART line buffer count (Zephyr 2, MCUboot 8). */
  lineBufCount: number;
  /** Serial encodings this personality speaks. */
  encodings: Array<'console' | 'raw' | 'cobs'>;
  /**
   * Raw encoding: a partial packet is discarded after this many ms without a byte (MCUboot
   * `BOOT_SERIAL_RAW_PROTOCOL_INPUT_TIMEOUT_MS`; Infinity: never). Default 3000.
   */
  rawInputTimeoutMs?: number;
}

/** A simulated device's protocol core. */
export interface SimDeviceCore {
  readonly personality: 'zephyr' | 'mcuboot';
  readonly limits: DeviceLimits;
  /** Handles one complete received packet (after de-framing) from transport `via` ('serial' | 'udp' | 'memory'). */
  handle(packet: Buffer, via: string): DeviceStep;
  /** Power-cycles the device: runs the boot decision (MCUboot swap), drops upload/file contexts. */
  reboot(): void;
  /**
   * Set after a reboot while the firmware listens before it decides what runs (MCUboot's
   * `BOOT_SERIAL_WAIT_FOR_DFU`): ms from the reboot. The link then calls {@link endBootWait}
   * that long after the reboot.
   */
  readonly bootWaitMs?: number | undefined;
  /** Ends that wait with no request taken; true when other firmware runs now (the link re-reads the limits). */
  endBootWait?(): boolean;
}
