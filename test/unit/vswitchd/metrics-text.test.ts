// The Prometheus text of a metrics snapshot, the histogram behind the
// upcall latency, and the metrics-address setting's parser.
import { describe, expect, it } from 'vitest';
import { Histogram } from '../../../src/lib/histogram.js';
import type { SwitchMetrics } from '../../../src/vswitchd/metrics.js';
import { parseMetricsAddress } from '../../../src/vswitchd/metrics-endpoint.js';
import { renderPrometheus } from '../../../src/vswitchd/metrics-text.js';

function snapshot(over: Partial<SwitchMetrics> = {}): SwitchMetrics {
  const latency = new Histogram([0.001, 0.01]);
  latency.observe(0.0005);
  latency.observe(0.005);
  latency.observe(0.5);
  return {
    interfaces: [],
    datapath: { hits: 7, misses: 3, lost: 0, upcalls: 3, flows: 2, masks: 1 },
    upcalls: { flowSetups: 2, batchLatency: latency.snapshot() },
    bridges: [],
    controllers: [],
    ...over,
  };
}

describe('Histogram', () => {
  it('counts each observation in its bucket and reads the buckets cumulatively', () => {
    const h = new Histogram([0.001, 0.01, 0.1]);
    for (const s of [0.0001, 0.001, 0.002, 0.05, 3]) h.observe(s);
    const snap = h.snapshot();
    expect(snap.buckets).toEqual([
      { le: 0.001, count: 2 },
      { le: 0.01, count: 3 },
      { le: 0.1, count: 4 },
    ]);
    expect(snap.count).toBe(5);
    expect(snap.sum).toBeCloseTo(3.0531, 6);
  });

  it('refuses bounds that do not ascend', () => {
    expect(() => new Histogram([0.1, 0.01])).toThrow('ascend');
  });
});

describe('renderPrometheus', () => {
  it('writes HELP and TYPE before each family, and a histogram with cumulative buckets, +Inf, sum and count', () => {
    const text = renderPrometheus(snapshot());
    expect(text).toContain('# HELP tvs_datapath_hits_total Packets that matched a flow in the datapath.\n# TYPE tvs_datapath_hits_total counter\ntvs_datapath_hits_total 7\n');
    expect(text).toContain('# TYPE tvs_datapath_flows gauge\ntvs_datapath_flows 2\n');
    expect(text).toContain(
      [
        'tvs_upcall_batch_duration_seconds_bucket{le="0.001"} 1',
        'tvs_upcall_batch_duration_seconds_bucket{le="0.01"} 2',
        'tvs_upcall_batch_duration_seconds_bucket{le="+Inf"} 3',
        'tvs_upcall_batch_duration_seconds_sum 0.5055',
        'tvs_upcall_batch_duration_seconds_count 3',
      ].join('\n'),
    );
    expect(text).toContain('tvs_flow_setups_total 2\n');
  });

  it('labels interfaces by bridge, port and interface, escaping quotes and backslashes', () => {
    const counters = { rxPackets: 5, rxBytes: 300, rxDropped: 1, rxErrors: 0, txPackets: 4, txBytes: 240, txDropped: 0, txErrors: 2 };
    const text = renderPrometheus(snapshot({ interfaces: [{ bridge: 'br0', port: 'p"1', interface: 'a\\b', ...counters }] }));
    const labels = '{bridge="br0",port="p\\"1",interface="a\\\\b"}';
    expect(text).toContain(`tvs_interface_rx_packets_total${labels} 5\n`);
    expect(text).toContain(`tvs_interface_rx_bytes_total${labels} 300\n`);
    expect(text).toContain(`tvs_interface_rx_dropped_total${labels} 1\n`);
    expect(text).toContain(`tvs_interface_tx_errors_total${labels} 2\n`);
  });

  it('gives a disconnected controller the role none, and leaves out the database lines when it follows a separate server', () => {
    const text = renderPrometheus(snapshot({ controllers: [{ bridge: 'br0', target: 'tcp:127.0.0.1:1', connected: false }] }));
    expect(text).toContain('tvs_controller_connected{bridge="br0",target="tcp:127.0.0.1:1",role="none"} 0\n');
    expect(text).not.toContain('tvs_ovsdb_transactions_total');
    const embedded = renderPrometheus(snapshot({ ovsdb: { committed: 4, failed: 1 } }));
    expect(embedded).toContain('tvs_ovsdb_transactions_total{result="committed"} 4\ntvs_ovsdb_transactions_total{result="failed"} 1\n');
  });
});

describe('parseMetricsAddress', () => {
  it('takes IP:PORT, [IPv6]:PORT, and a port alone on loopback', () => {
    expect(parseMetricsAddress('0.0.0.0:9475')).toEqual({ host: '0.0.0.0', port: 9475 });
    expect(parseMetricsAddress('[::1]:9475')).toEqual({ host: '::1', port: 9475 });
    expect(parseMetricsAddress('9475')).toEqual({ host: '127.0.0.1', port: 9475 });
    expect(parseMetricsAddress(':0')).toEqual({ host: '127.0.0.1', port: 0 });
  });

  it('refuses a host name, a bad port and an unbracketed IPv6 address, naming the value and the fix', () => {
    const fix = 'give other_config:metrics-address as IP:PORT, e.g. 127.0.0.1:9475 (a port alone listens on loopback)';
    expect(parseMetricsAddress('localhost:9475')).toEqual(new Error(`metrics-address "localhost:9475": "localhost" is not an IP address; ${fix}`));
    expect(parseMetricsAddress('127.0.0.1:70000')).toEqual(new Error(`metrics-address "127.0.0.1:70000": "70000" is not a port number (0 to 65535); ${fix}`));
    expect(parseMetricsAddress('127.0.0.1:')).toBeInstanceOf(Error);
    expect(parseMetricsAddress('::1:9475')).toBeInstanceOf(Error);
    expect(parseMetricsAddress('[10.0.0.1]:9475')).toBeInstanceOf(Error);
  });
});
