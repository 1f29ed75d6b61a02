/**
 * `mcumgr raw <op> <group> <id> [json-body]`: any SMP request. The body is a JSON object; byte
 * strings are written as `{"$bytes": "<hex>"}`. In the answer, byte strings are printed as hex.
 * @module
 */
import type { Command } from 'commander';
import { Op } from '../codec/header.js';
import { Group } from '../protocol/ids.js';
import { action, parseUint, type CliContext } from './context.js';
import { CliUsageError, toJsonValue } from './output.js';

const GROUP_ALIASES: Record<string, number> = {
  os: Group.OS,
  image: Group.IMAGE,
  img: Group.IMAGE,
  stat: Group.STAT,
  settings: Group.SETTINGS,
  config: Group.SETTINGS,
  log: Group.LOG,
  crash: Group.CRASH,
  split: Group.SPLIT,
  run: Group.RUN,
  fs: Group.FS,
  shell: Group.SHELL,
  enum: Group.ENUM,
  basic: Group.ZEPHYR_BASIC,
  zephyr: Group.ZEPHYR_BASIC,
};

/** Parses the op argument: read/write (r/w) or 0/2. */
export function parseOp(v: string): number {
  const s = v.toLowerCase();
  if (s === 'read' || s === 'r' || s === '0') return Op.READ;
  if (s === 'write' || s === 'w' || s === '2') return Op.WRITE;
  throw new CliUsageError(`op must be read or write (or 0 / 2), got ${JSON.stringify(v)}`);
}

/** Parses the group argument: a number 0..65535 or a name (os, image, stat, settings, fs, shell, enum, basic, …). */
export function parseGroup(v: string): number {
  const alias = GROUP_ALIASES[v.toLowerCase()];
  if (alias !== undefined) return alias;
  if (!/^(\d+|0x[0-9a-f]+)$/i.test(v)) {
    throw new CliUsageError(`group must be a number 0..65535 or one of ${Object.keys(GROUP_ALIASES).join(', ')}; got ${JSON.stringify(v)}`);
  }
  return parseUint('group', v, 0, 0xffff);
}

/** Turns `{"$bytes": "<hex>"}` objects of a parsed JSON body into Buffers. */
export function reviveBytes(v: unknown, path = 'json-body'): unknown {
  if (Array.isArray(v)) return v.map((x, i) => reviveBytes(x, `${path}[${i}]`));
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === '$bytes') {
      const hex = o.$bytes;
      if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
        throw new CliUsageError(`${path}.$bytes must be a string of hex digits (an even number), got ${JSON.stringify(hex)}`);
      }
      return Buffer.from(hex, 'hex');
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = reviveBytes(o[k], `${path}.${k}`);
    return out;
  }
  if (typeof v === 'number' && !Number.isInteger(v)) return v;
  return v;
}

/** Parses the JSON body argument. */
export function parseBody(text: string | undefined): Record<string, unknown> {
  if (text === undefined || text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CliUsageError(`json-body is not valid JSON (${e instanceof Error ? e.message : String(e)}); write e.g. '{"d":"hi"}'`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CliUsageError(`json-body must be a JSON object (a CBOR map), e.g. '{"d":"hi"}'`);
  return reviveBytes(v) as Record<string, unknown>;
}

/** Registers `raw`. */
export function registerRaw(program: Command, ctx: CliContext): void {
  program
    .command('raw')
    .description('send any SMP request; byte strings in the body as {"$bytes":"<hex>"}')
    .argument('<op>', 'read or write')
    .argument('<group>', 'group id or name (os, image, stat, settings, fs, shell, enum, basic)')
    .argument('<id>', 'command id 0..255')
    .argument('[json-body]', 'request body as a JSON object, e.g. \'{"d":"hi"}\'')
    .option('--raw-errors', 'print error answers (rc/err) instead of failing')
    .action(
      action(ctx, async (env, o: { rawErrors?: boolean }, opText: string, groupText: string, idText: string, bodyText: string | undefined) => {
        const op = parseOp(opText);
        const group = parseGroup(groupText);
        const id = parseUint('id', idText, 0, 255);
        const body = parseBody(bodyText);
        const rsp = await env.device((c) => c.raw(op, group, id, body, o.rawErrors ? { rawErrors: true } : {}));
        const { length: _len, ...header } = rsp.header;
        env.out.result({ header, body: rsp.body }, (v) => JSON.stringify(toJsonValue(v.body), null, 2));
      }),
    );
}
