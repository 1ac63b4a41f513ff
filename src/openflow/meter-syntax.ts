/**
 * ovs-ofctl's meter syntax (the "Meter Syntax" section of ovs-ofctl(8)), as add-meter, mod-meter,
 * del-meters and dump-meters take it:
 *
 *   meter=1,kbps,burst,stats,bands=type=drop,rate=1000,burst_size=100
 *   meter=2,pktps,bands=type=dscp_remark,rate=50,prec_level=1,type=drop,rate=100
 *   meter=all            (del-meters, dump-meters; an empty string means the same)
 *
 * Everything after `bands=` describes bands; each starts with `type=`. The checks are OVS's own,
 * with its words, so a user finds the same explanations; the switch checks the rest (meter_mod
 * errors such as OFPMMFC_BAD_RATE).
 */
import { OFPM, type MeterBand, type MeterFlags, type MeterMod } from '../ofproto/meters.js';
import { parseArgUint } from '../lib/uint.js';

/** A meter that cannot be parsed, with what to change. */
class MeterSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MeterSyntaxError';
  }
}

function fail(message: string): never {
  throw new MeterSyntaxError(message);
}

const uint = (text: string, label: string, bits: number): number => Number(parseArgUint(text, label, bits, fail));

/** Keywords and values: "a=1,b 2,c" -> [a,1] [b,2] [c] split on "=", ",", and white space as OVS's strtok does. */
function words(s: string): string[] {
  return s.split(/[=,\s]+/).filter((w) => w !== '');
}

function meterId(value: string): number {
  if (value === 'all') return OFPM.ALL;
  if (value === 'controller') return OFPM.CONTROLLER;
  if (value === 'slowpath') return OFPM.SLOWPATH;
  const id = uint(value, 'meter', 32);
  if (id === 0 || id > OFPM.MAX) fail(`invalid value for meter: ${value} (use 1-${OFPM.MAX}, or all)`);
  return id;
}

function parseBands(s: string, flags: MeterFlags): MeterBand[] {
  const bands: Array<{ type: MeterBand['type']; rate: number; burstSize: number; precLevel: number }> = [];
  const w = words(s);
  for (let i = 0; i < w.length; i += 2) {
    const name = w[i]!;
    const value = w[i + 1] ?? fail(`field ${name} missing value`);
    if (name === 'type') {
      if (value !== 'drop' && value !== 'dscp_remark') fail(`field type unknown value ${value}: use drop or dscp_remark`);
      bands.push({ type: value, rate: 0, burstSize: 0, precLevel: 0 });
      continue;
    }
    const band = bands.at(-1) ?? fail("band must start with the 'type' keyword");
    if (name === 'rate') band.rate = uint(value, 'rate', 32);
    else if (name === 'burst_size') band.burstSize = uint(value, 'burst_size', 32);
    else if (name === 'prec_level') band.precLevel = uint(value, 'prec_level', 8);
    else fail(`unknown keyword ${name} in bands: use type, rate, burst_size or prec_level`);
  }
  if (bands.length === 0) fail('meter must have bands');
  return bands.map((b) => {
    if (b.type === 'dscp_remark' && !b.precLevel) fail("'dscp_remark' band must have 'prec_level'");
    if (b.type === 'drop' && b.precLevel) fail("Only 'dscp_remark' band may have 'prec_level'");
    if (!b.rate) fail("band must have 'rate'");
    if (flags.burst && !b.burstSize) fail("band must have 'burst_size' when 'burst' flag is set");
    if (!flags.burst && b.burstSize) fail("band may have 'burst_size' only when 'burst' flag is set");
    return b.type === 'drop' ? { type: 'drop', rate: b.rate, burstSize: b.burstSize } : { type: 'dscp_remark', rate: b.rate, burstSize: b.burstSize, precLevel: b.precLevel };
  });
}

/**
 * Parses a meter for `command` (add, modify, delete). For delete an empty string is every meter
 * (del-meters with no argument); `parseMeterId` reads dump-meters' and meter-stats' argument.
 */
export function parseMeterMod(s: string, command: MeterMod['command']): MeterMod {
  if (command === 'delete') return { command, meterId: parseMeterId(s), flags: {}, bands: [] };
  const at = s.indexOf('band');
  if (at < 0) fail('must specify bands');
  const eq = s.indexOf('=', at);
  if (eq < 0) fail('must specify bands');
  const flags: MeterFlags = {};
  let id: number | undefined;
  const w = words(s.slice(0, at));
  for (let i = 0; i < w.length; i++) {
    const name = w[i]!;
    if (name === 'kbps' || name === 'pktps' || name === 'burst' || name === 'stats') flags[name] = true;
    else if (name === 'meter') id = meterId(w[++i] ?? fail('field meter missing value'));
    else fail(`unknown keyword ${name}: use meter, kbps, pktps, burst, stats and bands`);
  }
  if (id === undefined) fail("must specify 'meter'");
  if (!flags.kbps && !flags.pktps && !flags.burst && !flags.stats) fail("meter must specify either 'kbps' or 'pktps'");
  return { command, meterId: id, flags, bands: parseBands(s.slice(eq + 1), flags) };
}

/** The meter of `meter=N` / `meter=all`; an empty string is every meter. */
export function parseMeterId(s: string): number {
  const w = words(s);
  if (w.length === 0) return OFPM.ALL;
  if (w[0] !== 'meter') fail(`unknown keyword ${w[0]!}: use meter=N or meter=all`);
  if (w.length !== 2) fail(w.length < 2 ? 'field meter missing value' : `unexpected "${w.slice(2).join(' ')}" after meter=${w[1]!}`);
  return meterId(w[1]!);
}
