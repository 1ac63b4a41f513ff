// OVS-style remote names: "punix:PATH" and "ptcp:PORT[:IP]" to listen on, "unix:PATH" and
// "tcp:IP:PORT" to connect to.

import { OvsdbError } from './errors.js';

export type ListenAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; port: number; host: string };

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
  if (remote.startsWith('ptcp:')) {
    const rest = remote.slice(5);
    const colon = rest.indexOf(':');
    const port = parsePort(colon < 0 ? rest : rest.slice(0, colon), remote);
    // Loopback unless an address is given: a management database should not face the network by accident.
    return { kind: 'tcp', port, host: colon < 0 ? '127.0.0.1' : splitHost(rest.slice(colon + 1)) };
  }
  throw new OvsdbError('syntax error', `"${remote}" is not a listening remote; use punix:PATH or ptcp:PORT[:IP]`);
}

export function parseConnect(remote: string): ListenAddress {
  if (remote.startsWith('unix:') && remote.length > 5) return { kind: 'unix', path: remote.slice(5) };
  if (remote.startsWith('tcp:')) {
    const rest = remote.slice(4);
    const colon = rest.lastIndexOf(':');
    if (colon < 0) throw new OvsdbError('syntax error', `"${remote}" needs a port: tcp:IP:PORT`);
    return { kind: 'tcp', host: splitHost(rest.slice(0, colon)), port: parsePort(rest.slice(colon + 1), remote) };
  }
  throw new OvsdbError('syntax error', `"${remote}" is not a remote to connect to; use unix:PATH or tcp:IP:PORT`);
}
