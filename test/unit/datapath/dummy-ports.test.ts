// The datapath on dummy and patch ports: frames injected from JS take the
// same path as a real port's (poll loop, caches, classifier, upcalls,
// actions), and the frames the switch sends are read back from JS. No
// kernel device and no privilege: this file runs as an unprivileged user.
import { afterEach, describe, expect, it } from 'vitest';
import { Datapath, extractKey, type Upcall } from '../../../src/datapath/dpif.js';
import { exactMask } from '../../../src/datapath/flow-key.js';
import { eventually } from '../../helpers/eventually.js';
import { buildFrame } from '../../helpers/frames.js';

let dp: Datapath | undefined;

afterEach(() => dp?.close());

/** A frame from host `src` (02:00:00:00:00:<src>) whose payload starts with `n`, to tell frames apart. */
function frame(src: number, n = 0): Buffer {
  const payload = Buffer.alloc(46);
  payload.writeUInt32BE(n);
  return buildFrame({ dst: '02:00:00:00:00:ff', src: `02:00:00:00:00:${src.toString(16).padStart(2, '0')}`, payload });
}

/** Upcall batches as they arrive; `next()` waits for the next one. */
class UpcallQueue {
  private readonly batches: Upcall[][] = [];
  private waiting: ((batch: Upcall[]) => void) | undefined;
  answer: ((batch: Upcall[]) => void) | undefined;

  readonly onUpcall = (batch: Upcall[]) => {
    this.answer?.(batch);
    if (this.waiting) {
      this.waiting(batch);
      this.waiting = undefined;
    } else {
      this.batches.push(batch);
    }
  };

  next(): Promise<Upcall[]> {
    const queued = this.batches.shift();
    return queued ? Promise.resolve(queued) : new Promise((resolve) => (this.waiting = resolve));
  }
}

function openWith(upcalls?: UpcallQueue): { dp: Datapath; a: number; b: number } {
  dp = Datapath.open(upcalls ? { onUpcall: upcalls.onUpcall } : {});
  return { dp, a: dp.addPort({ type: 'dummy', name: 'a' }).port, b: dp.addPort({ type: 'dummy', name: 'b' }).port };
}

const outputTo = (port: number) => [{ type: 'output' as const, port }];

describe('dummy ports', () => {
  it('forward injected frames through an installed megaflow, counting them as the port stats and hits', async () => {
    const { dp, a, b } = openWith();
    dp.putFlow({ key: { in_port: a }, mask: exactMask(['in_port']), actions: outputTo(b) });
    const frames = [frame(1, 1), frame(1, 2), frame(2, 3)];
    expect(dp.injectFrames(a, frames)).toBe(3);
    expect(await dp.nextTransmitted(b, { count: 3 })).toEqual(frames);
    expect(dp.port(a).stats).toMatchObject({ rxPackets: 3, rxBytes: 180 });
    expect(dp.port(b).stats).toMatchObject({ txPackets: 3, txBytes: 180, txDropped: 0 });
    expect(dp.stats()).toMatchObject({ hit: 3, missed: 0 });
    expect(dp.port('a')).toMatchObject({ type: 'dummy', ifindex: 0, detached: false });
  });

  it('send a miss up once and release the frames held behind it, in order, with its answer', async () => {
    const upcalls = new UpcallQueue();
    const { dp, a, b } = openWith(upcalls);
    const flow = [1, 2, 3, 4, 5].map((n) => frame(1, n));
    dp.injectFrames(a, flow);
    const [up, ...more] = await upcalls.next();
    expect(more).toHaveLength(0);
    expect(up).toMatchObject({ reason: 'miss', port: a });
    expect(up!.frame).toEqual(flow[0]);
    expect(up!.key).toEqual(extractKey(flow[0]!, a));

    const id = dp.replyUpcall(up!, outputTo(b), { mask: exactMask(['in_port', 'eth.src']) });
    expect(await dp.nextTransmitted(b, { count: 5 })).toEqual(flow);
    expect(dp.getFlow(id!)).toMatchObject({ packets: 4 });

    // The flow's later frames hit the megaflow: no upcall comes before they are sent.
    dp.injectFrames(a, [frame(1, 6)]);
    expect(await dp.nextTransmitted(b)).toEqual([frame(1, 6)]);
    expect(dp.stats()).toMatchObject({ upcalls: 1, hit: 1, lost: 0, flows: 1 });
  });

  it('run under a minimal slow path that answers every miss: each flow goes up once', async () => {
    const upcalls = new UpcallQueue();
    const { dp, a, b } = openWith(upcalls);
    const mask = { mask: exactMask(['in_port', 'eth.src']) };
    upcalls.answer = (batch) => dp.replyUpcalls(batch.map((upcall) => ({ upcall, actions: outputTo(b), megaflow: mask })));
    const hosts = Array.from({ length: 20 }, (_, i) => i + 1);
    for (const round of [1, 2, 3]) {
      const sent = hosts.map((h) => frame(h, round));
      dp.injectFrames(a, sent);
      expect(new Set(await dp.nextTransmitted(b, { count: sent.length }))).toEqual(new Set(sent));
    }
    expect(dp.stats()).toMatchObject({ upcalls: 20, flows: 20, hit: 40, lost: 0 });
  });

  it('refuse a second answer to one upcall, saying why', async () => {
    const upcalls = new UpcallQueue();
    const { dp, a, b } = openWith(upcalls);
    dp.injectFrames(a, [frame(1)]);
    const [up] = await upcalls.next();
    expect(dp.replyUpcalls([{ upcall: up!, actions: outputTo(b) }])).toEqual([null]);
    const [again] = dp.replyUpcalls([{ upcall: up!, actions: outputTo(b) }]);
    expect(again).toBe(`upcall 0 of batch ${up!.batch} is no longer held: its batch was answered, finished, or given up 2000 ms after the slow path got it`);
  });

  it('count as lost the misses a slow path leaves unanswered when it finishes their batch', async () => {
    const upcalls = new UpcallQueue();
    const { dp, a, b } = openWith(upcalls);
    dp.injectFrames(a, [frame(1, 1), frame(2, 1), frame(2, 2)]);
    const batch = await upcalls.next();
    expect(batch.map((u) => u.index)).toEqual([0, 1]);
    dp.replyUpcalls([{ upcall: batch[0]!, actions: outputTo(b) }]);
    dp.finishUpcalls(batch);
    expect(dp.stats().lost).toBe(2);
    expect(await dp.nextTransmitted(b)).toEqual([frame(1, 1)]);
    // Host 2's flow is not held any more: its next frame goes up again.
    dp.injectFrames(a, [frame(2, 3)]);
    const [retry] = await upcalls.next();
    expect(retry!.frame).toEqual(frame(2, 3));
  });

  it('hand a userspace action its copy with the cookie, and send the frame on', async () => {
    const upcalls = new UpcallQueue();
    const { dp, a, b } = openWith(upcalls);
    const userdata = Buffer.alloc(8);
    userdata.writeBigUInt64LE(0xfeed_0000_beefn);
    dp.putFlow({ key: { in_port: a }, mask: exactMask(['in_port']), actions: [{ type: 'userspace', pid: 0, userdata }, ...outputTo(b)] });
    dp.injectFrames(a, [frame(1)]);
    const [up] = await upcalls.next();
    expect(up).toMatchObject({ reason: 'action', cookie: 0xfeed_0000_beefn, port: a });
    expect(up!.frame).toEqual(frame(1));
    dp.finishUpcalls([up!]);
    expect(await dp.nextTransmitted(b)).toEqual([frame(1)]);
    expect(dp.stats().lost).toBe(0);
  });

  it('take at most 1024 frames at once, counting the rest as received and dropped', () => {
    const { dp, a } = openWith();
    expect(dp.injectFrames(a, Array.from({ length: 1030 }, (_, n) => frame(1, n)))).toBe(1024);
    expect(dp.port(a).stats.rxDropped).toBe(6);
  });

  it('refuse frames for ports that are not dummy ports, and frames that are not Ethernet frames', () => {
    const { dp, a } = openWith();
    const p = dp.addPort({ type: 'patch', name: 'p', peer: 'q' }).port;
    expect(() => dp.injectFrames(p, [frame(1)])).toThrow(`port ${p} ("p") is a patch port: frames can only be injected into dummy ports`);
    expect(() => dp.takeTransmitted(p)).toThrow(/is a patch port: frames can only be read from dummy ports/);
    expect(() => dp.injectFrames(a, [frame(1), Buffer.alloc(6)])).toThrow(/frame 1 is 6 bytes: a frame is an Ethernet header \(14 bytes\)/);
    expect(() => dp.injectFrames(99, [frame(1)])).toThrow(/no port 99 in the datapath/);
    expect(() => dp.injectFrames(a, ['x' as unknown as Buffer])).toThrow(/frame 0 must be a Buffer/);
  });

  it('hand what a listening port sends to its listener as it is sent, starting with what it sent before', async () => {
    const { dp, a, b } = openWith();
    const witness = dp.addPort({ type: 'dummy', name: 'witness' }).port;
    dp.putFlow({ key: { in_port: a }, mask: exactMask(['in_port']), actions: [...outputTo(b), ...outputTo(witness)] });
    dp.injectFrames(a, [frame(1, 1)]);
    await dp.nextTransmitted(witness);
    const heard: Buffer[] = [];
    let told = () => {};
    dp.setTransmitListener(b, (frames) => {
      heard.push(...frames);
      told();
    });
    expect(heard).toEqual([frame(1, 1)]);
    const next = new Promise<void>((resolve) => (told = resolve));
    dp.injectFrames(a, [frame(1, 2)]);
    await next;
    expect(heard).toEqual([frame(1, 1), frame(1, 2)]);
    expect(dp.takeTransmitted(b)).toEqual([]);
    // Nobody listening: the port keeps its frames for takeTransmitted again.
    dp.setTransmitListener(b, undefined);
    dp.injectFrames(a, [frame(1, 3)]);
    expect(await dp.nextTransmitted(b)).toEqual([frame(1, 3)]);
  });

  it('time out a wait for frames that never come, saying how many came', async () => {
    const { dp, b } = openWith();
    await expect(dp.nextTransmitted(b, { count: 2, timeoutMs: 50 })).rejects.toThrow(`port ${b} sent 0 of the 2 frames awaited within 50 ms`);
  });
});

describe('meters', () => {
  it('pass the burst of a drop band and count what exceeds it, per band', async () => {
    const { dp, a, b } = openWith();
    // 1 packet/s: in the time the test takes, the 8 frames of the burst and at most a few more pass.
    dp.setMeter(4, { pktps: true, bands: [{ type: 'drop', rate: 1, burstSize: 8 }] });
    dp.putFlow({ key: { in_port: a }, mask: exactMask(['in_port']), actions: [{ type: 'meter', id: 4 }, ...outputTo(b)] });
    const frames = Array.from({ length: 200 }, (_, i) => frame(1, i));
    expect(dp.injectFrames(a, frames)).toBe(200);
    await eventually(() => dp.meterStats(4)?.packets === 200, 5000, 'the meter to see all 200 frames');
    const sent = dp.takeTransmitted(b);
    expect(sent.length).toBeGreaterThanOrEqual(8);
    expect(sent.length).toBeLessThan(20);
    expect(sent.slice(0, 8)).toEqual(frames.slice(0, 8));
    expect(dp.meterStats(4)).toEqual({ packets: 200, bytes: 200 * 60, bands: [{ packets: 200 - sent.length, bytes: (200 - sent.length) * 60 }] });
    expect(dp.deleteMeter(4)?.packets).toBe(200);
    expect(dp.meterStats(4)).toBeNull();
  });

  it('refuse a band with no rate or a meter with no band, saying which', () => {
    const { dp } = openWith();
    expect(() => dp.setMeter(1, { pktps: false, bands: [{ type: 'drop', rate: 0, burstSize: 0 }] })).toThrow('meter band 0: the rate must be above 0');
    expect(() => dp.setMeter(1, { pktps: false, bands: [] })).toThrow('a meter needs at least one band');
    expect(() => dp.setMeter(70000, { pktps: false, bands: [{ type: 'drop', rate: 1, burstSize: 0 }] })).toThrow('meter id 70000 is out of range');
  });
});

describe('patch ports', () => {
  /** Bridge 1 is a -> p1, bridge 2 is p2 -> b; `witness` gets a copy of what a sends, to know when it was sent. */
  function twoBridges(): { dp: Datapath; a: number; b: number; p1: number; p2: number; witness: number } {
    const { dp, a, b } = openWith();
    const p1 = dp.addPort({ type: 'patch', name: 'p1', peer: 'p2' }).port;
    const p2 = dp.addPort({ type: 'patch', name: 'p2', peer: 'p1' }).port;
    const witness = dp.addPort({ type: 'dummy', name: 'witness' }).port;
    dp.putFlow({ key: { in_port: a }, mask: exactMask(['in_port']), actions: [...outputTo(p1), ...outputTo(witness)] });
    dp.putFlow({ key: { in_port: p2 }, mask: exactMask(['in_port']), actions: outputTo(b) });
    return { dp, a, b, p1, p2, witness };
  }

  it('join two bridges: a frame sent into one end is looked up as received on the other', async () => {
    const { dp, a, b, p1, p2 } = twoBridges();
    dp.injectFrames(a, [frame(1, 1), frame(1, 2)]);
    expect(await dp.nextTransmitted(b, { count: 2 })).toEqual([frame(1, 1), frame(1, 2)]);
    expect(dp.port(p1).stats).toMatchObject({ txPackets: 2, txBytes: 120, txDropped: 0 });
    expect(dp.port(p2).stats).toMatchObject({ rxPackets: 2, rxBytes: 120 });
    expect(dp.port(p2)).toMatchObject({ type: 'patch', ifindex: 0 });
  });

  it('drop and count what is sent while the peer is missing, and carry on when it is back', async () => {
    const { dp, a, b, p1, p2, witness } = twoBridges();
    dp.removePort(p2);
    dp.injectFrames(a, [frame(1, 1)]);
    await dp.nextTransmitted(witness);
    expect(dp.port(p1).stats).toMatchObject({ txPackets: 0, txDropped: 1 });
    dp.addPort({ type: 'patch', name: 'p2', peer: 'p1', portNo: p2 });
    dp.injectFrames(a, [frame(1, 2)]);
    expect(await dp.nextTransmitted(b)).toEqual([frame(1, 2)]);
  });

  it('need a peer other than themselves, and only patch ports have one', () => {
    const { dp } = openWith();
    expect(() => dp.addPort({ type: 'patch', name: 'p1', peer: 'p1' })).toThrow('patch port "p1" cannot be its own peer: name the port at the other end');
    expect(() => dp.addPort({ type: 'patch', name: 'p1' })).toThrow(/a patch port needs a peer/);
    expect(() => dp.addPort({ type: 'dummy', name: 'd', peer: 'p1' })).toThrow(/only a patch port has one/);
  });
});
