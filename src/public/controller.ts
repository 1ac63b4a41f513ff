// `import { listen, connect } from 'tvs/controller'`: an OpenFlow controller for Node programs
// (src/openflow/controller.ts), the flow model its calls take and the helpers to build actions.
export { connect, Controller, listen, OpenFlowSwitch } from '../openflow/controller.js';
export type { ConnectOptions, FlowRemoved, ListenOptions, PacketIn, PacketOut, PortStatus, SwitchFeatures } from '../openflow/controller.js';
export { OfRemoteError, OFP_TCP_PORT } from '../openflow/connection.js';
export { OFP10, OFP11, OFP12, OFP13, OFP14, OFP15 } from '../openflow/messages.js';
export type { ControllerRole, FlowStats, MultipartReply, MultipartRequest, OfMessage, PacketInFormat, PortDesc, PortStats } from '../openflow/messages.js';
export { parseFlowMod, parseMatch } from '../openflow/flow-syntax.js';
export { flowMod, OFPTT_ALL } from '../ofproto/flow-table.js';
export type { FlowMod, FlowModCommand, FlowModFlags } from '../ofproto/flow-table.js';
export { Match } from '../ofproto/match.js';
export { OFPG, OFPP, output } from '../ofproto/actions.js';
export type { Action, Instructions } from '../ofproto/actions.js';
