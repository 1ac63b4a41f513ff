/**
 * The command line of the tools shaped `TOOL [OPTIONS] COMMAND [ARG...]` after OVS's ovs-ofctl and
 * ovs-dpctl: options anywhere before `--` (getopt_long's permutation), then COMMAND counted against
 * the tool's command table. Errors are worded as OVS's tools word them, so that a user searching
 * for one finds OVS's answers.
 */
import { parseLogOption } from './log.js';
import { own } from './own.js';
import { UsageError } from './usage-error.js';

/** A command's argument counts, as OVS's command tables give them (min_args, max_args). */
export type ArgCounts = readonly [min: number, max: number];

/** One option word, as a tool's option handler sees it. */
export interface OptionWord {
  /** The word as given: `--timeout=5`, `-s`, `-OOpenFlow13`. */
  readonly word: string;
  /** The option without its value: `--timeout` for `--timeout=5`, `-O` for `-OOpenFlow13`. */
  readonly flag: string;
  /** The value after a long option's `=`, if it has one. */
  readonly attached: string | undefined;
  /** The option's value: after `=`, attached to a short option, or else the next word, which it consumes. */
  readonly value: () => string;
}

export interface CommandLineSpec {
  /** The commands the tool implements. */
  readonly commands: Readonly<Record<string, ArgCounts>>;
  /** Short options that take a value, which may then be attached to them (`-t5`). */
  readonly shortWithValue?: readonly string[];
  /** Applies one option; false for one the tool does not have. -h/--help and -V/--version never reach it. */
  readonly option: (o: OptionWord) => boolean;
  /** Why a command of OVS's tool has no meaning in this one, for one that has none. */
  readonly unsupported?: (command: string) => string | undefined;
}

/** The error for an option no one recognised, in getopt's words. */
export function unknownOptionError(word: string): UsageError {
  return word.startsWith('--') ? new UsageError(`unrecognized option '${word}'`) : new UsageError(`invalid option -- '${word.slice(1, 2)}'`);
}

/** What is wrong with giving `command` `given` arguments, in OVS's words, or undefined if nothing is. */
export function argCountProblem(command: string, given: number, [min, max]: ArgCounts): string | undefined {
  if (given < min) return `'${command}' command requires at least ${min} arguments`;
  if (given > max) return `'${command}' command takes at most ${max} arguments`;
  return undefined;
}

/**
 * Parses `argv`, handing each option to `spec.option` (logging options, such as -v, are taken
 * here when the tool has no option of that name); answers 'help' or 'version' when asked for it.
 * Throws a UsageError for an unknown option or command or a wrong number of arguments.
 */
export function parseCommandLine(argv: readonly string[], spec: CommandLineSpec): { command: string; args: string[] } | 'help' | 'version' {
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!word.startsWith('-') || word === '-') {
      positional.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const long = word.startsWith('--');
    const attached = long && eq > 0 ? word.slice(eq + 1) : undefined;
    const short = word.slice(0, 2);
    const flag = attached !== undefined ? word.slice(0, eq) : !long && spec.shortWithValue?.includes(short) ? short : word;
    if (flag === '-h' || flag === '--help') return 'help';
    if (flag === '-V' || flag === '--version') return 'version';
    const value = (): string => {
      if (attached !== undefined) return attached;
      if (!long && word.length > 2) return word.slice(2);
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`option '${word}' requires an argument`);
      return next;
    };
    if (spec.option({ word, flag, attached, value })) continue;
    if (parseLogOption(word)) continue;
    throw unknownOptionError(word);
  }
  if (positional.length === 0) throw new UsageError('missing command name; use --help for help');
  const [command, ...args] = positional as [string, ...string[]];
  const counts = own(spec.commands, command);
  if (!counts) {
    const why = spec.unsupported?.(command);
    if (why) throw new UsageError(`'${command}' is not supported by TVS: ${why}`);
    throw new UsageError(`unknown command '${command}'; use --help for help`);
  }
  const problem = argCountProblem(command, args.length, counts);
  if (problem) throw new UsageError(problem);
  return { command, args };
}
