// The TRANSACTION argument tvsdb-client and tvsdb-tool take, as ovsdb-client
// and ovsdb-tool do: a JSON array ["DATABASE", OPERATION...].
import { parseJson } from '../lib/json.js';
import { UsageError } from '../lib/usage-error.js';

export function parseTransactionArg(text: string | undefined): unknown[] {
  if (text === undefined) throw new UsageError('missing TRANSACTION, a JSON array ["DATABASE", OPERATION...]');
  let t: unknown;
  try {
    t = parseJson(text);
  } catch (e) {
    throw new UsageError(`TRANSACTION is not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(t) || typeof t[0] !== 'string') throw new UsageError('TRANSACTION must be a JSON array whose first element is the database name');
  return t;
}
