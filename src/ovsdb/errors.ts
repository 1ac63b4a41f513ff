// OVSDB errors carry RFC 7047's error strings (section 3.1 and 4.1) as their tag, or where the
// RFC has none the one ovsdb-server uses ("unknown column", "unknown mutator", ...), so that
// clients see the tags they know; plus a sentence that names the offending object and the fix.

export type OvsdbErrorTag =
  | 'syntax error'
  | 'unknown database'
  | 'unknown column'
  | 'unknown mutator'
  | 'unknown function'
  | 'unknown method'
  | 'unknown monitor'
  | 'duplicate monitor ID'
  | 'not supported'
  | 'constraint violation'
  | 'referential integrity violation'
  | 'resources exhausted'
  | 'I/O error'
  | 'duplicate uuid-name'
  | 'duplicate uuid'
  | 'domain error'
  | 'range error'
  | 'timed out'
  | 'not owner'
  | 'aborted'
  | 'canceled'
  | 'not allowed'
  | 'unknown lock'
  | 'duplicate lock';

export class OvsdbError extends Error {
  constructor(
    readonly tag: OvsdbErrorTag,
    readonly details: string,
  ) {
    super(`${tag}: ${details}`);
  }

  toJSON(): { error: string; details: string } {
    return { error: this.tag, details: this.details };
  }
}

export function syntaxError(details: string): OvsdbError {
  return new OvsdbError('syntax error', details);
}

/** Short JSON rendering of a value for error messages. */
export function show(v: unknown): string {
  // undefined for what JSON cannot carry (undefined, a function), whatever the declared type says
  const s = (JSON.stringify(v) as string | undefined) ?? String(v);
  return s.length > 120 ? s.slice(0, 117) + '...' : s;
}
