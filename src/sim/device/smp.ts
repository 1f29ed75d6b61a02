/**
 * The request/response plumbing of Zephyr's SMP server (PROTOCOL.md §1, §2), shared by the
 * Zephyr personality's group handlers: the per-request context, the handler table types, group
 * errors (`smp_add_cmd_err`) and response headers (`smp_make_rsp_hdr`).
 * @module
 */
import { encodeHeader, Op, SMP_HEADER_SIZE, type SmpHeader } from '../../codec/header.js';
import { OMap, omap } from './cbor-writer.js';

/** The state one request handler works on (Zephyr's `smp_streamer`). */
export class SmpCtx {
  /** The request header. */
  readonly hdr: SmpHeader;
  /**
   * The request payload **and everything after it** in the transport packet: Zephyr's CBOR
   * reader is set up over the rest of the buffer, not over `length` bytes.
   */
  readonly payload: Buffer;
  /** Transport the request came in on ('serial' | 'udp' | 'memory' | …). */
  readonly via: string;
  /** The response map being built. */
  readonly out = new OMap();
  /** Group and code of a group error added with `addErr` (for v1 translation). */
  errGroup = 0;
  errRc = 0;
  /** `rsn` text for an `rc` error (`MGMT_CTXT_SET_RC_RSN`), used with verbose error responses. */
  rsn: string | undefined;
  constructor(hdr: SmpHeader, payload: Buffer, via: string) {
    this.hdr = hdr;
    this.payload = payload;
    this.via = via;
  }
}

/** A command handler: returns an `MGMT_ERR_*` code (0 = the response map is sent). */
export type Handler = (ctx: SmpCtx) => number;

/** One entry of a group's handler table (`struct mgmt_handler`). */
export interface CommandDef {
  read?: Handler;
  write?: Handler;
}

/** A registered management group (`struct mgmt_group`). */
export interface GroupDef {
  id: number;
  /** `mg_group_name` (enum details); undefined → empty name. */
  name?: string;
  /** Handler table indexed by command id; holes are unsupported ids. */
  handlers: Array<CommandDef | undefined>;
  /** `mg_translate_error` for SMP v1 requests; absent → EUNKNOWN. */
  translate?: (err: number) => number;
}

/**
 * `smp_add_cmd_err`: adds `"err": {"group": g, "rc": rc}` to the response (nothing when rc is 0)
 * and remembers it for the v1 translation.
 */
export function addErr(ctx: SmpCtx, group: number, rc: number): void {
  if (rc === 0) return;
  ctx.errGroup = group;
  ctx.errRc = rc & 0xffff;
  ctx.out.set('err', omap(['group', group], ['rc', rc & 0xffff]));
}

/** `smp_make_rsp_hdr`: READ → READ_RSP, anything else → WRITE_RSP, version clamped to 1, flags 0. */
export function responseHeader(req: SmpHeader, length: number): Buffer {
  return encodeHeader({
    op: req.op === Op.READ ? Op.READ_RSP : Op.WRITE_RSP,
    version: req.version > 1 ? 1 : req.version,
    flags: 0,
    length,
    group: req.group,
    seq: req.seq,
    id: req.id,
  });
}

/** Header + payload as one packet. */
export function packet(hdr: Buffer, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(SMP_HEADER_SIZE + payload.length);
  hdr.copy(out, 0);
  out.set(payload, SMP_HEADER_SIZE);
  return out;
}
