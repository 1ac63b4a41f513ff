// A learning switch: each switch that connects sends us the packets no flow matches; we learn
// which port each MAC address is behind and install a flow for every destination we know.
// Run: node dist/examples/learning-switch.js [PORT], then point a bridge at it with
// `ovs-vsctl set-controller br0 tcp:127.0.0.1:PORT` (and fail_mode=secure).
import { listen, type OpenFlowSwitch } from 'tvs/controller';

const mac = (frame: Buffer, offset: number) => [...frame.subarray(offset, offset + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
const report = (e: unknown) => console.error(e);

function learn(sw: OpenFlowSwitch): void {
  const portOf = new Map<string, number>();
  // A packet that matches no other flow comes to us whole.
  sw.flowMod('priority=0,actions=CONTROLLER:65535').catch(report);
  sw.on('packet-in', ({ inPort, data }) => {
    const [dst, src] = [mac(data, 0), mac(data, 6)];
    portOf.set(src, inPort);
    const out = portOf.get(dst);
    if (out === undefined) {
      sw.packetOut({ inPort, actions: 'FLOOD', data }).catch(report);
      return;
    }
    sw.flowMod(`priority=10,in_port=${inPort},dl_dst=${dst},actions=output:${out}`).catch(report);
    sw.packetOut({ inPort, actions: `output:${out}`, data }).catch(report);
  });
}

const controller = await listen({ port: Number(process.argv[2] ?? 6653) });
controller.on('switch', learn);
console.log(`learning switch controller listening on tcp:127.0.0.1:${controller.port}`);
