// Capture filters: a tcpdump expression (`icmp`, `arp or port 53`) compiled
// to classic BPF by tcpdump itself (`tcpdump -y EN10MB -ddd EXPR`), which the
// datapath validates and runs on each frame of a captured port. tcpdump's
// compiler is the reference for the expression language, so users get
// exactly the filters, and the error messages, they know.
import { execFile } from 'node:child_process';
import { CAPTURE } from '../datapath/abi.js';

/** Compiles `expression` into `struct sock_filter` instructions for the datapath; rejects with tcpdump's message. */
export function compileFilter(expression: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile('tcpdump', ['-y', 'EN10MB', '-ddd', expression], { timeout: 10_000 }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        reject(new Error('capture filters are compiled by tcpdump, which is not installed (apt-get install tcpdump)'));
        return;
      }
      if (err) {
        const why = stderr.trim().split('\n').pop() ?? err.message;
        reject(new Error(`bad capture filter expression "${expression}": ${why}`));
        return;
      }
      // `-ddd`: the instruction count, then "code jt jf k" in decimal a line.
      const [count, ...lines] = stdout.trim().split('\n');
      const insns = lines.map((l) => l.trim().split(/\s+/).map(Number));
      if (Number(count) !== insns.length || insns.some((i) => i.length !== 4 || i.some((n) => !Number.isInteger(n)))) {
        reject(new Error(`capture filter "${expression}": cannot read tcpdump's compiled program`));
        return;
      }
      const b = Buffer.alloc(insns.length * CAPTURE.bpfInsnLen);
      insns.forEach(([code = 0, jt = 0, jf = 0, k = 0], i) => {
        const at = i * CAPTURE.bpfInsnLen;
        b.writeUInt16LE(code, at);
        b.writeUInt8(jt, at + 2);
        b.writeUInt8(jf, at + 3);
        b.writeUInt32LE(k >>> 0, at + 4);
      });
      resolve(b);
    });
  });
}
