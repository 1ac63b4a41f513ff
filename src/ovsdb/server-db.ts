// The "_Server" database that OVS clients read before anything else: one Database row per
// served database, saying it is a connected standalone leader and carrying its schema, so that a
// client can check the schema and model before it monitors the database itself.

import { datumFromJSON } from './datum.js';
import { type Changeset, Database, newUuid } from './database.js';
import { parseSchema } from './schema.js';
import { Txn } from './transaction.js';

export const SERVER_SCHEMA_JSON = {
  name: '_Server',
  version: '1.2.0',
  tables: {
    Database: {
      columns: {
        name: { type: 'string' },
        model: { type: { key: { type: 'string', enum: ['set', ['clustered', 'relay', 'standalone']] } } },
        connected: { type: 'boolean' },
        leader: { type: 'boolean' },
        schema: { type: { key: 'string', min: 0 } },
        sid: { type: { key: 'uuid', min: 0 } },
        cid: { type: { key: 'uuid', min: 0 } },
        index: { type: { key: 'integer', min: 0 } },
      },
      isRoot: true,
    },
  },
};

export function createServerDatabase(): Database {
  return new Database(parseSchema(SERVER_SCHEMA_JSON));
}

/** Adds the row describing database `name` to `_Server`; the changeset is for monitors. */
export function addDatabaseRow(server: Database, name: string, schemaJson: unknown): Changeset {
  const table = server.tables.get('Database')!;
  const values: Record<string, unknown> = { name, model: 'standalone', connected: true, leader: true, schema: JSON.stringify(schemaJson) };
  const txn = new Txn(server);
  txn.insert(
    table,
    newUuid(),
    table.schema.columns.map((c) => datumFromJSON(c.type, values[c.name] ?? ['set', []], `_Server Database ${c.name}`)),
  );
  const cs = txn.commit();
  server.apply(cs);
  return cs;
}
