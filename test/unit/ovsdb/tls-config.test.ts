// What a database server and client say when their TLS configuration cannot work, and how
// tvsdb-server's db:DATABASE,TABLE,COLUMN references to PKI files are looked up (as ovsdb-server's).
// The handshakes themselves, with ovs-pki's certificates, are in test/compat/tls.test.ts.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OvsdbClient } from '../../../src/ovsdb/client.js';
import { parseConnect, parseListen } from '../../../src/ovsdb/remote.js';
import { type Fixture, startServer } from './helpers.js';

describe('ssl: and pssl: remotes', () => {
  it('listen on loopback unless an address is given, and connect to IPv6 in brackets', () => {
    expect(parseListen('pssl:6640')).toEqual({ kind: 'tcp', port: 6640, host: '127.0.0.1', tls: true });
    expect(parseListen('ptcp:6640:0.0.0.0')).toEqual({ kind: 'tcp', port: 6640, host: '0.0.0.0', tls: false });
    expect(parseConnect('ssl:[::1]:6640')).toEqual({ kind: 'tcp', host: '::1', port: 6640, tls: true });
  });

  it('refuses an ssl: remote with no port and names the form', () => {
    expect(() => parseConnect('ssl:127.0.0.1')).toThrow(/needs a port: ssl:IP:PORT/);
  });
});

describe('a TLS configuration that cannot work', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startServer();
  });
  afterAll(async () => {
    await fx.stop();
  });

  it('refuses pssl: without a private key and names the option', async () => {
    await expect(fx.server.listen('pssl:0', () => ({}))).rejects.toThrow(/pssl:0: SSL\/TLS needs a private key: give --private-key \(-p\) or set-ssl/);
  });

  it('refuses pssl: given no PKI at all, naming the three options', async () => {
    await expect(fx.server.listen('pssl:0')).rejects.toThrow(/give --private-key, --certificate and --ca-cert/);
  });

  it('names a certificate file that does not exist and the option that gives it', async () => {
    const key = fx.dir.file('key.pem');
    writeFileSync(key, 'not used: the certificate is missing first');
    const files = { privateKey: key, certificate: fx.dir.file('missing-cert.pem'), caCert: fx.dir.file('ca.pem') };
    await expect(fx.server.listen('pssl:0', () => files)).rejects.toThrow(/missing-cert\.pem: cannot read the certificate \(no such file\); give an existing PEM file with --certificate/);
  });

  it('refuses an ssl: connection without PKI options before connecting, naming them', async () => {
    await expect(OvsdbClient.connect('ssl:127.0.0.1:1', { reconnect: false })).rejects.toThrow(/ssl:127\.0\.0\.1:1: SSL\/TLS needs a private key, certificate and CA certificate/);
  });
});

describe('db:DATABASE,TABLE,COLUMN references', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startServer();
    const c = await fx.client();
    await c.transact('Test', { op: 'insert', table: 'Root', row: { name: '/etc/tvs/key.pem', counter: 1 } });
  });
  afterAll(async () => {
    await fx.stop();
  });

  it('read the first non-empty string of the column', () => {
    expect(fx.server.queryString('db:Test,Root,name')).toBe('/etc/tvs/key.pem');
  });

  it('are undefined while no row holds a value, and a plain path is itself', () => {
    expect(fx.server.queryString('db:Test,Child,name')).toBeUndefined();
    expect(fx.server.queryString('/etc/tvs/cert.pem')).toBe('/etc/tvs/cert.pem');
  });

  it("are refused in ovsdb-server's words when the database, table or column does not exist", () => {
    expect(() => fx.server.queryString('db:Nope,Root,name')).toThrow(/"db:Nope,Root,name": no database named Nope/);
    expect(() => fx.server.queryString('db:Test,Nope,name')).toThrow(/"db:Test,Nope,name": no table named Nope/);
    expect(() => fx.server.queryString('db:Test,Root,nope')).toThrow(/"db:Test,Root,nope": table "Root" has no column "nope"/);
    expect(() => fx.server.queryString('db:Test,Root')).toThrow(/invalid syntax; use db:DATABASE,TABLE,COLUMN/);
  });
});
