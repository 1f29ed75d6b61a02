/**
 * The answer Zephyr gives when no buffer is free for a response.
 * @module
 */

const ENOMEM_PAYLOAD = Buffer.from([0xbf, 0x62, 0x72, 0x63, 0x02, 0xff]); // {"rc": 2}

/**
 * The answer Zephyr gives when no buffer is free for a response: the request's header turned
 * into a response with `{"rc": 2}` (MGMT_ERR_ENOMEM). Undefined for a packet that is not a request.
 */
export function enomemResponse(req: Uint8Array): Buffer | undefined {
  if (req.length < 8) return undefined;
  const op = req[0]! & 7;
  if (op !== 0 && op !== 2) return undefined;
  const out = Buffer.alloc(8 + ENOMEM_PAYLOAD.length);
  out[0] = (req[0]! & 0x18) | (op + 1);
  out[1] = 0;
  out.writeUInt16BE(ENOMEM_PAYLOAD.length, 2);
  out[4] = req[4]!;
  out[5] = req[5]!;
  out[6] = req[6]!;
  out[7] = req[7]!;
  ENOMEM_PAYLOAD.copy(out, 8);
  return out;
}
