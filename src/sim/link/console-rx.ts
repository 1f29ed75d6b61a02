/**
 * The console receiver (PROTOCOL.md §4.3): Zephyr's UART ISR filling line buffers
 * (`uart_mcumgr.c`), the work queue that decodes them, and the reassembly context of
 * `mcumgr_serial_process_frag`. MCUboot's loop takes lines from here too.
 * @module
 */
import { codec } from '../../codec/index.js';
import type { Line, RxHost } from './state.js';

const LF = 0x0a;

/** Line buffers and the reassembly context of one console link. */
export class ConsoleReceiver {
  #curLine: Line | null = null;
  #ignoring = false;
  #linesInUse = 0;
  #wqFreeAt: number;
  // Reassembly context.
  #ctxHasBuf = false;
  #ctxBuf: Buffer;
  #ctxLen = 0;
  #ctxTotal = 0;
  #ctxWant = 0;
  /** MCUboot: complete lines waiting for the loop. */
  readonly #readyLines: Line[] = [];

  constructor(
    private readonly host: RxHost,
    /** Time the work queue needs to decode one line, in ms. */
    readonly decodeMs: number,
    t0: number,
  ) {
    this.#wqFreeAt = t0;
    this.#ctxBuf = Buffer.alloc(host.st.limits.netbufSize);
  }

  /** The UART ISR of `uart_mcumgr.c`: bytes into line buffers; drop what does not fit. */
  byte(b: number, t: number): void {
    const st = this.host.st;
    if (!this.#ignoring && this.#curLine === null) {
      if (this.#linesInUse < st.limits.lineBufCount) {
        this.#linesInUse++;
        this.#curLine = { buf: Buffer.allocUnsafe(st.limits.lineBufSize), len: 0 };
      } else {
        this.#ignoring = true;
        st.stats.drops.lineNoBuffer++;
      }
    }
    if (!this.#ignoring) {
      const line = this.#curLine!;
      if (line.len >= line.buf.length) {
        this.#linesInUse--;
        this.#curLine = null;
        this.#ignoring = true;
        st.stats.drops.lineTooLong++;
      } else {
        line.buf[line.len++] = b;
      }
    }
    if (b === LF) {
      if (this.#ignoring) {
        this.#ignoring = false;
      } else {
        const line = this.#curLine!;
        this.#curLine = null;
        this.#lineDone(line, t);
      }
    }
  }

  /** MCUboot's loop takes the oldest complete line (its buffer is free again). */
  takeLine(): Line | undefined {
    const line = this.#readyLines.shift();
    if (line) this.#linesInUse--;
    return line;
  }

  /** True when MCUboot's loop has a line to read. */
  get hasLine(): boolean {
    return this.#readyLines.length > 0;
  }

  #lineDone(line: Line, t: number): void {
    const host = this.host;
    if (host.st.model === 'mcuboot') {
      this.#readyLines.push(line);
      host.loopKick(t);
      return;
    }
    // The system work queue decodes lines one after another, then frees the line buffer.
    const start = Math.max(t, this.#wqFreeAt);
    const end = start + this.decodeMs;
    this.#wqFreeAt = end;
    host.schedule(end, host.st.gen, (te) => {
      this.#linesInUse--;
      const pkt = this.frag(line, true);
      if (pkt) host.enqueue({ packet: pkt, from: undefined, holdsBuf: true, backlog: 0 }, te);
    });
  }

  #ctxFree(): void {
    if (this.#ctxHasBuf) this.host.st.netbufFree++;
    this.#ctxHasBuf = false;
    this.#ctxLen = 0;
    this.#ctxTotal = 0;
  }

  /**
   * `mcumgr_serial_process_frag`: one line into the reassembly context. With `pool`, the context
   * needs a net_buf for any line (and keeps it); returns a complete packet (holding that buffer).
   */
  frag(line: Line, pool: boolean): Buffer | undefined {
    const st = this.host.st;
    const fr = st.stats.frames;
    if (pool && !this.#ctxHasBuf) {
      if (st.netbufFree === 0) {
        st.stats.drops.netbufExhausted++;
        return undefined;
      }
      st.netbufFree--;
      this.#ctxHasBuf = true;
      this.#ctxLen = 0;
      this.#ctxTotal = 0;
    }
    const d = line.buf;
    let n = line.len;
    if (n < 2) {
      fr.nonFrame++;
      return undefined;
    }
    const initial = d[0] === 0x06 && d[1] === 0x09;
    const cont = d[0] === 0x04 && d[1] === 0x14;
    if (!initial && !cont) {
      fr.nonFrame++;
      return undefined;
    }
    if (initial) {
      this.#ctxLen = 0;
      this.#ctxTotal = 0;
    } else if (this.#ctxTotal === 0) {
      fr.orphanContinuation++;
      this.#ctxFree();
      return undefined;
    }
    if (n > 2 && d[n - 1] === LF) n--;
    if (n > 2 && d[n - 1] === 0x0d) n--;
    const raw = codec.base64Decode(d.subarray(2, n));
    if (raw === null) {
      fr.badEncoding++;
      this.#ctxFree();
      return undefined;
    }
    if (this.#ctxTotal + raw.length > st.limits.netbufSize) {
      st.stats.drops.oversize++;
      this.#ctxFree();
      return undefined;
    }
    let data = raw;
    if (initial) {
      if (raw.length < 2) {
        fr.badLength++;
        this.#ctxFree();
        return undefined;
      }
      this.#ctxWant = raw.readUInt16BE(0);
      data = raw.subarray(2);
      this.#ctxTotal = 2;
    }
    data.copy(this.#ctxBuf, this.#ctxLen);
    this.#ctxLen += data.length;
    this.#ctxTotal += data.length;
    if (this.#ctxLen < this.#ctxWant) return undefined;
    if (this.#ctxLen > this.#ctxWant || this.#ctxLen < 2) {
      fr.badLength++;
      this.#ctxFree();
      return undefined;
    }
    const body = this.#ctxBuf.subarray(0, this.#ctxLen);
    if (codec.crc16(body) !== 0) {
      fr.badCrc++;
      this.#ctxFree();
      return undefined;
    }
    const pkt = Buffer.from(body.subarray(0, this.#ctxLen - 2));
    // The net_buf goes with the packet; the context starts empty.
    this.#ctxHasBuf = false;
    this.#ctxLen = 0;
    this.#ctxTotal = 0;
    return pkt;
  }

  /** A power cycle at `t`: lines and the context are lost. */
  reset(t: number): void {
    this.#curLine = null;
    this.#ignoring = false;
    this.#linesInUse = 0;
    this.#wqFreeAt = t;
    this.#ctxHasBuf = false;
    this.#ctxLen = 0;
    this.#ctxTotal = 0;
    this.#readyLines.length = 0;
    if (this.#ctxBuf.length !== this.host.st.limits.netbufSize) this.#ctxBuf = Buffer.alloc(this.host.st.limits.netbufSize);
  }
}
