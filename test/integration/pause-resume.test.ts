// controller(pause) against a real peer: Debian's `ovs-ofctl monitor BRIDGE resume` prints the
// NXT_PACKET_IN2 the switch sends (continuation.* lines: OVS decodes TVS's continuation) and
// answers each with NXT_RESUME built by OVS's own code, which the switch must accept byte for
// byte: the frame then goes on to port 2.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dummyLan, stopDummyLans } from '../helpers/dummy-lan.js';
import { eventually } from '../helpers/eventually.js';

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill();
  await stopDummyLans();
});

/** Runs `ovs-ofctl ARGS` with OVS_RUNDIR where the switch keeps its bridges' sockets; its stderr (where monitor prints) accumulates. */
function ovsOfctl(mgmtSocket: string, args: string[]): { stderr: () => string } {
  const child = spawn('ovs-ofctl', args, { env: { ...process.env, OVS_RUNDIR: dirname(mgmtSocket.slice('unix:'.length)) } });
  children.push(child);
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { stderr: () => err };
}

describe('ovs-ofctl monitor ... resume against the switch', () => {
  it('reads the paused packet-in and its continuation, resumes it, and the frame reaches port 2', async () => {
    const { sw, hosts: [h1, h2] } = await dummyLan(2);
    const mgmt = sw.daemon.mgmtSocket('br0');
    await sw.addFlow('br0', 'priority=100,in_port=1,actions=controller(pause,userdata=01.02),load:0x5->NXM_NX_REG0[],resubmit(,1)');
    await sw.addFlow('br0', 'table=1,reg0=0x5,actions=output:2');
    const monitor = ovsOfctl(mgmt, ['monitor', 'br0', 'resume']);
    const frame = h1.udpTo(h2, { sport: 1000, dport: 2000 });
    // Frames paused before the monitor has set itself up go to no controller and are never
    // resumed; once it has, the next one comes back through it.
    await eventually(
      async () => {
        h1.send(frame);
        const got = await h2.receive({ match: (f) => f.equals(frame), timeoutMs: 500 }).catch(() => []);
        return got.length > 0;
      },
      20_000,
      `a frame resumed by ovs-ofctl monitor (its stderr: ${monitor.stderr()})`,
    );
    // What monitor received, then "send: " and what it answered, each flushed as it goes.
    const printed = monitor.stderr();
    expect(printed).toContain('NXT_PACKET_IN2');
    expect(printed).toContain('userdata=01.02');
    expect(printed).toMatch(/continuation\.bridge=[0-9a-f-]{36}/);
    expect(printed).toContain('continuation.actions=unroll_xlate(table=0, cookie=0),load:0x5->NXM_NX_REG0[],resubmit(,1)');
    expect(printed).toContain('send: NXT_RESUME');
    expect(printed).not.toContain('OFPT_ERROR');
  });
});
