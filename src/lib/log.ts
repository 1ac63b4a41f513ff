// vlog-style logging, after OVS's lib/vlog.c: one named module per logger, a level per module per
// destination (console, syslog, file), and the `vlog/list`, `vlog/set`, `vlog/reopen` unixctl
// commands that let an operator change them in a running daemon.
//
// Defaults: the console gets warnings and errors only, so tools print nothing on success; the log
// file, once one is configured (--log-file), gets info and above. Syslog is listed and settable so
// that OVS habits such as `vlog/set ANY:syslog:off` keep working, but nothing is written to it.
//
// Lines look like OVS's file pattern: `2026-11-26T12:48:30.123Z|00001|module|INFO|message`, with
// one sequence number per process counting every message logged anywhere.
//
// Start-up levels come from TVS_LOG, from setLogLevel() or from daemons' -v/--verbose options
// (parseLogOption). A spec is OVS's: words separated by ':' or spaces naming at most one module,
// one destination and one level, any of which may be left out or be ANY ("jsonrpc:console:dbg",
// "file:info", "dbg"), or `PATTERN:destination:pattern`. setLogLevel() also accepts several specs
// separated by commas ("ovsdb:info,jsonrpc:off"), as it always has.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CommandRegistry } from './command-registry.js';
import { defaultLogFile } from './paths.js';

export type LogLevel = 'off' | 'emer' | 'err' | 'warn' | 'info' | 'dbg';
export type LogDestination = 'console' | 'syslog' | 'file';

const LEVELS: readonly LogLevel[] = ['off', 'emer', 'err', 'warn', 'info', 'dbg'];
const RANK: Record<LogLevel, number> = { off: 0, emer: 1, err: 2, warn: 3, info: 4, dbg: 5 };
const DESTINATIONS: readonly LogDestination[] = ['console', 'syslog', 'file'];
const CONSOLE = 0;
const FILE = 2;

/** OVS's default file pattern; the console uses it too, so both show milliseconds and sequence. */
const DEFAULT_PATTERN = '%D{%Y-%m-%dT%H:%M:%S.###Z}|%05N|%c%T|%p|%m';
const SYSLOG_PATTERN = 'ovs|%05N|%c%T|%p|%m';

/** A pattern's conversions: %[-][0][width]c, with a {argument} after %d and %D. */
const CONVERSION = /%(-?)(0?)(\d*)([AcdDmNpPTBEt%])(\{[^}]*\})?/g;
/** Widest field a pattern may ask for: a wider one only pads lines, and a huge one cannot be built. */
const MAX_FIELD_WIDTH = 1000;

/** Levels, indexed by destination, given to a module that no spec has named yet. */
const defaults: number[] = [RANK.warn, RANK.off, RANK.info];
/** Registered modules (every getLogger name) and their levels, indexed by destination. */
const modules = new Map<string, number[]>();
/** Levels set from the command line or TVS_LOG for modules that have not registered yet. */
const pendingModules = new Map<string, number[]>();
/** Patterns, indexed by destination. */
const patterns: [console: string, syslog: string, file: string] = [DEFAULT_PATTERN, SYSLOG_PATTERN, DEFAULT_PATTERN];

let seq = 0;
let program = 'tvs';
/** Set once stderr has failed (its reader went away): logging must not take the process down. */
let consoleBroken = false;
process.stderr.on('error', () => (consoleBroken = true));
/** Set once stderr has been told that a line could not be logged as configured. */
let failureReported = false;
let sink: (line: string) => void = (line) => {
  if (!consoleBroken) process.stderr.write(line + '\n');
};
let logFile: { path: string; fd: number | null } | null = null;

function levelOf(s: string): LogLevel | undefined {
  const l = s.toLowerCase();
  return (LEVELS as readonly string[]).includes(l) ? (l as LogLevel) : undefined;
}

function destinationOf(s: string): number {
  return DESTINATIONS.indexOf(s.toLowerCase() as LogDestination);
}

function levelsFor(module: string): number[] {
  let levels = modules.get(module);
  if (!levels) {
    levels = pendingModules.get(module) ?? [...defaults];
    pendingModules.delete(module);
    modules.set(module, levels);
  }
  return levels;
}

/**
 * Sets `level` for `module` (every module, and those yet to register, when null) on
 * `destination` (every destination when null).
 */
export function setLevels(module: string | null, destination: LogDestination | null, level: LogLevel): void {
  const rank = RANK[level];
  const dests = destination === null ? [0, 1, 2] : [DESTINATIONS.indexOf(destination)];
  const apply = (levels: number[]): void => {
    for (const d of dests) levels[d] = rank;
  };
  if (module === null) {
    apply(defaults);
    for (const levels of modules.values()) apply(levels);
    for (const levels of pendingModules.values()) apply(levels);
  } else if (modules.has(module)) {
    apply(modules.get(module)!);
  } else {
    let levels = pendingModules.get(module);
    if (!levels) pendingModules.set(module, (levels = [...defaults]));
    apply(levels);
  }
}

/** The current level of `module` on `destination`. */
export function getLevel(module: string, destination: LogDestination): LogLevel {
  const levels = modules.get(module) ?? pendingModules.get(module) ?? defaults;
  return LEVELS[levels[DESTINATIONS.indexOf(destination)]!]!;
}

/**
 * Applies one OVS spec, throwing OVS's messages on a bad one. `strict` (vlog/set) refuses module
 * names no logger has registered; otherwise (command line, TVS_LOG) they are remembered for when
 * the module registers, since ES modules register their loggers as they are imported.
 */
export function applyLogSpec(spec: string, strict = true): void {
  const words = spec.split(/[ ,:\t]+/).filter(Boolean);
  if (words.length > 0 && words[0]!.toUpperCase() === 'PATTERN') {
    const dest = words[1];
    if (dest === undefined) throw new Error('missing destination');
    // The pattern is everything after "PATTERN:dest:", colons and all.
    const rest = spec.replace(/^\s*PATTERN[ :\t]+[^ :\t]+[ :\t]?/i, '');
    const targets = dest.toUpperCase() === 'ANY' ? [0, 1, 2] : [destinationOf(dest)];
    if (targets[0] === -1) throw new Error(`unknown destination "${dest}"`);
    checkPattern(rest);
    for (const d of targets) patterns[d] = rest || (d === 1 ? SYSLOG_PATTERN : DEFAULT_PATTERN);
    return;
  }
  let module: string | null = null;
  let destination: LogDestination | null = null;
  let level: LogLevel | undefined;
  for (const word of words) {
    if (word.toUpperCase() === 'ANY') continue;
    const d = destinationOf(word);
    const l = levelOf(word);
    if (d >= 0) {
      if (destination !== null) throw new Error('cannot specify multiple destinations');
      destination = DESTINATIONS[d]!;
    } else if (l !== undefined) {
      if (level !== undefined) throw new Error('cannot specify multiple levels');
      level = l;
    } else if (modules.has(word) || (!strict && /^[A-Za-z0-9_.-]+$/.test(word))) {
      if (module !== null) throw new Error('cannot specify multiple modules');
      module = word;
    } else {
      throw new Error(`no destination, level, or module "${word}"`);
    }
  }
  setLevels(module, destination, level ?? 'dbg');
}

function checkPattern(pattern: string): void {
  for (const [conversion, , , width] of pattern.matchAll(CONVERSION)) {
    if (width && Number(width) > MAX_FIELD_WIDTH) {
      throw new Error(`field width ${width} in "${conversion}" exceeds the maximum of ${MAX_FIELD_WIDTH}`);
    }
  }
}

/** Applies a spec such as "dbg", "jsonrpc:dbg", "ANY:console:info" or "ovsdb:info,jsonrpc:off". */
export function setLogLevel(spec: string): void {
  // Commas separated whole specs in this function's first version; keep that meaning.
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) applyLogSpec(part, false);
}

/** Redirects console log lines (tests capture them). */
export function setLogSink(fn: (line: string) => void): void {
  sink = fn;
}

/** The program name some patterns (%A) print and the default log file is named after. */
export function setProgramName(name: string): void {
  program = name;
}

function openLogFile(path: string): number {
  mkdirSync(dirname(path), { recursive: true });
  return openSync(path, 'a', 0o640);
}

/**
 * Starts logging to `path` (null: stop). Throws if the file cannot be opened, so a daemon can
 * refuse to start with a log file it cannot write.
 */
export function setLogFile(path: string | null): void {
  closeLogFile();
  logFile = null;
  if (path === null) return;
  logFile = { path, fd: openLogFile(path) };
  getLogger('vlog').info(`opened log file ${path}`);
}

/** Reopens the log file (after logrotate moved it); throws when none is configured or on failure. */
function reopenLogFile(): void {
  if (!logFile) throw new Error('Logging to file not configured');
  const path = logFile.path;
  if (logFile.fd !== null) closeSync(logFile.fd);
  logFile.fd = null;
  logFile.fd = openLogFile(path);
  getLogger('vlog').info(`opened log file ${path}`);
}

/** Closes the log file (vlog/close); reopenLogFile() opens it again. */
function closeLogFile(): void {
  if (logFile?.fd !== null && logFile?.fd !== undefined) closeSync(logFile.fd);
  if (logFile) logFile.fd = null;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** strftime for the conversions OVS's default patterns use, plus ### for milliseconds. */
function strftime(fmt: string, t: Date, utc: boolean): string {
  const g = utc
    ? { Y: t.getUTCFullYear(), m: t.getUTCMonth(), d: t.getUTCDate(), H: t.getUTCHours(), M: t.getUTCMinutes(), S: t.getUTCSeconds(), ms: t.getUTCMilliseconds() }
    : { Y: t.getFullYear(), m: t.getMonth(), d: t.getDate(), H: t.getHours(), M: t.getMinutes(), S: t.getSeconds(), ms: t.getMilliseconds() };
  return fmt
    .replace(/%([YmdHMSTehs%])/g, (_, c: string) => {
      switch (c) {
        case 'Y': return String(g.Y);
        case 'm': return pad(g.m + 1, 2);
        case 'd': return pad(g.d, 2);
        case 'e': return String(g.d).padStart(2, ' ');
        case 'H': return pad(g.H, 2);
        case 'M': return pad(g.M, 2);
        case 'S': return pad(g.S, 2);
        case 'T': return `${pad(g.H, 2)}:${pad(g.M, 2)}:${pad(g.S, 2)}`;
        case 'h': return MONTHS[g.m]!;
        case 's': return String(Math.floor(t.getTime() / 1000));
        default: return '%';
      }
    })
    .replace('###', pad(g.ms, 3));
}

/** Formats one message by an OVS pattern: %A %c %d{} %D{} %m %N %p %P %T %%, with widths. */
export function formatLogLine(pattern: string, module: string, level: LogLevel, msg: string, n: number, time = new Date()): string {
  if (pattern === DEFAULT_PATTERN) {
    // The common case, without the pattern interpreter.
    return `${time.toISOString()}|${pad(n, 5)}|${module}|${level.toUpperCase()}|${msg}`;
  }
  return pattern.replace(CONVERSION, (_all, left: string, zero: string, width: string, c: string, arg?: string) => {
    let s: string;
    switch (c) {
      case 'A': s = program; break;
      case 'c': s = module; break;
      case 'd': s = strftime(arg ? arg.slice(1, -1) : '%Y-%m-%d %H:%M:%S.###', time, false); break;
      case 'D': s = strftime(arg ? arg.slice(1, -1) : '%Y-%m-%d %H:%M:%S.###', time, true); break;
      case 'm': s = msg; break;
      case 'N': s = String(n); break;
      case 'p': s = level.toUpperCase(); break;
      case 'P': s = String(process.pid); break;
      case '%': s = '%'; break;
      default: s = ''; // %T (thread name: none on the main thread), %B, %E, %t: syslog details
    }
    const w = width ? Number(width) : 0;
    if (s.length >= w) return s;
    if (left) return s.padEnd(w, ' ');
    return s.padStart(w, zero && c === 'N' ? '0' : ' ');
  });
}

if (process.env.TVS_LOG) setLogLevel(process.env.TVS_LOG);

export interface Logger {
  emer(msg: string): void;
  err(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  dbg(msg: string): void;
  /** True if a message at `level` would go anywhere: build costly messages only then. */
  enabled(level: LogLevel): boolean;
}

function writeFile(line: string): void {
  if (logFile?.fd === null || logFile?.fd === undefined) return;
  try {
    writeSync(logFile.fd, line + '\n');
  } catch (e) {
    // A full disk must not take the daemon down; say so once on the console and stop writing.
    const path = logFile.path;
    closeLogFile();
    try {
      sink(`log file ${path}: ${(e as Error).message}; file logging stopped until vlog/reopen`);
    } catch {
      // The console is failing too: nowhere left to say it.
    }
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A log line could not be made or written as configured: say so once, straight to stderr. */
function reportLogFailure(sentence: string): void {
  if (failureReported || consoleBroken) return;
  failureReported = true;
  try {
    process.stderr.write(`${program}: ${sentence}\n`);
  } catch {
    // Nowhere left to say it.
  }
}

export function getLogger(module: string): Logger {
  const levels = levelsFor(module);
  const fileOpen = (): boolean => logFile !== null && logFile.fd !== null;
  const enabled = (level: LogLevel): boolean => {
    const r = RANK[level];
    return r !== 0 && (r <= levels[CONSOLE]! || (fileOpen() && r <= levels[FILE]!));
  };
  const emit = (level: LogLevel, msg: string): void => {
    const r = RANK[level];
    const toConsole = r <= levels[CONSOLE]!;
    const toFile = fileOpen() && r <= levels[FILE]!;
    if (!toConsole && !toFile) return;
    const n = ++seq;
    const time = new Date();
    const line = (dest: number): string => {
      try {
        return formatLogLine(patterns[dest]!, module, level, msg, n, time);
      } catch (e) {
        reportLogFailure(`formatting a log line with the ${DESTINATIONS[dest]!} pattern "${patterns[dest]!}" failed (${errorText(e)}); using the default pattern instead`);
        return formatLogLine(DEFAULT_PATTERN, module, level, msg, n, time);
      }
    };
    if (toConsole) {
      try {
        sink(line(CONSOLE));
      } catch (e) {
        reportLogFailure(`writing a log line to the console failed (${errorText(e)})`);
      }
    }
    if (toFile) writeFile(line(FILE));
  };
  return {
    emer: (m) => emit('emer', m),
    err: (m) => emit('err', m),
    warn: (m) => emit('warn', m),
    info: (m) => emit('info', m),
    dbg: (m) => emit('dbg', m),
    enabled,
  };
}

/** `vlog/list`, in OVS's layout. */
export function listLevels(): string {
  let s = '                 console    syslog    file\n                 -------    ------    ------\n';
  for (const name of [...modules.keys()].sort()) {
    const l = modules.get(name)!.map((r) => LEVELS[r]!.toUpperCase());
    s += `${name.padEnd(16)}  ${l[0]!.padStart(4)}       ${l[1]!.padStart(4)}       ${l[2]!.padStart(4)}\n`;
  }
  return s;
}

/** `vlog/list-pattern`, in OVS's layout. */
function listPatterns(): string {
  let s = '         prefix                            format\n         ------                            ------\n';
  s += `${'SYSLOG'.padEnd(9)}${'none'.padEnd(34)}${patterns[1]}\n`;
  s += `${'CONSOLE'.padEnd(9)}${'none'.padEnd(34)}${patterns[0]}\n`;
  s += `${'FILE'.padEnd(9)}${'none'.padEnd(34)}${patterns[2]}\n`;
  return s;
}

/** Registers vlog/list, vlog/list-pattern, vlog/set, vlog/reopen and vlog/close, as OVS daemons have them. */
export function registerVlogCommands(registry: CommandRegistry): void {
  registry.register('vlog/list', '', 0, 0, () => listLevels());
  registry.register('vlog/list-pattern', '', 0, 0, () => listPatterns());
  registry.register('vlog/set', '{spec | PATTERN:destination:pattern}', 0, Number.MAX_SAFE_INTEGER, (args) => {
    if (args.length === 0) setLevels(null, null, 'dbg');
    for (const spec of args) applyLogSpec(spec, true);
    return '';
  });
  registry.register('vlog/reopen', '', 0, 0, () => {
    reopenLogFile();
    return '';
  });
  registry.register('vlog/close', '', 0, 0, () => {
    closeLogFile();
    return '';
  });
}

/** The logging options of every daemon, for its --help. */
export function logOptionsUsage(): string {
  return `Logging options:
  -vSPEC, --verbose=SPEC   set logging levels
  -v, --verbose            set maximum verbosity level
  --log-file[=FILE]        enable logging to specified FILE
                           (default: ${defaultLogFile(program)})
`;
}

/**
 * Handles one command-line argument if it is a logging option (-v, -vSPEC, --verbose[=SPEC],
 * --log-file[=FILE]) and returns true; returns false for anything else. Throws on a bad spec or
 * a log file that cannot be opened. Call setProgramName() first for the default log file name.
 */
export function parseLogOption(arg: string): boolean {
  if (arg === '-v' || arg === '--verbose') {
    setLevels(null, null, 'dbg');
  } else if (arg.startsWith('--verbose=')) {
    setLogLevel(arg.slice('--verbose='.length));
  } else if (arg.startsWith('-v') && !arg.startsWith('--')) {
    setLogLevel(arg.slice(2));
  } else if (arg === '--log-file') {
    setLogFile(defaultLogFile(program));
  } else if (arg.startsWith('--log-file=')) {
    setLogFile(arg.slice('--log-file='.length));
  } else {
    return false;
  }
  return true;
}
