/**
 * TLS for the `ssl:` and `pssl:` remotes of every TVS tool and daemon, configured as OVS's
 * stream-ssl is: a private key, a certificate, and the CA certificate peers are verified against,
 * each a PEM file (`--private-key`, `--certificate`, `--ca-cert`, or the SSL table's columns).
 *
 * As in OVS, both sides present certificates and both verify the other's chain against the CA;
 * host names are not checked (a switch is known by its certificate, not by its address).
 * `--bootstrap-ca-cert=FILE` trusts the peer's CA on first use: while FILE does not exist, the
 * first peer's chain is accepted, its self-signed root is saved as FILE, and from then on FILE is
 * the CA. `--peer-ca-cert=FILE` sends FILE after our certificate, so that such peers can learn it.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as tls from 'node:tls';
import type { OptionWord } from './command-line.js';
import { getLogger } from './log.js';

const log = getLogger('stream_ssl');

/** The files of a TLS configuration, as the options or an SSL row name them. */
export interface TlsFiles {
  privateKey?: string;
  certificate?: string;
  /** The CA peers are verified against; `none` verifies nothing (as OVS's `--ca-cert=none`). */
  caCert?: string;
  /** caCert is learned from the first peer while the file does not exist. */
  bootstrap?: boolean;
  /** A CA certificate sent after ours, for peers that bootstrap. */
  peerCaCert?: string;
}

/** A TLS configuration that cannot be used; the message names the option and the fix. */
export class TlsConfigError extends Error {}

/** Takes the TLS options OVS's tools share (stream-ssl.h's STREAM_SSL_LONG_OPTIONS); false for any other. */
export function takeTlsOption(o: OptionWord, files: TlsFiles): boolean {
  switch (o.flag) {
    case '-p':
    case '--private-key':
      files.privateKey = o.value();
      return true;
    case '-c':
    case '--certificate':
      files.certificate = o.value();
      return true;
    case '-C':
    case '--ca-cert':
      files.caCert = o.value();
      files.bootstrap = false;
      return true;
    case '--bootstrap-ca-cert':
      files.caCert = o.value();
      files.bootstrap = true;
      return true;
    case '--peer-ca-cert':
      files.peerCaCert = o.value();
      return true;
    case '--ssl-protocols':
    case '--ssl-ciphers':
      o.value(); // Node's defaults (TLS 1.2 and 1.3, OpenSSL's ciphers) serve; OVS's peers accept them.
      return true;
    default:
      return false;
  }
}

/** Short TLS options that take a value (`-pKEY`). */
export const TLS_SHORT_OPTIONS = ['-p', '-c', '-C'];

/** The usage lines of the TLS options, as OVS's tools print them. */
export const TLS_USAGE = `PKI configuration (required to use SSL/TLS):
  -p, --private-key=FILE  file with private key
  -c, --certificate=FILE  file with certificate for private key
  -C, --ca-cert=FILE      file with peer CA certificate
  --bootstrap-ca-cert=FILE  file with peer CA certificate to read or create
  --peer-ca-cert=FILE     file with CA certificate to send to peers
`;

function readPem(path: string, what: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new TlsConfigError(`${path}: cannot read the ${what} (${why}); give an existing PEM file with ${option}`);
  }
}

/** --ca-cert=none is warned about once per process, not per connection. */
let warnedNoVerification = false;

/** Whether the CA is still to be learned from the first peer. */
function bootstrapping(files: TlsFiles): boolean {
  return files.bootstrap === true && files.caCert !== undefined && !existsSync(files.caCert);
}

/** Node's TLS options for one side of a connection, from the files; throws TlsConfigError naming what is missing. */
function secureOptions(files: TlsFiles): tls.SecureContextOptions & { rejectUnauthorized: boolean } {
  if (files.privateKey === undefined) throw new TlsConfigError('SSL/TLS needs a private key: give --private-key (-p) or set-ssl');
  if (files.certificate === undefined) throw new TlsConfigError('SSL/TLS needs a certificate: give --certificate (-c) or set-ssl');
  if (files.caCert === undefined) throw new TlsConfigError('SSL/TLS needs the CA certificate that peers are verified against: give --ca-cert (-C) or --bootstrap-ca-cert');
  const key = readPem(files.privateKey, 'private key', '--private-key');
  let cert = readPem(files.certificate, 'certificate', '--certificate');
  if (files.peerCaCert !== undefined) cert = Buffer.concat([cert, Buffer.from('\n'), readPem(files.peerCaCert, 'peer CA certificate', '--peer-ca-cert')]);
  const opts: tls.SecureContextOptions & { rejectUnauthorized: boolean } = { key, cert, rejectUnauthorized: false };
  if (files.caCert !== 'none' && !bootstrapping(files)) {
    opts.ca = readPem(files.caCert, 'CA certificate', files.bootstrap ? '--bootstrap-ca-cert' : '--ca-cert');
    opts.rejectUnauthorized = true;
  }
  if (files.caCert === 'none' && !warnedNoVerification) {
    warnedNoVerification = true;
    log.warn('--ca-cert=none: peers are not verified; anyone can connect and be connected to');
  }
  return opts;
}

/** OpenSSL's words (X509_verify_cert_error_string) for the verification errors peers meet most. */
const OPENSSL_REASONS: Readonly<Record<string, string>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get issuer certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
};

/** The advice for a peer that failed verification, by OpenSSL's reason. */
function fixFor(code: string | undefined): string {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return 'renew the peer certificate';
    case 'CERT_NOT_YET_VALID':
      return "check both hosts' clocks";
    case 'NO_PEER_CERTIFICATE':
    case 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED':
      return 'the peer must present a certificate (its --private-key and --certificate, or set-ssl)';
    default:
      return 'the peer certificate must be signed by the CA in --ca-cert (ovs-pki sign), or --ca-cert must name the CA that signed it';
  }
}

/** A log line's words for a refused peer: who, why (OpenSSL's reason) and what to do. */
function describeTlsFailure(peer: string, err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return `${peer}: TLS connection refused: ${err.message}${code && !err.message.includes(code) ? ` (${code})` : ''}; ${fixFor(code)}`;
}

/** The self-signed root of the chain the peer sent (not its own certificate), as PEM, if it sent one. */
function peerRootPem(socket: tls.TLSSocket): string | undefined {
  let cert = socket.getPeerCertificate(true);
  for (let depth = 0; depth < 10; depth++) {
    // Node links a self-signed certificate to itself as its own issuer.
    const issuer = cert.issuerCertificate as tls.DetailedPeerCertificate | undefined;
    if (!issuer) return undefined;
    if (issuer === cert || issuer.fingerprint256 === cert.fingerprint256) return depth > 0 ? new X509Certificate(cert.raw).toString() : undefined;
    cert = issuer;
  }
  return undefined;
}

/**
 * Bootstraps the CA from `socket`'s peer if the configuration asks for it: saves the peer's root
 * as the CA file and returns true, or returns an error for a peer that sent no CA to learn.
 */
function learnCa(files: TlsFiles, socket: tls.TLSSocket, peer: string): Error | undefined {
  if (!bootstrapping(files)) return undefined;
  const pem = peerRootPem(socket);
  if (!pem) {
    return new Error(`${peer}: the peer sent no CA certificate to bootstrap ${files.caCert!} from; start it with --peer-ca-cert=its CA, or copy the CA certificate to ${files.caCert!}`);
  }
  try {
    writeFileSync(files.caCert!, pem, { flag: 'wx', mode: 0o644 });
    log.info(`${peer}: trusted the peer's CA certificate on first use and saved it as ${files.caCert!}`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return new Error(`${files.caCert!}: cannot save the bootstrapped CA certificate: ${(e as Error).message}`);
  }
  return undefined;
}

/** Checks that a connection we did not let OpenSSL reject is one we accept, learning the CA if bootstrapping. */
function verifyAfterHandshake(files: TlsFiles, socket: tls.TLSSocket, peer: string): Error | undefined {
  if (files.caCert === 'none') return undefined;
  if (socket.authorized) return undefined;
  if (bootstrapping(files)) return learnCa(files, socket, peer);
  if (Object.keys(socket.getPeerCertificate()).length === 0) return Object.assign(new Error('the peer presented no certificate'), { code: 'NO_PEER_CERTIFICATE' });
  // Typed as an Error, it is OpenSSL's code at run time (UNABLE_TO_VERIFY_LEAF_SIGNATURE).
  const reason = socket.authorizationError as unknown as string | null;
  const code = reason ?? 'CERT_REJECTED';
  return Object.assign(new Error(OPENSSL_REASONS[code] ?? code), { code });
}

/**
 * A TLS server for pssl: that verifies its clients and hands each verified socket to
 * `onSecureSocket`. Refused clients are logged (`label`: the listening remote) and dropped; the
 * server keeps serving. The configuration is read again for every connection, so a renewed
 * certificate or a bootstrapped CA is used without restarting.
 */
export function createTlsServer(files: () => TlsFiles, label: string, onSecureSocket: (socket: tls.TLSSocket) => void): tls.Server {
  let current = secureOptions(files());
  // Verification is ours, after the handshake (OpenSSL is told to accept any chain): so that the
  // log names the peer and OpenSSL's reason, and so that a bootstrapping server sees the chain.
  const server = tls.createServer({ ...current, requestCert: true, rejectUnauthorized: false }, (socket) => {
    const peer = `${label}: ${socket.remoteAddress ?? 'peer'}:${socket.remotePort ?? 0}`;
    const failure = verifyAfterHandshake(files(), socket, peer);
    if (failure) {
      log.warn(describeTlsFailure(peer, failure));
      socket.destroy();
      return;
    }
    onSecureSocket(socket);
  });
  server.on('tlsClientError', (err, socket) => {
    // A handshake that failed has lost its address by now; a client that refused us says why in its own log.
    const line = `${label}: ${socket.remoteAddress ?? 'a client'}: TLS handshake failed: ${err.message}`;
    // A peer that hangs up before the handshake (a port probe, a readiness check) is no alarm.
    if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') log.info(line);
    else log.warn(line);
  });
  server.prependListener('connection', () => {
    // Picks up a changed configuration (new files, a bootstrapped CA) before the handshake.
    try {
      const next = secureOptions(files());
      if (JSON.stringify(next) !== JSON.stringify(current)) {
        current = next;
        server.setSecureContext({ ...current });
      }
    } catch (e) {
      log.warn(`${label}: keeping the previous TLS configuration: ${(e as Error).message}`);
    }
  });
  return server;
}

/**
 * Connects to an ssl: remote and verifies the server against the CA (or learns the CA, when
 * bootstrapping). Rejects with the reason and the fix when the server is refused.
 */
export function tlsConnect(files: TlsFiles, host: string, port: number, label: string, timeoutMs?: number): Promise<tls.TLSSocket> {
  const opts = secureOptions(files);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ ...opts, host, port, rejectUnauthorized: false, checkServerIdentity: () => undefined });
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            socket.destroy();
            reject(new Error(`${label}: connection timed out after ${timeoutMs} ms`));
          }, timeoutMs);
    let tcpConnected = false;
    socket.once('connect', () => (tcpConnected = true));
    const onError = (err: Error): void => {
      clearTimeout(timer);
      // Before TCP connects, the error is the network's (ECONNREFUSED...), kept as it is for the callers' strerror.
      reject(tcpConnected ? Object.assign(new Error(describeTlsFailure(label, err)), { code: (err as NodeJS.ErrnoException).code }) : err);
    };
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      // OpenSSL was told to accept any chain so that bootstrapping can see it: verify here.
      const failure = opts.rejectUnauthorized || bootstrapping(files) ? verifyAfterHandshake(files, socket, label) : undefined;
      if (failure) {
        socket.destroy();
        const message = describeTlsFailure(label, failure);
        log.warn(message);
        reject(new Error(message));
        return;
      }
      resolve(socket);
    });
  });
}

/** Whether the files name anything at all (an SSL row or options were given). */
export function hasTlsFiles(files: TlsFiles): boolean {
  return files.privateKey !== undefined || files.certificate !== undefined || files.caCert !== undefined;
}
