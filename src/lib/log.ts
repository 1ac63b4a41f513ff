// A small vlog-style logger: one named module per logger, levels filtered per module, quiet by
// default (warnings and errors only) so that tools print nothing on success. The level comes from
// TVS_LOG ("dbg", "info", or "module:dbg,other:info") or from setLogLevel() (a -v flag).

export type LogLevel = 'off' | 'err' | 'warn' | 'info' | 'dbg';

const RANK: Record<LogLevel, number> = { off: 0, err: 1, warn: 2, info: 3, dbg: 4 };

let defaultLevel: LogLevel = 'warn';
const moduleLevels = new Map<string, LogLevel>();
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');

function isLevel(s: string): s is LogLevel {
  return Object.prototype.hasOwnProperty.call(RANK, s);
}

/** Applies a spec such as "dbg", "jsonrpc:dbg" or "ovsdb:info,jsonrpc:off". */
export function setLogLevel(spec: string): void {
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const colon = part.lastIndexOf(':');
    const level = colon < 0 ? part : part.slice(colon + 1);
    if (!isLevel(level)) throw new Error(`unknown log level "${level}" (use off, err, warn, info or dbg)`);
    if (colon < 0) defaultLevel = level;
    else moduleLevels.set(part.slice(0, colon), level);
  }
}

/** Redirects log lines (tests capture them; daemons may write to a file). */
export function setLogSink(fn: (line: string) => void): void {
  sink = fn;
}

if (process.env.TVS_LOG) setLogLevel(process.env.TVS_LOG);

export interface Logger {
  err(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  dbg(msg: string): void;
  enabled(level: LogLevel): boolean;
}

export function getLogger(module: string): Logger {
  const enabled = (level: LogLevel): boolean => RANK[level] <= RANK[moduleLevels.get(module) ?? defaultLevel];
  const emit = (level: LogLevel, msg: string): void => {
    if (enabled(level)) sink(`${new Date().toISOString()}|${module}|${level.toUpperCase()}|${msg}`);
  };
  return {
    err: (m) => emit('err', m),
    warn: (m) => emit('warn', m),
    info: (m) => emit('info', m),
    dbg: (m) => emit('dbg', m),
    enabled,
  };
}
