// JSON from outside the process (a peer, a command-line argument, a file) is parsed with its
// nesting bounded, as OVS's parser (lib/json.c) bounds it: past that, code that walks the value
// recursively, JSON.stringify included, would run out of stack.

/** Deepest nesting of objects and arrays accepted, as in OVS. */
export const MAX_JSON_DEPTH = 1000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Where `text` first nests deeper than MAX_JSON_DEPTH, in OVS's words (`line L, column C, byte B`),
 * or undefined when it does not.
 */
function excessNesting(text: string): string | undefined {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let line = 0;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === BACKSLASH) escaped = true;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) return `line ${line}, column ${i - lineStart}, byte ${i}`;
    } else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return undefined;
}

/** JSON.parse, refusing input nested deeper than MAX_JSON_DEPTH with OVS's message. */
export function parseJson(text: string): unknown {
  const at = excessNesting(text);
  if (at !== undefined) throw new SyntaxError(`${at}: input exceeds maximum nesting depth ${MAX_JSON_DEPTH}`);
  return JSON.parse(text);
}
