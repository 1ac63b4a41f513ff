// Schema conversion (tvsdb-tool convert): carry every row into a new schema, keeping the columns
// both schemas have; a value the new type cannot hold is an error that names it.

import { datumFromJSON, datumToJSON, defaultDatum } from './datum.js';
import { Database } from './database.js';
import { OvsdbError } from './errors.js';
import { type DatabaseSchema, schemaToJSON } from './schema.js';
import { Txn } from './transaction.js';

export function needsConversion(db: Database, target: DatabaseSchema): boolean {
  return JSON.stringify(schemaToJSON(db.schema)) !== JSON.stringify(schemaToJSON(target));
}

/** A new database under `target` holding `db`'s rows; commit-time checks apply as for any commit. */
export function convertDatabase(db: Database, target: DatabaseSchema): Database {
  const out = new Database(target);
  const txn = new Txn(out);
  for (const [name, table] of db.tables) {
    const dest = out.tables.get(name);
    if (!dest) continue;
    for (const row of table.rows.values()) {
      const data = dest.schema.columns.map((c) => {
        const old = table.schema.columnsByName.get(c.name);
        if (!old) return defaultDatum(c.type);
        try {
          return datumFromJSON(c.type, datumToJSON(old.type, row.data[old.index]!), `table ${name} row ${row.uuid} column ${c.name}`);
        } catch (e) {
          if (!(e instanceof OvsdbError)) throw e;
          throw new OvsdbError(e.tag, `cannot convert: ${e.details}`);
        }
      });
      txn.insert(dest, row.uuid, data);
    }
  }
  out.apply(txn.commit());
  return out;
}
