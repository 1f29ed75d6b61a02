/**
 * The page server's checks on requests: the Host header on a loopback-bound server (so a web
 * page elsewhere cannot reach it through DNS rebinding), and for control requests the method, the
 * origin, the token and the body size. Also the headers every answer carries.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** Bytes a control request's body may hold (controls take no arguments yet). */
export const MAX_CONTROL_BODY = 1024;

/** Sent with every answer: no sniffing, no framing, scripts and styles only from the page itself. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/** Whether an address to bind is this machine only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

const LOCAL_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** On a loopback-bound server the Host must name this machine; returns why not, or undefined. */
export function checkHost(req: IncomingMessage, loopback: boolean): string | undefined {
  if (!loopback) return undefined;
  const host = req.headers.host ?? '';
  const name = host.replace(/:\d+$/, '').toLowerCase();
  if (LOCAL_NAMES.has(name) || /^127\.\d+\.\d+\.\d+$/.test(name)) return undefined;
  return `Host ${JSON.stringify(host)} is not this machine; the page is served on loopback only (start it with --serve 0.0.0.0:PORT to serve a network)`;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Checks a control request: POST only, same origin when the browser says where it comes from,
 * the bearer token (compared in constant time), and a small body. Returns the refusal, or
 * undefined when the request may act.
 */
export async function checkControl(req: IncomingMessage, token: string | undefined): Promise<{ status: number; message: string } | undefined> {
  if (req.method !== 'POST') return { status: 405, message: `controls take POST, not ${req.method}` };
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) return { status: 403, message: `origin ${origin} may not control this page` };
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return { status: 403, message: `a ${String(site)} request may not control this page` };
  if (token === undefined) return { status: 403, message: 'this page was started without a token: it is read-only' };
  const auth = req.headers.authorization ?? '';
  const given = /^Bearer ([\x21-\x7e]+)$/.exec(auth)?.[1];
  if (given === undefined || !timingSafeEqual(digest(given), digest(token))) {
    return { status: 401, message: given === undefined ? 'a control needs the header "Authorization: Bearer <token>" (the token printed when the page started)' : 'wrong token' };
  }
  const length = Number(req.headers['content-length'] ?? 0);
  if (!(length <= MAX_CONTROL_BODY)) return { status: 413, message: `a control request's body may hold ${MAX_CONTROL_BODY} bytes at most` };
  let got = 0;
  for await (const chunk of req) {
    got += (chunk as Buffer).length;
    if (got > MAX_CONTROL_BODY) return { status: 413, message: `a control request's body may hold ${MAX_CONTROL_BODY} bytes at most` };
  }
  return undefined;
}
