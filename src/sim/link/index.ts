/**
 * The link model between the wire and a simulated device's protocol core (DESIGN.md § The
 * simulated device; PROTOCOL.md §4.3, §5, §6).
 *
 * It is a small discrete-event simulation that runs against the wall clock. Every byte and packet
 * gets a virtual time (when its last bit reaches the device, when the device finishes a request,
 * when a response byte reaches the host); decisions (is a line buffer free? a net_buf?) are made
 * at those virtual times, in time order, and timers only release results once real time has
 * caught up. Timer jitter therefore delays output but never changes what the device does.
 *
 * What is modelled, Zephyr personality:
 * - the UART: 8N1, 10 bits a byte, in both directions; latency each way;
 * - console: the ISR fills line buffers (`lineBufSize` × `lineBufCount`); a line that does not fit,
 *   or starts when no buffer is free, is discarded up to its LF; the system work queue decodes
 *   each line (`frameDecodeMs`) and frees its buffer; the reassembly context takes a net_buf from
 *   the pool for any line it sees (as `mcumgr_serial_process_frag` does) and hands it to the SMP
 *   queue when a packet completes (len + packet + CRC must fit one net_buf: NETBUF_SIZE − 4);
 * - raw: packets by header length, a net_buf taken at the header, a stalled partial packet
 *   discarded after `rawInputTimeoutMs` of silence;
 * - COBS: frames at 0x00, no timeout;
 * - packets (UDP, in-memory): one net_buf per packet when it arrives; UDP datagrams cut at the MTU;
 * - the SMP thread: one request at a time in arrival order; it takes a second net_buf for the
 *   response (if none is free: an `rc` 2 ENOMEM answer in the request's buffer), spends the core's
 *   `busyMs`, writes the response at the UART's pace (blocking, like `uart_poll_out`), then frees
 *   both buffers. So at most `netbufCount − 1` requests are in the device; more are dropped silently.
 *
 * MCUboot personality (serial recovery): one loop reads a line, decodes it and, when a packet
 * completes, handles it and writes the answer before reading the next line. Line buffers
 * (`lineBufCount`, 8 by default) are freed when the loop takes them, so they fill up while the
 * loop is busy (flash erase). For raw/COBS input the same loop reads from a receive buffer of
 * `lineBufSize × lineBufCount` bytes; bytes that do not fit are lost.
 *
 * One file per job: `scheduler.ts` (virtual time, the wake-up timer), `uart.ts` (the wire both
 * ways), `console-rx.ts` / `raw-rx.ts` / `cobs-rx.ts` (the three receive state machines),
 * `splitter.ts` (units for fault injection; the faults themselves are `../faults.ts`),
 * `device-link.ts` (packets, the SMP thread / MCUboot loop, transmit, reboot).
 * @module
 */
export { DeviceLink } from './device-link.js';
export { enomemResponse } from './enomem.js';
export { splitLines } from './wire-units.js';
export type { LinkMode, LinkOptions, LinkDrops, LinkFrameStats, LinkStats } from './types.js';
