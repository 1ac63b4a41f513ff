import { describe, expect, it } from 'vitest';
import { parseCollector } from '../../../src/vswitchd/sflow-config.js';

describe('sFlow targets', () => {
  it('reads IP:PORT, a bare IP on port 6343, and [IPv6]:PORT', () => {
    expect(parseCollector('192.0.2.10:6400')).toEqual({ host: '192.0.2.10', port: 6400 });
    expect(parseCollector('192.0.2.10')).toEqual({ host: '192.0.2.10', port: 6343 });
    expect(parseCollector('[2001:db8::1]:6343')).toEqual({ host: '2001:db8::1', port: 6343 });
  });

  it('refuses a host name or a port out of range, saying how to write a target', () => {
    expect(() => parseCollector('collector.example:6343')).toThrow('target "collector.example:6343" is not IP:PORT (write e.g. targets="192.0.2.10:6343"; the port defaults to 6343)');
    expect(() => parseCollector('192.0.2.10:70000')).toThrow(/is not IP:PORT/);
  });
});
