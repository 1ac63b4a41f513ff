// Lookups in keyword tables by a key from outside (a word in a flow, a command name, an OVSDB
// operation from a peer). A plain object's `table[key]` also finds Object.prototype's members:
// `toString` or `constructor` would be taken for a keyword and fail far from the input.

/** `table[key]` if `key` is one of the table's own entries, else undefined. */
export function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
