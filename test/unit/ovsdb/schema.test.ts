import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSchema, schemaToJSON } from '../../../src/ovsdb/schema.js';
import { vswitchSchemaPath } from '../../../src/ovsdb/vswitch-schema.js';
import { TEST_SCHEMA } from './helpers.js';

function schemaWith(tables: unknown): unknown {
  return { name: 'S', version: '1.0.0', tables };
}

function errorOf(json: unknown): unknown {
  try {
    parseSchema(json);
  } catch (e) {
    return (e as { toJSON(): unknown }).toJSON();
  }
  throw new Error('schema was accepted');
}

describe('schema parsing', () => {
  it('parses our Open_vSwitch schema with OVS table names, refs and indexes', () => {
    const s = parseSchema(JSON.parse(readFileSync(vswitchSchemaPath(), 'utf8')));
    expect(s.name).toBe('Open_vSwitch');
    for (const t of ['Open_vSwitch', 'Bridge', 'Port', 'Interface', 'Controller', 'Manager', 'Mirror', 'QoS', 'Queue', 'SSL']) expect(s.tables.has(t)).toBe(true);
    const bridge = s.tables.get('Bridge')!;
    expect(bridge.isRoot).toBe(false);
    expect(bridge.indexes).toEqual([[bridge.columnsByName.get('name')!.index]]);
    expect(bridge.columnsByName.get('ports')!.type.key).toEqual({ type: 'uuid', refTable: 'Port', refType: 'strong' });
    expect(s.tables.get('Mirror')!.columnsByName.get('select_src_port')!.type.key.refType).toBe('weak');
  });

  it('round-trips through schemaToJSON', () => {
    const once = schemaToJSON(parseSchema(TEST_SCHEMA));
    expect(schemaToJSON(parseSchema(once))).toEqual(once);
    expect(parseSchema(once).tables.get('Child')!.columnsByName.get('color')!.type.key.enum).toEqual(['blue', 'red']);
  });

  it('treats every table as a root when no table says isRoot (pre-GC schemas)', () => {
    const s = parseSchema(schemaWith({ A: { columns: { x: { type: 'integer' } } } }));
    expect(s.tables.get('A')!.isRoot).toBe(true);
  });

  it.each([
    ['a reference to a missing table', { A: { columns: { r: { type: { key: { type: 'uuid', refTable: 'Nope' } } } } } }, 'schema.tables.A.columns.r: refTable "Nope" is not a table of this schema'],
    ['an unknown atomic type', { A: { columns: { x: { type: 'int' } } } }, 'schema.tables.A.columns.x.type: unknown atomic type "int" (use one of integer, real, boolean, string, uuid)'],
    ['min greater than max', { A: { columns: { x: { type: { key: 'string', min: 1, max: 0 } } } } }, 'schema.tables.A.columns.x.type: "max" must be a positive integer or "unlimited", got 0'],
    ['a column name starting with _', { A: { columns: { _x: { type: 'integer' } } } }, 'schema.tables.A: column name "_x" is not a valid identifier (letters, digits and "_", not starting with "_" or a digit)'],
    ['an index on an unknown column', { A: { columns: { x: { type: 'integer' } }, indexes: [['y']] } }, 'schema.tables.A: index 0 names "y", which is not a column of table A'],
    ['a constraint of the wrong type', { A: { columns: { x: { type: { key: { type: 'string', minInteger: 1 } } } } } }, 'schema.tables.A.columns.x.type.key: "minInteger" applies only to integer columns, not string'],
    ['a type object without key', { A: { columns: { x: { type: { type: 'integer' } } } } }, 'schema.tables.A.columns.x.type: a type object needs a "key" member (write {"key": {"type":"integer"}} for a constrained atom)'],
    ['an unknown table member', { A: { columns: { x: { type: 'integer' } }, isroot: true } }, 'schema.tables.A: unknown member "isroot" (allowed: columns, maxRows, isRoot, indexes)'],
  ])('rejects %s with a precise syntax error', (_what, tables, details) => {
    expect(errorOf(schemaWith(tables))).toEqual({ error: 'syntax error', details });
  });

  it('rejects a bad version string', () => {
    expect(errorOf({ name: 'S', version: '1.0', tables: {} })).toEqual({ error: 'syntax error', details: 'schema: "version" must look like "x.y.z", got "1.0"' });
  });
});
