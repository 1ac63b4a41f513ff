// Command-line parsing as ovs-vsctl does it: getopt_long with "+" (options stop at the first
// command), unique prefixes of long options, command options (--may-exist ...) accepted before the
// first command, then commands separated by "--", each with its own leading options.

import { argCountProblem } from '../lib/command-line.js';
import type { TlsFiles } from '../lib/tls.js';
import { type Command, type CommandSyntax, fatal } from './context.js';
import type { TableStyle } from './output.js';

type HasArg = 'none' | 'required' | 'optional';

interface LongOption {
  name: string;
  hasArg: HasArg;
  short?: string;
  local?: boolean;
}

const GLOBAL: LongOption[] = [
  { name: 'db', hasArg: 'required' },
  { name: 'no-syslog', hasArg: 'none' },
  { name: 'no-wait', hasArg: 'none' },
  { name: 'dry-run', hasArg: 'none' },
  { name: 'oneline', hasArg: 'none' },
  { name: 'timeout', hasArg: 'required', short: 't' },
  { name: 'retry', hasArg: 'none' },
  { name: 'help', hasArg: 'none', short: 'h' },
  { name: 'commands', hasArg: 'none' },
  { name: 'options', hasArg: 'none' },
  { name: 'leader-only', hasArg: 'none' },
  { name: 'no-leader-only', hasArg: 'none' },
  { name: 'shuffle-remotes', hasArg: 'none' },
  { name: 'no-shuffle-remotes', hasArg: 'none' },
  { name: 'version', hasArg: 'none', short: 'V' },
  { name: 'verbose', hasArg: 'optional', short: 'v' },
  { name: 'log-file', hasArg: 'optional' },
  { name: 'syslog-method', hasArg: 'required' },
  { name: 'syslog-target', hasArg: 'required' },
  { name: 'format', hasArg: 'required', short: 'f' },
  { name: 'data', hasArg: 'required', short: 'd' },
  { name: 'no-headings', hasArg: 'none' },
  { name: 'pretty', hasArg: 'none' },
  { name: 'bare', hasArg: 'none' },
  { name: 'max-column-width', hasArg: 'required' },
  { name: 'private-key', hasArg: 'required', short: 'p' },
  { name: 'certificate', hasArg: 'required', short: 'c' },
  { name: 'ca-cert', hasArg: 'required', short: 'C' },
  { name: 'ssl-protocols', hasArg: 'required' },
  { name: 'ssl-ciphers', hasArg: 'required' },
  { name: 'bootstrap-ca-cert', hasArg: 'required' },
  { name: 'peer-ca-cert', hasArg: 'required' },
];

export interface GlobalOptions {
  db: string;
  wait: boolean;
  dryRun: boolean;
  oneline: boolean;
  /** Seconds; 0 means no limit. */
  timeout: number;
  retry: boolean;
  style: TableStyle;
  help: boolean;
  version: boolean;
  listCommands: boolean;
  listOptions: boolean;
  /** Key, certificate and CA for an ssl: database. */
  tls: TlsFiles;
}

function localOptions(commands: Iterable<CommandSyntax>): LongOption[] {
  const out: LongOption[] = [];
  for (const c of commands) {
    for (const spec of c.options.split(',').filter((s) => s)) {
      const body = spec.slice(2);
      const n = body.search(/[=?]/);
      const name = n < 0 ? body : body.slice(0, n);
      const hasArg: HasArg = n < 0 ? 'none' : body[n] === '=' ? 'required' : 'optional';
      if (!out.some((o) => o.name === name) && !GLOBAL.some((o) => o.name === name)) out.push({ name, hasArg, local: true });
    }
  }
  return out;
}

export interface ParsedArgs {
  opts: GlobalOptions;
  locals: Map<string, string | undefined>;
  rest: string[];
}

/** getopt_long over argv; returns the global options, the first command's options and the rest. */
export function parseOptions(argv: string[], commands: Iterable<CommandSyntax>, defaultDb: string, style: TableStyle): ParsedArgs {
  const all = [...GLOBAL, ...localOptions(commands)];
  const opts: GlobalOptions = {
    db: defaultDb,
    wait: true,
    dryRun: false,
    oneline: false,
    timeout: 0,
    retry: false,
    style,
    help: false,
    version: false,
    listCommands: false,
    listOptions: false,
    tls: {},
  };
  const locals = new Map<string, string | undefined>();
  let i = 0;
  const apply = (o: LongOption, value: string | undefined): void => {
    if (o.local) {
      // ovs-vsctl's duplicate check here looks up the name without "--" and so never fires.
      locals.set(`--${o.name}`, value);
      return;
    }
    switch (o.name) {
      case 'db':
        opts.db = value!;
        break;
      case 'no-wait':
        opts.wait = false;
        break;
      case 'dry-run':
        opts.dryRun = true;
        break;
      case 'oneline':
        opts.oneline = true;
        break;
      case 'timeout': {
        const v = value!;
        const n = /^\d+$/.test(v.trim()) ? Number(v.trim()) : NaN;
        if (!Number.isSafeInteger(n) || n === 0 || n > 0xffffffff) fatal(`value ${v} on -t or --timeout is invalid`);
        opts.timeout = n;
        break;
      }
      case 'retry':
        opts.retry = true;
        break;
      case 'help':
        opts.help = true;
        break;
      case 'version':
        opts.version = true;
        break;
      case 'commands':
        opts.listCommands = true;
        break;
      case 'options':
        opts.listOptions = true;
        break;
      case 'format': {
        const f = value!;
        if (!['table', 'list', 'html', 'csv', 'json'].includes(f)) fatal(`unknown output format "${f}"`);
        style.format = f as TableStyle['format'];
        break;
      }
      case 'data': {
        const f = value!;
        if (!['string', 'bare', 'json'].includes(f)) fatal(`unknown data format "${f}"`);
        style.cell = f as TableStyle['cell'];
        break;
      }
      case 'no-headings':
        style.headings = false;
        break;
      case 'pretty':
        style.pretty = true;
        break;
      case 'bare':
        style.format = 'list';
        style.cell = 'bare';
        style.headings = false;
        break;
      case 'max-column-width':
        style.maxColumnWidth = Number.parseInt(value!, 10) || 0;
        break;
      case 'private-key':
        opts.tls.privateKey = value!;
        break;
      case 'certificate':
        opts.tls.certificate = value!;
        break;
      case 'ca-cert':
        opts.tls.caCert = value!;
        opts.tls.bootstrap = false;
        break;
      case 'bootstrap-ca-cert':
        opts.tls.caCert = value!;
        opts.tls.bootstrap = true;
        break;
      case 'peer-ca-cert':
        opts.tls.peerCaCert = value!;
        break;
      default:
        break; // logging, syslog, SSL protocol and cipher and cluster options are accepted and have no effect here
    }
  };
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const exact = all.find((o) => o.name === name);
      const matches = exact ? [exact] : all.filter((o) => o.name.startsWith(name));
      if (matches.length === 0) fatal(`unrecognized option '${eq < 0 ? arg : arg.slice(0, eq)}'`);
      if (matches.length > 1) fatal(`option '${eq < 0 ? arg : arg.slice(0, eq)}' is ambiguous; possibilities:${matches.map((m) => ` '--${m.name}'`).join('')}`);
      const o = matches[0]!;
      let value: string | undefined;
      if (eq >= 0) {
        if (o.hasArg === 'none') fatal(`option '--${o.name}' doesn't allow an argument`);
        value = arg.slice(eq + 1);
      } else if (o.hasArg === 'required') {
        if (i + 1 >= argv.length) fatal(`option '--${o.name}' requires an argument`);
        value = argv[++i]!;
      }
      apply(o, value);
      i++;
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      let j = 1;
      while (j < arg.length) {
        const c = arg[j]!;
        const o = all.find((x) => x.short === c);
        if (!o) fatal(`invalid option -- '${c}'`);
        if (o.hasArg === 'none') {
          apply(o, undefined);
          j++;
          continue;
        }
        if (j + 1 < arg.length) {
          apply(o, arg.slice(j + 1));
        } else if (o.hasArg === 'required') {
          if (i + 1 >= argv.length) fatal(`option requires an argument -- '${c}'`);
          apply(o, argv[++i]);
        } else {
          apply(o, undefined);
        }
        break;
      }
      i++;
      continue;
    }
    break;
  }
  return { opts, locals, rest: argv.slice(i) };
}

/** ctl_parse_commands: split at "--", take each command's leading options, check arity and options. */
export function parseCommands(args: string[], locals: Map<string, string | undefined>, registry: Map<string, CommandSyntax>): Command[] {
  const commands: Command[] = [];
  let start = 0;
  let pendingLocals = locals;
  for (let i = 0; i <= args.length; i++) {
    if (i === args.length || args[i] === '--') {
      if (i > start) {
        commands.push(parseCommand(args.slice(start, i), pendingLocals, registry));
        pendingLocals = new Map();
      } else if (pendingLocals.size > 0) {
        fatal('missing command name (use --help for help)');
      }
      start = i + 1;
    }
  }
  if (commands.length === 0) fatal('missing command name (use --help for help)');
  return commands;
}

function parseCommand(argv: string[], locals: Map<string, string | undefined>, registry: Map<string, CommandSyntax>): Command {
  const options = new Map(locals);
  let i = 0;
  for (; i < argv.length; i++) {
    const option = argv[i]!;
    if (!option.startsWith('-')) break;
    const eq = option.indexOf('=');
    const key = eq < 0 ? option : option.slice(0, eq);
    const value = eq < 0 ? undefined : option.slice(eq + 1);
    if (options.has(key)) fatal(`'${option}' option specified multiple times`);
    options.set(key, value);
  }
  if (i === argv.length) fatal('missing command name (use --help for help)');
  const name = argv[i]!;
  const syntax = registry.get(name);
  if (!syntax) fatal(`unknown command '${name}'; use --help for help`);
  for (const [key, value] of options) {
    const at = syntax.options.indexOf(key);
    const end = at < 0 ? undefined : (syntax.options[at + key.length] ?? '');
    if (end === undefined || !['=', ',', '?', ' ', ''].includes(end)) fatal(`'${name}' command has no '${key}' option`);
    if (end !== '?' && (end === '=') !== (value !== undefined)) {
      if (end === '=') fatal(`missing argument to '${key}' option on '${name}' command`);
      fatal(`'${key}' option on '${name}' does not accept an argument`);
    }
  }
  const args = argv.slice(i + 1);
  const problem = argCountProblem(syntax.name, args.length, [syntax.minArgs, syntax.maxArgs]);
  if (problem) {
    const misplacedOption = args.length > syntax.maxArgs && args.some((a) => a.startsWith('-'));
    fatal(misplacedOption ? `${problem} (note that options must precede command names and follow a "--" argument)` : problem);
  }
  return { syntax, options, argv: argv.slice(i), output: '' };
}
