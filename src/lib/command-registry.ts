/**
 * A unixctl-style command registry: the commands `tvs-appctl` will reach over the daemon's
 * control socket, each with a usage string and an argument count check, as OVS's
 * lib/unixctl.c registers them. `run` never throws: a failing command answers ok=false with the
 * error text, which appctl prints to stderr.
 *
 * The bridge commands (fdb/show, fdb/flush, ofproto/trace) are registered by
 * `registerOfprotoCommands` in src/ofproto/commands.ts, since lib sits below ofproto.
 */

export type CommandHandler = (args: string[]) => string | Promise<string>;

export interface CommandReply {
  ok: boolean;
  output: string;
}

interface Command {
  usage: string;
  minArgs: number;
  maxArgs: number;
  handler: CommandHandler;
}

export class CommandRegistry {
  private readonly commands = new Map<string, Command>();

  constructor() {
    this.register('list-commands', '', 0, 0, () => this.listCommands());
  }

  /** Registers `name`; a second registration of the same name is a programming error. */
  register(name: string, usage: string, minArgs: number, maxArgs: number, handler: CommandHandler): void {
    if (this.commands.has(name)) throw new Error(`command "${name}" is already registered`);
    if (minArgs < 0 || maxArgs < minArgs) throw new Error(`command "${name}": bad argument counts ${minArgs}..${maxArgs}`);
    this.commands.set(name, { usage, minArgs, maxArgs, handler });
  }

  has(name: string): boolean {
    return this.commands.has(name);
  }

  names(): string[] {
    return [...this.commands.keys()].sort();
  }

  /** The usage string `name` was registered with, or undefined if there is no such command. */
  usage(name: string): string | undefined {
    return this.commands.get(name)?.usage;
  }

  /** Runs a command with its arguments. */
  async run(name: string, args: readonly string[] = []): Promise<CommandReply> {
    const c = this.commands.get(name);
    // OVS's exact words, which scripts written against ovs-appctl may match on.
    if (!c) return { ok: false, output: `"${name}" is not a valid command (use "list-commands" to see a list of valid commands)` };
    if (args.length < c.minArgs) return { ok: false, output: `"${name}" command requires at least ${c.minArgs} arguments` };
    if (args.length > c.maxArgs) return { ok: false, output: `"${name}" command takes at most ${c.maxArgs} arguments` };
    try {
      return { ok: true, output: await c.handler([...args]) };
    } catch (e) {
      return { ok: false, output: e instanceof Error ? e.message : String(e) };
    }
  }

  private listCommands(): string {
    let s = 'The available commands are:\n';
    for (const n of this.names()) {
      const u = this.commands.get(n)!.usage;
      s += `  ${n}${u ? ' ' + u : ''}\n`;
    }
    return s;
  }
}
