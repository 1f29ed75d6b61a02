/**
 * One upload chunk of the pipelined engine (`window.ts`), from the moment it is built to its
 * answer, and the session's sink for that answer.
 * @module
 */
import type { ResponseSink, SmpResponse } from '../session.js';

/** One chunk: it receives its own outcome (the session's sink) and tells the run. */
export class InFlight implements ResponseSink {
  /** Left behind by a rewind: its answer no longer means anything. */
  abandoned = false;
  /** Confirmed, by its own answer or by a later chunk's (the device works in order). */
  done = false;
  /** Its answer (or its deadline) has come. */
  settled = false;
  /** The answer, once settled without an error. */
  rsp: SmpResponse | undefined = undefined;
  /** The error (a timeout, a closed link…), once settled with one. */
  err: unknown = undefined;

  constructor(
    readonly off: number,
    readonly len: number,
    readonly first: boolean,
    private readonly settle: (entry: InFlight) => void,
  ) {}

  /** The device's offset once this chunk is written. */
  get expected(): number {
    return this.off + this.len;
  }

  answer(rsp: SmpResponse): void {
    this.rsp = rsp;
    this.settle(this);
  }

  fail(err: Error): void {
    this.err = err;
    this.settle(this);
  }
}
