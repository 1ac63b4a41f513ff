// Reading pcap files the way a user would: with tcpdump -r.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The frames of capture file `path`, as tcpdump -r -xx prints them; none while the file does not exist. */
export function tcpdumpFrames(path: string): Buffer[] {
  if (!existsSync(path)) return [];
  const out = execFileSync('tcpdump', ['-r', path, '-nn', '-xx'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const frames: string[] = [];
  for (const line of out.split('\n')) {
    const hex = /^\s+0x[0-9a-f]{4}:\s+((?:[0-9a-f]{2,4}\s?)+)/.exec(line);
    if (!hex) frames.push('');
    else frames.push(`${frames.pop() ?? ''}${hex[1]!.replace(/\s/g, '')}`);
  }
  return frames.filter((f) => f !== '').map((f) => Buffer.from(f, 'hex'));
}
