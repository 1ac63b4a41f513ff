// A TCP transfer between two namespace hosts with an end-to-end checksum:
// proves that every byte crossed the switch intact (large writes make the
// kernel hand the switch GSO super-frames).
import { spawn } from 'node:child_process';
import type { Host } from '../../src/lib/netns.js';

const SERVER = `
const net = require('net'), crypto = require('crypto');
const srv = net.createServer((s) => {
  const h = crypto.createHash('sha256'); let n = 0;
  s.on('data', (d) => { h.update(d); n += d.length; });
  s.on('end', () => { process.stdout.write(JSON.stringify({ bytes: n, sha: h.digest('hex') }) + '\\n'); s.end(); srv.close(); });
});
srv.listen(Number(process.argv[1]), () => process.stdout.write('ready\\n'));
`;

const CLIENT = `
const net = require('net'), crypto = require('crypto');
const total = Number(process.argv[3]), chunk = crypto.randomBytes(1 << 20), h = crypto.createHash('sha256');
const s = net.connect(Number(process.argv[2]), process.argv[1], () => {
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const part = chunk.subarray(0, Math.min(chunk.length, total - sent));
      h.update(part); sent += part.length;
      if (!s.write(part)) return s.once('drain', pump);
    }
    s.end(); process.stdout.write(JSON.stringify({ bytes: sent, sha: h.digest('hex') }) + '\\n');
  };
  pump();
});
s.on('error', (e) => { console.error(e.message); process.exit(1); });
`;

export interface TransferResult {
  sent: { bytes: number; sha: string };
  received: { bytes: number; sha: string };
}

export async function tcpTransfer(server: Host, client: Host, bytes: number, port = 5201): Promise<TransferResult> {
  const srv = spawn('ip', ['netns', 'exec', server.ns, process.execPath, '-e', SERVER, String(port)]);
  let srvOut = '';
  const srvDone = new Promise<void>((resolve) => srv.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    srv.stdout.on('data', (d: Buffer) => {
      srvOut += d.toString();
      if (srvOut.includes('ready')) resolve();
    });
    srv.on('exit', (code, signal) => reject(new Error(`TCP server in ${server.ns} exited early (${String(code ?? signal)})`)));
  });
  try {
    const out = await client.exec(process.execPath, ['-e', CLIENT, server.ip, String(port), String(bytes)], { timeoutMs: 60_000 });
    const timeout = setTimeout(() => srv.kill(), 30_000);
    await srvDone;
    clearTimeout(timeout);
    const received = JSON.parse(srvOut.split('\n').find((l) => l.startsWith('{')) ?? '{"bytes":0,"sha":""}') as TransferResult['received'];
    return { sent: JSON.parse(out.trim()) as TransferResult['sent'], received };
  } finally {
    srv.kill();
  }
}
