// The opt-in Prometheus endpoint: Open_vSwitch other_config:metrics-address
// (IP:PORT, or a PORT alone for loopback) serves GET /metrics over HTTP.
// Each reconfiguration pass hands it the setting; a change moves the
// listener at once, removing the setting closes it, and a value that cannot
// be served is logged and reported (status()) while the switch runs on.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { getLogger } from '../lib/log.js';
import { PROMETHEUS_CONTENT_TYPE } from './metrics-text.js';

const log = getLogger('metrics');

const FIX = 'give other_config:metrics-address as IP:PORT, e.g. 127.0.0.1:9475 (a port alone listens on loopback)';

/** Where to listen, from the setting's text; an Error naming the value and the fix when it is not one. */
export function parseMetricsAddress(value: string): { host: string; port: number } | Error {
  const bad = (why: string) => new Error(`metrics-address "${value}": ${why}; ${FIX}`);
  const bracketed = /^\[([^\]]*)\]:(\d*)$/.exec(value);
  const plain = /^([^:[\]]*):(\d*)$/.exec(value);
  const portAlone = /^\d+$/.test(value) ? ['', '', value] : undefined;
  const parts = bracketed ?? plain ?? portAlone;
  if (!parts) return bad('not IP:PORT');
  const [, host = '', portText = ''] = parts;
  if (host !== '' && !isIP(host)) return bad(`"${host}" is not an IP address`);
  if (bracketed && isIP(host) !== 6) return bad(`"[${host}]" is not an IPv6 address`);
  const port = Number(portText);
  if (portText === '' || !Number.isInteger(port) || port > 65535) return bad(`"${portText}" is not a port number (0 to 65535)`);
  return { host: host === '' ? '127.0.0.1' : host, port };
}

/** What the endpoint reports of itself: where it listens, or why it does not. */
export interface MetricsEndpointStatus {
  /** The address it listens on, as IP:PORT (the port chosen when the setting asked for 0). */
  address?: string;
  error?: string;
}

function listenError(e: NodeJS.ErrnoException, host: string, port: number): string {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (e.code) {
    case 'EADDRINUSE':
      return `metrics-address ${where}: the port is already in use by another program; choose a free port in other_config:metrics-address`;
    case 'EADDRNOTAVAIL':
      return `metrics-address ${where}: ${host} is not an address of this host; give one of its addresses, or 127.0.0.1`;
    case 'EACCES':
      return `metrics-address ${where}: permission denied (ports below 1024 need privilege); choose a port above 1023`;
    default:
      return `metrics-address ${where}: cannot listen: ${e.message}`;
  }
}

export class MetricsEndpoint {
  private server: Server | undefined;
  /** The setting currently applied ('' for none). */
  private applied = '';
  private current: MetricsEndpointStatus = {};
  /** The last error logged, to log a persisting one once rather than every pass. */
  private logged: string | undefined;
  /** Listening failed (the port taken, say): the next pass tries again, in case it was freed. */
  private retry = false;

  /** `render` produces the body of each scrape. */
  constructor(private readonly render: () => string) {}

  status(): MetricsEndpointStatus {
    return { ...this.current };
  }

  /** Follow the setting (undefined: none). */
  async apply(setting: string | undefined): Promise<void> {
    const value = setting?.trim() ?? '';
    if (value === this.applied && !this.retry) return;
    await this.close();
    this.applied = value;
    this.current = {};
    this.retry = false;
    if (value === '') {
      this.logged = undefined;
      return;
    }
    const target = parseMetricsAddress(value);
    if (target instanceof Error) return this.fail(target.message);
    try {
      this.server = await this.listen(target.host, target.port);
    } catch (e) {
      this.retry = true;
      return this.fail(listenError(e as NodeJS.ErrnoException, target.host, target.port));
    }
    const bound = this.server.address();
    if (bound && typeof bound === 'object') this.current = { address: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}` };
    this.logged = undefined;
    log.info(`serving Prometheus metrics on http://${this.current.address ?? value}/metrics`);
  }

  private fail(message: string): void {
    this.current = { error: message };
    if (this.logged !== message) log.err(message);
    this.logged = message;
  }

  private listen(host: string, port: number): Promise<Server> {
    const server = createServer((req, res) => this.answer(req, res));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        // A scrape cut short is the scraper's business; the switch only notes it.
        server.on('error', (e) => log.warn(`metrics endpoint: ${e.message}`));
        resolve(server);
      });
    });
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${path ?? ''} is not here: metrics are served at /metrics\n`);
      return;
    }
    if (req.method !== 'GET') {
      res.writeHead(405, { Allow: 'GET', 'Content-Type': 'text/plain; charset=utf-8' }).end(`${req.method ?? ''} is not allowed: /metrics answers GET\n`);
      return;
    }
    let body: string;
    try {
      body = this.render();
    } catch (e) {
      log.err(`metrics endpoint: cannot read the metrics: ${(e as Error).message}`);
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('the switch could not read its metrics; see its log\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE }).end(body);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
