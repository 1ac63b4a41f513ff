// OVS-style remote names: "punix:PATH", "ptcp:PORT[:IP]" and "pssl:PORT[:IP]" to listen on,
// "unix:PATH", "tcp:IP:PORT" and "ssl:IP:PORT" to connect to (ssl: and pssl: are TCP with TLS).

import { OvsdbError } from './errors.js';

export type ListenAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; port: number; host: string; tls: boolean };

function parsePort(s: string, remote: string): number {
  const port = Number(s);
  if (!/^\d+$/.test(s) || port > 65535) throw new OvsdbError('syntax error', `${remote}: "${s}" is not a TCP port number (0-65535)`);
  return port;
}

/** Strips the brackets OVS puts around IPv6 addresses ("[::1]"). */
function splitHost(s: string): string {
  return s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
}

export function parseListen(remote: string): ListenAddress {
  if (remote.startsWith('punix:') && remote.length > 6) return { kind: 'unix', path: remote.slice(6) };
  const tcp = /^p(tcp|ssl):/.exec(remote);
  if (tcp) {
    const rest = remote.slice(5);
    const colon = rest.indexOf(':');
    const port = parsePort(colon < 0 ? rest : rest.slice(0, colon), remote);
    // Loopback unless an address is given: a management database should not face the network by accident.
    return { kind: 'tcp', port, host: colon < 0 ? '127.0.0.1' : splitHost(rest.slice(colon + 1)), tls: tcp[1] === 'ssl' };
  }
  throw new OvsdbError('syntax error', `"${remote}" is not a listening remote; use punix:PATH, ptcp:PORT[:IP] or pssl:PORT[:IP]`);
}

export function parseConnect(remote: string): ListenAddress {
  if (remote.startsWith('unix:') && remote.length > 5) return { kind: 'unix', path: remote.slice(5) };
  const tcp = /^(tcp|ssl):/.exec(remote);
  if (tcp) {
    const rest = remote.slice(4);
    const colon = rest.lastIndexOf(':');
    if (colon < 0) throw new OvsdbError('syntax error', `"${remote}" needs a port: ${tcp[1]!}:IP:PORT`);
    return { kind: 'tcp', host: splitHost(rest.slice(0, colon)), port: parsePort(rest.slice(colon + 1), remote), tls: tcp[1] === 'ssl' };
  }
  throw new OvsdbError('syntax error', `"${remote}" is not a remote to connect to; use unix:PATH, tcp:IP:PORT or ssl:IP:PORT`);
}
