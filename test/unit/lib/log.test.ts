import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommandRegistry } from '../../../src/lib/command-registry.js';
import {
  applyLogSpec,
  formatLogLine,
  getLevel,
  getLogger,
  listLevels,
  parseLogOption,
  registerVlogCommands,
  setLevels,
  setLogFile,
  setLogLevel,
  setLogSink,
} from '../../../src/lib/log.js';

const lines: string[] = [];
setLogSink((l) => lines.push(l));
const dir = mkdtempSync(join(tmpdir(), 'tvs-log-'));
afterAll(() => {
  setLogFile(null);
  rmSync(dir, { recursive: true, force: true });
});

const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\|\d{5}\|[a-z_]+\|(EMER|ERR|WARN|INFO|DBG)\|/;

describe('vlog levels', () => {
  beforeEach(() => {
    lines.length = 0;
    setLogFile(null);
    setLevels(null, 'console', 'warn');
    setLevels(null, 'file', 'info');
  });

  it('is quiet on the console by default: warnings and errors only, in OVS line format', () => {
    const log = getLogger('quiet_mod');
    log.info('not shown');
    log.dbg('not shown either');
    log.warn('careful');
    log.err('broken');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(LINE);
    expect(lines[0]).toMatch(/\|quiet_mod\|WARN\|careful$/);
    expect(lines[1]).toMatch(/\|quiet_mod\|ERR\|broken$/);
    // One sequence number per message, counting up.
    const seqs = lines.map((l) => Number(l.split('|')[1]));
    expect(seqs[1]).toBe(seqs[0]! + 1);
  });

  it('obeys a per-module console level and leaves other modules alone', () => {
    const a = getLogger('mod_a');
    const b = getLogger('mod_b');
    applyLogSpec('mod_a:console:dbg');
    a.dbg('a-dbg');
    b.info('b-info');
    expect(lines.map((l) => l.split('|').slice(2).join('|'))).toEqual(['mod_a|DBG|a-dbg']);
    expect(a.enabled('dbg')).toBe(true);
    expect(b.enabled('info')).toBe(false);
    applyLogSpec('mod_a:console:off');
    a.emer('silenced');
    expect(lines).toHaveLength(1);
  });

  it('writes info and above to the log file while the console stays at warn', () => {
    const path = join(dir, 'sub', 'd.log');
    setLogFile(path);
    const log = getLogger('filed');
    log.info('to the file');
    log.dbg('nowhere');
    log.warn('both');
    const file = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(file[0]).toMatch(/\|vlog\|INFO\|opened log file .*d\.log$/);
    expect(file.slice(1).map((l) => l.replace(/^[^|]*\|\d{5}\|/, ''))).toEqual(['filed|INFO|to the file', 'filed|WARN|both']);
    expect(file.every((l) => LINE.test(l))).toBe(true);
    expect(lines.map((l) => l.replace(/^[^|]*\|\d{5}\|/, ''))).toEqual(['filed|WARN|both']);
  });

  it('vlog/reopen starts a new file after rotation; vlog/reopen without a file is an error', async () => {
    const reg = new CommandRegistry();
    registerVlogCommands(reg);
    expect(await reg.run('vlog/reopen')).toEqual({ ok: false, output: 'Logging to file not configured' });
    const path = join(dir, 'rot.log');
    setLogFile(path);
    renameSync(path, path + '.1');
    expect(await reg.run('vlog/reopen')).toEqual({ ok: true, output: '' });
    getLogger('rot').info('after rotation');
    expect(readFileSync(path, 'utf8')).toContain('|rot|INFO|after rotation');
    expect(readFileSync(path + '.1', 'utf8')).not.toContain('after rotation');
  });

  it('vlog/set then vlog/list round-trips in OVS table layout', async () => {
    const reg = new CommandRegistry();
    registerVlogCommands(reg);
    getLogger('bridge');
    expect(await reg.run('vlog/set', ['bridge:file:dbg', 'bridge:console:off'])).toEqual({ ok: true, output: '' });
    const list = (await reg.run('vlog/list')).output;
    expect(list.startsWith('                 console    syslog    file\n                 -------    ------    ------\n')).toBe(true);
    expect(list).toContain('\nbridge             OFF        OFF        DBG\n');
    expect(list).toContain('\nquiet_mod         WARN        OFF       INFO\n');
    // Sorted by module name.
    const names = list.split('\n').slice(2, -1).map((l) => l.split(' ')[0]!);
    expect(names).toEqual([...names].sort());
    // Words in any order, spaces as separators, ANY and upper case accepted.
    expect((await reg.run('vlog/set', ['INFO console bridge'])).ok).toBe(true);
    expect(getLevel('bridge', 'console')).toBe('info');
    expect((await reg.run('vlog/set', ['ANY:file:warn'])).ok).toBe(true);
    expect(getLevel('bridge', 'file')).toBe('warn');
    expect(getLevel('quiet_mod', 'file')).toBe('warn');
    // No level means dbg; no arguments at all means everything at dbg.
    expect((await reg.run('vlog/set', ['bridge:syslog'])).ok).toBe(true);
    expect(getLevel('bridge', 'syslog')).toBe('dbg');
    expect((await reg.run('vlog/set', [])).ok).toBe(true);
    expect(getLevel('quiet_mod', 'console')).toBe('dbg');
  });

  it('vlog/set refuses bad specs with OVS messages', async () => {
    const reg = new CommandRegistry();
    registerVlogCommands(reg);
    expect(await reg.run('vlog/set', ['nosuch:dbg'])).toEqual({ ok: false, output: 'no destination, level, or module "nosuch"' });
    expect(await reg.run('vlog/set', ['bridge:info:warn'])).toEqual({ ok: false, output: 'cannot specify multiple levels' });
    expect(await reg.run('vlog/set', ['bridge:console:file'])).toEqual({ ok: false, output: 'cannot specify multiple destinations' });
    expect(await reg.run('vlog/set', ['bridge:mod_a'])).toEqual({ ok: false, output: 'cannot specify multiple modules' });
    expect(await reg.run('vlog/set', ['PATTERN:nowhere:%m'])).toEqual({ ok: false, output: 'unknown destination "nowhere"' });
  });

  it('PATTERN:console:... changes the console line layout; vlog/list-pattern shows it', async () => {
    const reg = new CommandRegistry();
    registerVlogCommands(reg);
    expect((await reg.run('vlog/set', ['PATTERN:console:%c:%p:%m'])).ok).toBe(true);
    getLogger('pat').warn('hello');
    expect(lines.at(-1)).toBe('pat:WARN:hello');
    expect((await reg.run('vlog/list-pattern')).output).toContain('\nCONSOLE  none                              %c:%p:%m\n');
    expect((await reg.run('vlog/set', ['PATTERN:console:%D{%Y-%m-%dT%H:%M:%S.###Z}|%05N|%c%T|%p|%m'])).ok).toBe(true);
    getLogger('pat').warn('back');
    expect(lines.at(-1)).toMatch(LINE);
  });

  it('vlog/set refuses a field width over 1000, naming it, and keeps the pattern it had', async () => {
    const reg = new CommandRegistry();
    registerVlogCommands(reg);
    const before = (await reg.run('vlog/list-pattern')).output;
    expect(await reg.run('vlog/set', ['PATTERN:file:%999999999m'])).toEqual({ ok: false, output: 'field width 999999999 in "%999999999m" exceeds the maximum of 1000' });
    expect(await reg.run('vlog/set', ['PATTERN:ANY:%c|%-1001p|%m'])).toEqual({ ok: false, output: 'field width 1001 in "%-1001p" exceeds the maximum of 1000' });
    expect((await reg.run('vlog/list-pattern')).output).toBe(before);
    expect(() => parseLogOption('-vPATTERN:console:%0099999999999999999999N')).toThrow('field width 099999999999999999999 in "%0099999999999999999999N" exceeds the maximum of 1000');
    expect((await reg.run('vlog/set', ['PATTERN:console:%1000m'])).ok).toBe(true);
    getLogger('wide').warn('x');
    expect(lines.at(-1)).toBe(' '.repeat(999) + 'x');
    applyLogSpec('PATTERN:console:');
  });

  it('logs a line its pattern cannot build in the default pattern instead, and says so once on stderr', () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      // 600 copies of a 1 MiB message are more than a JavaScript string can hold.
      applyLogSpec(`PATTERN:console:${'%m'.repeat(600)}`);
      const log = getLogger('huge');
      const big = 'x'.repeat(1 << 20);
      expect(() => log.warn(big)).not.toThrow();
      log.warn(big);
      expect(lines.slice(-2).map((l) => l.replace(/^[^|]*\|\d{5}\|/, ''))).toEqual([`huge|WARN|${big}`, `huge|WARN|${big}`]);
      expect(lines.at(-1)).toMatch(LINE);
      expect(stderr.mock.calls.map(([text]) => String(text))).toEqual([
        expect.stringMatching(/^tvs: formatting a log line with the console pattern "(%m)+" failed \(Invalid string length\); using the default pattern instead\n$/),
      ]);
    } finally {
      stderr.mockRestore();
      applyLogSpec('PATTERN:console:');
    }
  });

  it('keeps logging to the file when the console throws', () => {
    const path = join(dir, 'console-fails.log');
    setLogFile(path);
    setLogSink(() => {
      throw new Error('console gone');
    });
    try {
      expect(() => getLogger('survivor').warn('still here')).not.toThrow();
    } finally {
      setLogSink((l) => lines.push(l));
    }
    expect(readFileSync(path, 'utf8')).toContain('|survivor|WARN|still here\n');
  });

  it('formats patterns with widths and dates as OVS does', () => {
    const t = new Date(Date.UTC(2026, 10, 26, 12, 48, 30, 123));
    expect(formatLogLine('%D{%Y-%m-%dT%H:%M:%S.###Z}|%05N|%c%T|%p|%m', 'm', 'info', 'x', 1, t)).toBe('2026-11-26T12:48:30.123Z|00001|m|INFO|x');
    expect(formatLogLine('%D{%h %e %T}|%-6p|%5N|%%', 'm', 'err', 'x', 42, t)).toBe('Nov 26 12:48:30|ERR   |   42|%');
  });

  it('parses daemon logging options, and setLogLevel keeps its comma-separated form', () => {
    expect(parseLogOption('--remote=x')).toBe(false);
    expect(parseLogOption('-vlater_mod:file:warn')).toBe(true);
    getLogger('later_mod'); // registers after the option named it: the level waits for it
    expect(getLevel('later_mod', 'file')).toBe('warn');
    expect(parseLogOption('--verbose=later_mod:console:info')).toBe(true);
    expect(getLevel('later_mod', 'console')).toBe('info');
    setLogLevel('later_mod:err,mod_b:dbg');
    expect(getLevel('later_mod', 'console')).toBe('err');
    expect(getLevel('mod_b', 'file')).toBe('dbg');
    expect(parseLogOption('-v')).toBe(true);
    expect(getLevel('later_mod', 'console')).toBe('dbg');
    const path = join(dir, 'opt.log');
    expect(parseLogOption(`--log-file=${path}`)).toBe(true);
    expect(readFileSync(path, 'utf8')).toContain('opened log file');
    expect(() => parseLogOption('-vfile:console')).toThrow('cannot specify multiple destinations');
  });

  it('lists every registered module', () => {
    getLogger('zz_last');
    expect(listLevels().trimEnd().split('\n').at(-1)).toMatch(/^zz_last\s+/);
  });
});
