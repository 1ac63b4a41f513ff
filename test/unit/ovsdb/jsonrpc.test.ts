import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../../src/lib/json.js';
import { JsonStreamParser, type StreamEvent } from '../../../src/lib/jsonrpc.js';

function feedAll(p: JsonStreamParser, parts: (string | Buffer)[]): StreamEvent[] {
  return parts.flatMap((x) => p.feed(typeof x === 'string' ? Buffer.from(x) : x));
}

const messages = (evs: StreamEvent[]): unknown[] => evs.filter((e) => e.kind === 'message').map((e) => (e as { value: unknown }).value);

describe('JSON-RPC stream framing', () => {
  const stream = '{"method":"echo","params":["a}b",{"x":"\\"}{"}],"id":1}[1,[2]]  \n{"id":"é😀","result":{}}';
  const expected = [{ method: 'echo', params: ['a}b', { x: '"}{' }], id: 1 }, [1, [2]], { id: 'é😀', result: {} }];

  it('splits back-to-back JSON texts with no delimiter, ignoring brackets inside strings', () => {
    expect(messages(feedAll(new JsonStreamParser(), [stream]))).toEqual(expected);
  });

  it('reassembles texts split at every possible byte boundary, multibyte characters included', () => {
    const bytes = Buffer.from(stream);
    for (let cut = 1; cut < bytes.length; cut++) {
      const p = new JsonStreamParser();
      expect(messages(feedAll(p, [bytes.subarray(0, cut), bytes.subarray(cut)]))).toEqual(expected);
    }
    const p = new JsonStreamParser();
    expect(messages(feedAll(p, [...bytes].map((b) => Buffer.from([b]))))).toEqual(expected);
  });

  it('reports malformed JSON inside balanced brackets and keeps going', () => {
    const evs = feedAll(new JsonStreamParser(), ['{"a":}{"b":1}']);
    expect(evs[0]).toMatchObject({ kind: 'error', error: 'syntax error', fatal: false });
    expect(messages(evs)).toEqual([{ b: 1 }]);
  });

  it('treats text that is not an object or array as fatal, since the stream cannot be resynchronised', () => {
    const evs = feedAll(new JsonStreamParser(), ['hello {"b":1}']);
    expect(evs).toEqual([{ kind: 'error', error: 'syntax error', details: expect.stringContaining('"hello {\\"b\\":1}"'), fatal: true }]);
  });

  it('discards a message over the size limit, reports it once, and parses the next one', () => {
    const p = new JsonStreamParser(100);
    const big = `{"pad":"${'x'.repeat(300)}"}`;
    const evs = feedAll(p, [big.slice(0, 50), big.slice(50, 150), big.slice(150), '{"ok":true}']);
    expect(evs.filter((e) => e.kind === 'error')).toEqual([{ kind: 'error', error: 'resources exhausted', details: 'message exceeds the 100-byte limit and was discarded', fatal: false }]);
    expect(messages(evs)).toEqual([{ ok: true }]);
    expect(messages(feedAll(p, [big + '{"again":1}']))).toEqual([{ again: 1 }]);
  });

  it('refuses a message nested deeper than 1000 levels in OVS\'s words, skips it, and parses the next one', () => {
    const deep = (n: number) => `{"method":"echo","params":${'['.repeat(n)}${']'.repeat(n)},"id":1}`;
    // ovsdb-server 3.1 logs "line 0, column 1025, byte 1025: input exceeds maximum nesting depth 1000" for this one.
    const evs = feedAll(new JsonStreamParser(), [deep(MAX_JSON_DEPTH), '{"next":1}']);
    expect(evs).toEqual([
      { kind: 'error', error: 'syntax error', details: 'line 0, column 1025, byte 1025: input exceeds maximum nesting depth 1000', fatal: false },
      { kind: 'message', value: { next: 1 } },
    ]);
    // The limit holds across reads, and counts lines as OVS does.
    const p = new JsonStreamParser();
    const split = `{\n"a":\n${'['.repeat(100_000)}${']'.repeat(100_000)}}{"after":true}`;
    const parts = [split.slice(0, 500), split.slice(500, 150_000), split.slice(150_000)];
    expect(feedAll(p, parts)).toEqual([
      { kind: 'error', error: 'syntax error', details: 'line 2, column 999, byte 1006: input exceeds maximum nesting depth 1000', fatal: false },
      { kind: 'message', value: { after: true } },
    ]);
  });

  it('accepts exactly 1000 levels, and does not count brackets inside strings', () => {
    const atLimit = `${'['.repeat(MAX_JSON_DEPTH)}"${'['.repeat(5000)}"${']'.repeat(MAX_JSON_DEPTH)}`;
    const evs = feedAll(new JsonStreamParser(), [atLimit]);
    expect(evs.map((e) => e.kind)).toEqual(['message']);
  });

  it('knows when it is in the middle of a message', () => {
    const p = new JsonStreamParser();
    p.feed(Buffer.from('{"a":['));
    expect(p.midMessage).toBe(true);
    p.feed(Buffer.from(']}'));
    expect(p.midMessage).toBe(false);
  });
});
