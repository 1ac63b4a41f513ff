// The command-line parser tvs-ofctl and tvs-dpctl share: getopt_long's permutation, values after
// `=`, attached to a short option or in the next word, and OVS's words for every usage error.
import { describe, expect, it } from 'vitest';
import { parseCommandLine, type CommandLineSpec, type OptionWord } from '../../../src/lib/command-line.js';

/** A tool with `-t SECS`/`--timeout=SECS`, `-s` and two commands; records the options it is given. */
function tool(extra: Partial<CommandLineSpec> = {}): { spec: CommandLineSpec; seen: string[] } {
  const seen: string[] = [];
  const spec: CommandLineSpec = {
    commands: { show: [0, 1], 'add-flow': [2, 3] },
    shortWithValue: ['-t'],
    option: ({ flag, value }: OptionWord) => {
      if (flag === '-t' || flag === '--timeout') seen.push(`timeout=${value()}`);
      else if (flag === '-s') seen.push('stats');
      else return false;
      return true;
    },
    ...extra,
  };
  return { spec, seen };
}

describe('parseCommandLine', () => {
  it('takes options anywhere before "--" and everything after it as arguments', () => {
    const { spec, seen } = tool();
    expect(parseCommandLine(['add-flow', '-s', 'br0', '--timeout=5', 'in_port=1', '--', '-s'], spec)).toEqual({
      command: 'add-flow',
      args: ['br0', 'in_port=1', '-s'],
    });
    expect(seen).toEqual(['stats', 'timeout=5']);
  });

  it('reads a value attached to a short option that takes one, or from the next word', () => {
    const { spec, seen } = tool();
    parseCommandLine(['-t7', '-t', '8', 'show'], spec);
    expect(seen).toEqual(['timeout=7', 'timeout=8']);
  });

  it('answers help and version requests before looking for a command', () => {
    expect(parseCommandLine(['--help'], tool().spec)).toBe('help');
    expect(parseCommandLine(['-V', 'frobnicate'], tool().spec)).toBe('version');
  });

  it("says which option lacks its value and which options it does not know, in getopt's words", () => {
    expect(() => parseCommandLine(['show', '--timeout'], tool().spec)).toThrow("option '--timeout' requires an argument");
    expect(() => parseCommandLine(['--bogus', 'show'], tool().spec)).toThrow("unrecognized option '--bogus'");
    expect(() => parseCommandLine(['-x', 'show'], tool().spec)).toThrow("invalid option -- 'x'");
  });

  it('names a missing, unknown or unsupported command and a wrong argument count', () => {
    const unsupported = (command: string) => (command === 'add-dp' ? 'bridges have their own datapaths' : undefined);
    const { spec } = tool({ unsupported });
    expect(() => parseCommandLine(['-s'], spec)).toThrow('missing command name; use --help for help');
    expect(() => parseCommandLine(['frobnicate'], spec)).toThrow("unknown command 'frobnicate'; use --help for help");
    expect(() => parseCommandLine(['toString'], spec)).toThrow("unknown command 'toString'; use --help for help");
    expect(() => parseCommandLine(['add-dp'], spec)).toThrow("'add-dp' is not supported by TVS: bridges have their own datapaths");
    expect(() => parseCommandLine(['add-flow', 'br0'], spec)).toThrow("'add-flow' command requires at least 2 arguments");
    expect(() => parseCommandLine(['show', 'a', 'b'], spec)).toThrow("'show' command takes at most 1 arguments");
  });
});
