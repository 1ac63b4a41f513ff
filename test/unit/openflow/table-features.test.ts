// Table features, table descriptions and group features: what TVS's switch says its tables
// accept, encoded as ovs-ofctl ofp-print reads it and printed as ovs-ofctl prints it.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pullActions } from '../../../src/openflow/codec/actions.js';
import { OfDecodeError, OfReader, OfWriter } from '../../../src/openflow/codec/buffer.js';
import { decodeMessage, encodeMessage } from '../../../src/openflow/codec/index.js';
import { actionBitmap, supportedActionBitmap, tvsTableCapabilities } from '../../../src/openflow/codec/table-features.js';
import { OFP10, OFP13, OFP14, OFP15, defaultSession, type OfMessage, type TableFeatures } from '../../../src/openflow/messages.js';
import { formatMultipartReply } from '../../../src/ofctl/print-reply.js';

function ofpPrint(buf: Buffer): string {
  return execFileSync('ovs-ofctl', ['ofp-print', buf.toString('hex')], { encoding: 'utf8' });
}

/** Three tables as the switch describes them (the last one has no goto_table). */
function tvsTables(version: number): TableFeatures[] {
  return [0, 1, 2].map((tableId) => ({
    tableId,
    name: '',
    metadataMatch: 0xffffffffffffffffn,
    metadataWrite: 0xffffffffffffffffn,
    maxEntries: 1_000_000,
    ...(version >= OFP14 ? { supportsEviction: false, supportsVacancyEvents: false } : {}),
    ...tvsTableCapabilities(tableId, 3, version),
  }));
}

function reply(msg: OfMessage, version: number): { wire: Buffer; printed: string; decoded: OfMessage } {
  const [wire, ...more] = encodeMessage(msg, defaultSession(version), 0x2a);
  expect(more).toEqual([]);
  const decoded = decodeMessage(wire!, defaultSession(version)).msg;
  if (decoded.type !== 'multipart_reply') throw new Error(`decoded a ${decoded.type}`);
  return { wire: wire!, printed: formatMultipartReply(decoded.reply, version, 0x2a), decoded };
}

describe('table features', () => {
  for (const version of [OFP13, OFP14, OFP15]) {
    it(`prints TVS's tables in OpenFlow 1.${version - 1} exactly as ovs-ofctl ofp-print reads the encoding`, () => {
      const r = reply({ type: 'multipart_reply', reply: { kind: 'table_features', tables: tvsTables(version) } }, version);
      expect(r.printed).toBe(ofpPrint(r.wire));
      // Not two empty printouts: the lists are there, folded as OVS folds them.
      expect(r.printed).toContain('      next tables: 1-2\n');
      expect(r.printed).toContain('  table 1: ditto\n');
      expect(r.printed).toMatch(/arbitrary mask: .*tcp_\{src,dst,flags\}/);
      expect(r.printed).toMatch(/exact match or wildcard: in_\{port,port_oxm\} eth_type/);
    });
  }

  it('decodes what it encodes, fields and actions by their OVS names', () => {
    const tables = tvsTables(OFP14);
    const r = reply({ type: 'multipart_reply', reply: { kind: 'table_features', tables } }, OFP14);
    if (r.decoded.type !== 'multipart_reply' || r.decoded.reply.kind !== 'table_features') throw new Error('not table features');
    const [t0, , t2] = r.decoded.reply.tables;
    expect(new Set(t0?.match)).toEqual(new Set(tables[0]?.match));
    expect(new Set(t0?.maskable)).toEqual(new Set(tables[0]?.maskable));
    expect(t0?.nonmiss.write.actions).toEqual(['output', 'group', 'set_field', 'strip_vlan', 'push_vlan', 'mod_nw_ttl', 'dec_ttl']);
    expect(t2?.nonmiss.instructions).not.toContain('goto_table');
    expect(t2?.nonmiss.nextTables).toEqual([]);
  });

  it('offers the meter instruction in OpenFlow 1.3 and 1.4 only, where it exists', () => {
    expect(tvsTableCapabilities(0, 2, OFP13).nonmiss.instructions).toContain('meter');
    expect(tvsTableCapabilities(0, 2, OFP15).nonmiss.instructions).not.toContain('meter');
  });

  it('lets set_field write every matchable field but eth_type, nw_proto and tcp_flags, and refuses a set_field of those', () => {
    const caps = tvsTableCapabilities(0, 2, OFP13);
    expect(caps.match.filter((f) => !caps.nonmiss.write.setFields.includes(f))).toEqual(['eth_type', 'nw_proto', 'tcp_flags']);
    // set_field(eth_type=0x86dd): OFPAT_SET_FIELD with OXM_OF_ETH_TYPE, padded to 16 bytes.
    const w = new OfWriter().u16(25).u16(16).u32(0x80000a02).u16(0x86dd).zeros(6);
    const refusal = (() => {
      try {
        pullActions(new OfReader(w.finish()), OFP13);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(refusal).toBeInstanceOf(OfDecodeError);
    expect(String(refusal)).toContain('OFPBAC_BAD_SET_ARGUMENT: set_field: destination field eth_type is read-only');
  });
});

describe('group features', () => {
  it('reports the actions TVS executes, as OVS numbers them per version', () => {
    expect(supportedActionBitmap(OFP13)).toBe(actionBitmap(['output', 'group', 'set_field', 'strip_vlan', 'push_vlan', 'mod_nw_ttl', 'dec_ttl'], OFP13));
    expect(supportedActionBitmap(OFP10)).toBe(0x7ff);
  });

  it('prints the group table as ovs-ofctl ofp-print does', () => {
    const a = supportedActionBitmap(OFP13);
    const r = reply(
      { type: 'multipart_reply', reply: { kind: 'group_features', types: ['all', 'select', 'ff'], capabilities: 0x7, maxGroups: { all: 0xffffff00, select: 5, indirect: 0, ff: 1 }, actions: { all: a, select: a, indirect: 0, ff: 1 } } },
      OFP13,
    );
    expect(r.printed).toBe(ofpPrint(r.wire));
    expect(r.printed).toContain('    fast failover group:\n       max_groups=0x1\n       actions: output\n');
  });
});

describe('table desc', () => {
  it('prints eviction and vacancy as ovs-ofctl ofp-print does, off and on', () => {
    const r = reply(
      {
        type: 'multipart_reply',
        reply: {
          kind: 'table_desc',
          tables: [
            { tableId: 0, eviction: false, evictionFlags: 7, vacancy: false, vacancyDown: 0, vacancyUp: 0, vacancyNow: 0 },
            { tableId: 1, eviction: true, evictionFlags: 2, vacancy: true, vacancyDown: 20, vacancyUp: 80, vacancyNow: 50 },
          ],
        },
      },
      OFP14,
    );
    expect(r.printed).toBe(ofpPrint(r.wire));
    expect(r.printed).toContain('  table 1:\n   eviction=on eviction_flags=IMPORTANCE\n   vacancy=on vacancy_down=20% vacancy_up=80% vacancy=50%\n');
  });
});
