// The parsers TVS feeds from outside, each as a fuzz target: how to make an input from the
// corpus, how to run it, and which errors are the parser's own refusals (anything else thrown is
// a crash). The datapath's frame, action and tunnel parsers are fuzzed in Rust (tvs-fuzz).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { JsonStreamParser } from '../../src/lib/jsonrpc.js';
import { parseActions as parseOdpActions, parseMatch as parseOdpMatch, OdpSyntaxError } from '../../src/datapath/odp-syntax.js';
import { OfDecodeError } from '../../src/openflow/codec/buffer.js';
import { decodeMessage, encodeMessage, OfEncodeError } from '../../src/openflow/codec/index.js';
import { parseFlowMod } from '../../src/openflow/flow-syntax.js';
import type { Session } from '../../src/openflow/messages.js';
import { replayRecords } from '../../src/ovsdb/db-file.js';
import { Database } from '../../src/ovsdb/database.js';
import { OvsdbError } from '../../src/ovsdb/errors.js';
import { executeTransaction } from '../../src/ovsdb/execute.js';
import { parseSchema } from '../../src/ovsdb/schema.js';
import { decodeLog } from '../../src/ovsdb/storage-log.js';
import { vswitchSchemaPath } from '../../src/ovsdb/vswitch-schema.js';
import { corpusFile, corpusLines } from './corpus.js';
import type { Mutator } from './mutate.js';

export interface FuzzTarget<T = unknown> {
  name: string;
  /** What the target feeds, for the report. */
  about: string;
  /** A new input: a corpus seed, mutated. */
  input(m: Mutator): T;
  /** Runs the parser on `input`; returns whether it was accepted (false: refused without an exception). Throws only on a refusal or a crash. */
  run(input: T): boolean;
  /** Whether `e` is the parser refusing bad input in its own words, rather than a crash. */
  refusal(e: unknown): boolean;
  /** `input` as bytes, to save a crashing one for a regression test. */
  save(input: T): Buffer;
}

const OF_VERSIONS = [1, 2, 3, 4, 5, 6];

function openflow(): FuzzTarget<{ buf: Buffer; session: Session }> {
  const seeds = corpusLines('openflow.txt').map((l) => Buffer.from(l.split(' ')[1]!, 'hex'));
  return {
    name: 'openflow',
    about: 'OpenFlow 1.0-1.5 messages (and Nicira/ONF extensions) through the decoder, and what decodes back through the encoder',
    input(m) {
      const buf = m.bytes(m.pick(seeds), seeds, 8);
      // Mostly a length that frames the message, as a connection delivers it, so the body decoders are reached.
      if (buf.length >= 4 && m.int(10) < 8) buf.writeUInt16BE(Math.min(buf.length, 0xffff), 2);
      const version = m.int(10) < 8 && buf.length > 0 ? buf[0]! : m.pick(OF_VERSIONS);
      return { buf, session: { version, flowFormat: m.int(2) ? 'nxm' : 'openflow10', packetInFormat: m.int(2) ? 'nxt_packet_in2' : 'standard', flowModTableId: m.int(2) === 1 } };
    },
    run({ buf, session }) {
      const decoded = decodeMessage(buf, session);
      encodeMessage(decoded.msg, session, decoded.xid);
      return true;
    },
    refusal: (e) => e instanceof OfDecodeError || e instanceof OfEncodeError,
    save: ({ buf, session }) => Buffer.from(`${JSON.stringify(session)}\n${buf.toString('hex')}\n`),
  };
}

const FLOW_COMMANDS = ['add', 'modify', 'modify_strict', 'delete', 'delete_strict'] as const;

function flowSyntax(): FuzzTarget<{ text: string; command: (typeof FLOW_COMMANDS)[number] }> {
  const seeds = corpusLines('flows.txt');
  return {
    name: 'flow-syntax',
    about: 'ovs-ofctl flow syntax (matches, actions, learn, groups) through the parser, and what parses through the OpenFlow 1.0/1.3/1.5 encoders',
    input: (m) => ({ text: m.text(m.pick(seeds), seeds), command: m.pick(FLOW_COMMANDS) }),
    run({ text, command }) {
      const mod = parseFlowMod(text, command);
      for (const version of [1, 4, 6]) {
        try {
          encodeMessage({ type: 'flow_mod', mod }, { version, flowFormat: 'nxm', packetInFormat: 'standard', flowModTableId: true }, 1);
        } catch (e) {
          // A flow a version cannot carry is refused for that version only.
          if (!(e instanceof OfEncodeError)) throw e;
        }
      }
      return true;
    },
    refusal: (e) => e instanceof Error && e.name === 'FlowSyntaxError',
    save: ({ text, command }) => Buffer.from(`${command}\n${text}\n`),
  };
}

function odpSyntax(): FuzzTarget<string> {
  const seeds = corpusLines('odp.txt').concat([
    'in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x8100),vlan(vid=5,pcp=0),encap(eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2)) actions:pop_vlan,set(ipv4(dst=10.0.0.9)),2',
    'tunnel(tun_id=0x5,src=192.0.2.1,dst=192.0.2.2,tos=0,ttl=64,flags(df|key)),in_port(3),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,proto=58),icmpv6(type=135,code=0),nd(target=fe80::1,sll=02:00:00:00:00:01) actions:set(tunnel(tun_id=0x6,dst=192.0.2.9,ttl=64,tp_dst=4789,flags(df|key))),4',
    'in_port(2),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1) actions:userspace(pid=0,controller(reason=1,dont_send=0,continuation=0,recirc_id=1,rule_cookie=0,controller_id=0,max_len=65535)),push_vlan(vid=7,pcp=0),1',
  ]);
  return {
    name: 'odp-syntax',
    about: 'datapath flows as tvs-dpctl/ovs-dpctl write them (keys and actions) through the ODP parser',
    input: (m) => m.text(m.pick(seeds), seeds),
    run(text) {
      const at = text.indexOf(' actions:');
      const key = at < 0 ? text : text.slice(0, at);
      parseOdpMatch(key.replace(/, packets:.*$/, ''));
      if (at >= 0) parseOdpActions(text.slice(at + ' actions:'.length));
      return true;
    },
    refusal: (e) => e instanceof OdpSyntaxError,
    save: (text) => Buffer.from(`${text}\n`),
  };
}

/**
 * JSON-RPC as OVSDB clients send it, split into random chunks through the stream parser; every
 * "transact" among the messages is executed against an Open_vSwitch database, and what commits
 * is applied, as tvsdb-server does.
 */
function ovsdbJsonRpc(): FuzzTarget<Buffer[]> {
  const seeds = corpusLines('jsonrpc.txt').map((l) => l.slice(l.indexOf(' ') + 1));
  const schema = parseSchema(JSON.parse(readFileSync(vswitchSchemaPath(), 'utf8')));
  let db = new Database(schema);
  let inputs = 0;
  return {
    name: 'ovsdb-jsonrpc',
    about: 'OVSDB JSON-RPC (RFC 7047 and OVS extensions) through the stream parser, transactions executed and committed on an Open_vSwitch database',
    input(m) {
      const text = Buffer.from(m.text(m.pick(seeds), seeds));
      const chunks: Buffer[] = [];
      for (let at = 0; at < text.length; ) {
        const len = 1 + m.int(text.length);
        chunks.push(text.subarray(at, at + len));
        at += len;
      }
      return chunks;
    },
    run(chunks) {
      // A fresh database now and then, so that the rows a run inserts do not grow without end.
      if (++inputs % 10_000 === 0) db = new Database(schema);
      const parser = new JsonStreamParser();
      let accepted = false;
      for (const chunk of chunks) {
        for (const ev of parser.feed(chunk)) {
          if (ev.kind !== 'message') continue;
          accepted = true;
          const msg = ev.value as { method?: unknown; params?: unknown };
          if (msg.method !== 'transact' || !Array.isArray(msg.params)) continue;
          const out = executeTransaction(db, msg.params.slice(1), { ownsLock: () => false });
          if (out.kind === 'done' && out.changeset) db.apply(out.changeset);
        }
      }
      return accepted;
    },
    refusal: (e) => e instanceof OvsdbError,
    save: (chunks) => Buffer.concat(chunks),
  };
}

/** Database files: byte-level damage to the file, and records whose JSON is damaged but correctly framed and checksummed. */
function databaseFile(): FuzzTarget<Buffer> {
  const file = corpusFile('conf.db');
  const records = decodeLog(file, 'conf.db').records.map((r) => JSON.stringify(r));
  const frame = (body: string): Buffer => {
    const bytes = Buffer.from(body);
    return Buffer.concat([Buffer.from(`OVSDB JSON ${bytes.length} ${createHash('sha1').update(bytes).digest('hex')}\n`), bytes, Buffer.from('\n')]);
  };
  return {
    name: 'db-file',
    about: 'OVSDB database files (the standalone log format) through the log decoder and the replay of every record',
    input(m) {
      if (m.int(2) === 0) return m.bytes(file, [file]);
      const at = 1 + m.int(records.length - 1);
      return Buffer.concat(records.map((r, i) => frame(i === at ? m.text(r, records) : r)));
    },
    run(buf) {
      const { records: decoded } = decodeLog(buf, 'fuzz.db');
      if (decoded.length === 0) return false;
      replayRecords(decoded, 'fuzz.db');
      return true;
    },
    refusal: (e) => e instanceof OvsdbError,
    save: (buf) => buf,
  };
}

/** Every target, by name; each builds its seeds from the corpus when asked for. */
export const TARGETS: Record<string, () => FuzzTarget> = {
  openflow,
  'flow-syntax': flowSyntax,
  'odp-syntax': odpSyntax,
  'ovsdb-jsonrpc': ovsdbJsonRpc,
  'db-file': databaseFile,
};
