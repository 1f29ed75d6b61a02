/**
 * The numbers of SMP over GATT that both sides know (Zephyr `smp_bt.c`, Bluetooth Core): the
 * service and characteristic, and the ATT MTU bounds. The BLE transport frames with them; the
 * simulated radio answers with them.
 * @module
 */
/** The SMP GATT service (Zephyr `SMP_BT_SVC_UUID`). */
export const SMP_SERVICE_UUID = '8d53dc1d-1db7-4cd3-868b-8a527460aa84';
/** The SMP characteristic: write without response + notify (Zephyr `SMP_BT_CHR_UUID`). */
export const SMP_CHARACTERISTIC_UUID = 'da2e7828-fbce-4e01-ae9e-261174997c48';
/** ATT header bytes in a write command or notification (opcode + handle). */
export const ATT_OVERHEAD = 3;
/** The ATT MTU every link starts with, before an exchange raises it. */
export const DEFAULT_ATT_MTU = 23;
/** The largest ATT MTU (Bluetooth Core: 517 for a characteristic value of 512). */
export const MAX_ATT_MTU = 517;
