// The package's main entry, `import { Switch } from 'tvs'`: a whole switch in-process
// (src/api/switch.ts) and the types its calls take and return.
//
// Each module in src/public/ is one entry of package.json's "exports" and is the whole of what
// a program importing that entry may rely on; the modules behind it are reachable only through
// it (the package exports no other path). The controller and capture APIs join the same way:
// src/public/controller.ts as 'tvs/controller' and src/public/capture.ts as 'tvs/capture', each
// with its "exports" entry in package.json and a line in the README's "Using TVS from another
// project".
export { Switch } from '../api/switch.js';
export type { HostOptions, PortOptions, SwitchHost, SwitchOptions } from '../api/switch.js';
export { DummyHost } from '../api/dummy-host.js';
export type { DummyHostOptions, PingOptions, ReceiveOptions } from '../api/dummy-host.js';
export { arpFrame, BROADCAST, frameFields, icmpEchoFrame, udpFrame, vlanOf } from '../api/frames.js';
export type { ArpSpec, IcmpEchoSpec, Ipv4Spec, L2Spec, UdpSpec } from '../api/frames.js';
export type { PortInfo } from '../datapath/dpif.js';
export type { Host } from '../lib/netns.js';
export type { VlanMode } from '../ofproto/vlan.js';
export type { HistogramSnapshot } from '../lib/histogram.js';
export type {
  BridgeMetrics,
  ControllerMetrics,
  DatapathMetrics,
  InterfaceMetrics,
  OvsdbMetrics,
  SwitchMetrics,
  UpcallMetrics,
} from '../vswitchd/metrics.js';
export type { MetricsEndpointStatus } from '../vswitchd/metrics-endpoint.js';
