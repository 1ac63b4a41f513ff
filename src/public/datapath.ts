// The 'tvs/datapath' entry: the datapath on its own (OVS's dpif, src/datapath/dpif.ts), with
// no daemon, database or OpenFlow: ports (dummy and patch ones need no privilege), megaflows,
// upcalls and counters, and what reading its keys and actions takes.
export { Datapath, extractKey } from '../datapath/dpif.js';
export type {
  ActionsLike,
  AddPortOptions,
  DatapathFlow,
  DatapathOptions,
  DatapathStats,
  ExpiredFlow,
  FlowStats,
  KeyLike,
  NextTransmittedOptions,
  PortInfo,
  PortType,
  PutFlowOptions,
  Upcall,
  UpcallReply,
} from '../datapath/dpif.js';
export { decodeKey, exactMask, FRAG, TCI_PRESENT } from '../datapath/flow-key.js';
export type { FieldName, FieldValue, FlowKey, FlowMask } from '../datapath/flow-key.js';
export { decodeActions } from '../datapath/actions.js';
export { composeFrame } from '../datapath/flow-compose.js';
export type { ComposeOptions } from '../datapath/flow-compose.js';
export type { Action, SetFieldValue, SetProto } from '../datapath/actions.js';
