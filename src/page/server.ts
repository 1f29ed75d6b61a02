/**
 * The station page's HTTP server ({@link servePage}), on `node:http`: a handful of fixed routes
 * (the page's assets, `/state`, `/events`, `/report.*`, `/control/*`) need no router, and a
 * framework would add a dependency to every install of the library for nothing the page uses.
 *
 * Routes: `GET /` and the page's assets; `GET /state` (the snapshot as JSON); `GET /events`
 * (server-sent events, see `sse.ts`); `GET /report.json|csv|xml` once the run has a report;
 * `POST /control/<action>` with `Authorization: Bearer <token>`.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadAssets, type PageAsset } from './assets.js';
import { checkControl, checkHost, isLoopback, SECURITY_HEADERS } from './http-guard.js';
import { RunState, type PageEvent, type PageRun, type PageSnapshot } from './model.js';
import { SseHub } from './sse.js';

/** Options of {@link servePage}. */
export interface ServePageOptions {
  /** Address to bind. Default `127.0.0.1` (this machine only); give `0.0.0.0` to serve a network. */
  host?: string;
  /** TCP port; 0 (default) picks a free one (see {@link PageServer.port}). */
  port?: number;
  /**
   * Bearer token the control requests must carry. Default: 24 random bytes (base64url), see
   * {@link PageServer.token}. `false`: no controls at all (a read-only page).
   */
  token?: string | false;
  /** The run shown first. */
  run?: Partial<PageRun>;
  /** Minimum interval between two updates to the pages, ms. Default 250 (four a second). */
  updateIntervalMs?: number;
  /** Pages connected at once. Default 64. */
  maxClients?: number;
}

/** Report bodies by format; each is called when someone downloads it. */
export interface PageReports {
  json?: () => string;
  csv?: () => string;
  junit?: () => string;
}

/** A served page: feed it events, offer controls and reports, close it. */
export interface PageServer {
  /** The page's address, `http://127.0.0.1:PORT/` by default. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The control token, or undefined for a read-only page. Give it to operators, not to the page's URL in logs. */
  readonly token: string | undefined;
  /** Folds one event (or several, sent as one change) into the state; pages get it within the update interval. */
  publish(events: PageEvent | readonly PageEvent[]): void;
  /** Offers (or with `undefined`, withdraws) a control action such as `abort`, `pause`, `resume`, `cancel`. */
  setControl(action: string, handler: (() => void | Promise<void>) | undefined): void;
  /** Offers the run's reports for download (replacing earlier ones); `undefined` withdraws them. */
  setReports(reports: PageReports | undefined): void;
  /** Starts showing a new run (clears the rows, controls and reports). */
  reset(run?: Partial<PageRun>): void;
  /** The current state. */
  snapshot(): PageSnapshot;
  /** Pages connected now. */
  readonly clients: number;
  /** Sends pending updates now (e.g. before lingering on a finished run). */
  flush(): void;
  /** Ends the event streams and stops the server. */
  close(): Promise<void>;
}

const REPORTS: Record<string, { key: keyof PageReports; type: string; file: string }> = {
  '/report.json': { key: 'json', type: 'application/json; charset=utf-8', file: 'report.json' },
  '/report.csv': { key: 'csv', type: 'text/csv; charset=utf-8', file: 'report.csv' },
  '/report.xml': { key: 'junit', type: 'application/xml; charset=utf-8', file: 'report-junit.xml' },
};
const ACTION = /^\/control\/([a-z][a-z-]{0,31})$/;

/**
 * Serves the station page. It binds `127.0.0.1` unless told otherwise; control requests need the
 * token; everything else is read-only.
 * @example
 * ```ts
 * import { bulkFlash, servePage, pageBulkRun } from 'mcumgr-toolkit';
 * const page = await servePage({ port: 8080 });
 * console.error(`page: ${page.url}#token=${page.token}`);
 * const run = pageBulkRun(page, targets);
 * run.finish(await bulkFlash(targets, image, { signal: run.signal, onProgress: run.onProgress }));
 * ```
 */
export async function servePage(opts: ServePageOptions = {}): Promise<PageServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  if (typeof host !== 'string' || host === '') throw new TypeError('servePage: host must be an address such as 127.0.0.1');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`servePage: port must be an integer 0..65535, got ${String(port)}`);
  if (opts.token !== undefined && opts.token !== false && (typeof opts.token !== 'string' || opts.token.length < 8 || /[^\x21-\x7e]/.test(opts.token))) {
    throw new TypeError('servePage: token must be at least 8 printable ASCII characters without spaces (or false for a read-only page)');
  }
  const interval = opts.updateIntervalMs ?? 250;
  if (!Number.isFinite(interval) || interval < 0) throw new RangeError(`servePage: updateIntervalMs must be ≥ 0, got ${String(interval)}`);
  const token = opts.token === false ? undefined : (opts.token ?? randomBytes(24).toString('base64url'));
  const assets = await loadAssets();

  let state = new RunState(opts.run);
  const hub = new SseHub(state, interval, opts.maxClients ?? 64);
  const controls = new Map<string, () => void | Promise<void>>();
  let reports: PageReports | undefined;
  const loopback = isLoopback(host);

  const server: Server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000, maxHeaderSize: 8192 }, (req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    try {
      route(req, res);
    } catch (e) {
      send(res, 500, 'text/plain; charset=utf-8', `page: ${(e as Error).message}\n`);
    }
  });
  server.keepAliveTimeout = 5_000;

  function route(req: IncomingMessage, res: ServerResponse): void {
    const bad = checkHost(req, loopback);
    if (bad) return send(res, 403, 'text/plain; charset=utf-8', `${bad}\n`);
    const path = (req.url ?? '/').split('?')[0]!;
    const control = ACTION.exec(path);
    if (control) return void handleControl(req, res, control[1]!);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', `${req.method} is not allowed here; the page only reads (controls are POST /control/<action>)\n`);
    }
    const asset: PageAsset | undefined = assets.get(path);
    if (asset) return send(res, 200, asset.type, asset.body, req.method === 'HEAD');
    if (path === '/state') return send(res, 200, 'application/json; charset=utf-8', JSON.stringify(state.snapshot()), req.method === 'HEAD');
    if (path === '/events') {
      if (!hub.add(req, res)) send(res, 503, 'text/plain; charset=utf-8', 'too many pages connected\n');
      return;
    }
    const r = REPORTS[path];
    if (r) {
      const make = reports?.[r.key];
      if (!make) return send(res, 404, 'text/plain; charset=utf-8', 'no report yet: it is ready when the run ends\n');
      res.setHeader('Content-Disposition', `attachment; filename="${r.file}"`);
      return send(res, 200, r.type, make(), req.method === 'HEAD');
    }
    send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  }

  async function handleControl(req: IncomingMessage, res: ServerResponse, action: string): Promise<void> {
    const refused = await checkControl(req, token);
    if (refused) {
      if (refused.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="mcumgr page"');
      if (refused.status === 405) res.setHeader('Allow', 'POST');
      return send(res, refused.status, 'application/json; charset=utf-8', JSON.stringify({ ok: false, error: refused.message }));
    }
    const handler = controls.get(action);
    if (!handler) return send(res, 404, 'application/json; charset=utf-8', JSON.stringify({ ok: false, error: `no control "${action}" on this run; offered: ${[...controls.keys()].join(', ') || 'none'}` }));
    try {
      await handler();
      send(res, 202, 'application/json; charset=utf-8', JSON.stringify({ ok: true, action }));
    } catch (e) {
      send(res, 409, 'application/json; charset=utf-8', JSON.stringify({ ok: false, error: (e as Error).message }));
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  const changed = (): void => hub.changed();
  return {
    url: `http://${urlHost}:${bound}/`,
    host,
    port: bound,
    token,
    get clients() {
      return hub.clients;
    },
    publish(events) {
      for (const e of Array.isArray(events) ? (events as readonly PageEvent[]) : [events as PageEvent]) state.apply(e);
      changed();
    },
    setControl(action, handler) {
      if (!/^[a-z][a-z-]{0,31}$/.test(action)) throw new TypeError(`setControl: action must be a lowercase word (a-z, -), got ${JSON.stringify(action)}`);
      if (token === undefined) return; // a read-only page offers nothing
      if (handler) controls.set(action, handler);
      else controls.delete(action);
      state.setControls([...controls.keys()]);
      changed();
    },
    setReports(r) {
      reports = r;
      state.setReports(r ? (Object.keys(r) as string[]).filter((k) => typeof r[k as keyof PageReports] === 'function') : []);
      changed();
    },
    reset(run) {
      state = new RunState(run);
      controls.clear();
      reports = undefined;
      hub.reset(state);
    },
    snapshot: () => state.snapshot(),
    flush: () => hub.flush(),
    close: async () => {
      hub.flush();
      hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headOnly = false): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': buf.length });
  res.end(headOnly ? undefined : buf);
}

/**
 * Reads a `--serve` value: `PORT`, `HOST:PORT` or `[IPv6]:PORT`. The host defaults to 127.0.0.1.
 * @throws RangeError naming the value and the accepted forms.
 */
export function parseServeAddress(value: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new RangeError(`--serve takes PORT, HOST:PORT or [IPv6]:PORT (e.g. 8080 or 0.0.0.0:8080), got ${JSON.stringify(value)}`);
  const host = m[1] ? m[1].replace(/^\[|\]$/g, '') : '127.0.0.1';
  return { host, port };
}
