/**
 * Unsigned numbers as the flow syntaxes write them (decimal, or hex after 0x) and print them, and
 * the one range check that every field, option and action argument of those syntaxes goes through.
 *
 * Refusals use ovs-ofctl's words, so that a search for them finds OVS's documentation: a field's
 * "70000: value too large for 2-byte field tcp_dst", an option's `invalid priority "70000"`.
 * Each adds the range that would have been accepted. The caller's `fail` throws the message as
 * that syntax's own error.
 */

export type Fail = (message: string) => never;

const NUMBER = /^(0x[0-9a-f]+|[0-9]+)$/i;

/** `text` as a number, or undefined if it is not decimal digits or 0x and hex digits. */
export function parseUintText(text: string): bigint | undefined {
  return NUMBER.test(text) ? BigInt(text) : undefined;
}

/** A number as C's "%#x" prints it, as OVS prints most hex fields: 0 as "0", the rest as 0x.... */
export function hex(v: bigint | number): string {
  return v === 0 || v === 0n ? '0' : `0x${v.toString(16)}`;
}

/** The largest number of `bits` bits. */
export function maxOfBits(bits: number): bigint {
  return (1n << BigInt(bits)) - 1n;
}

/** A field's size as ovs-ofctl states it: "2-byte", or "12-bit" when it is not whole bytes. */
export function fieldSize(bits: number): string {
  return bits % 8 === 0 ? `${bits / 8}-byte` : `${bits}-bit`;
}

/** "0 to MAX", in the base the user wrote `text` in. */
function range(text: string, max: bigint): string {
  return `0 to ${/^0x/i.test(text) ? `0x${max.toString(16)}` : max}`;
}

/**
 * `text` as the value (or the mask) of a `bits`-wide field named `field`. `written` is the whole
 * token as the user wrote it (value and mask), which the refusal quotes.
 */
export function parseFieldUint(text: string, bits: number, field: string, fail: Fail, part: 'value' | 'mask' = 'value', written = text): bigint {
  const v = parseUintText(text);
  if (v === undefined) fail(`${written}: bad syntax for ${field} ${part} (write a number: decimal like 80, or hex like 0x50)`);
  const max = maxOfBits(bits);
  if (v > max) fail(`${written}: ${part} too large for ${fieldSize(bits)} field ${field} (${range(text, max)})`);
  return v;
}

/**
 * `text` as the number an option or action takes (what OVS calls `label`: priority,
 * idle_timeout, VLAN VID, ...): at most `bits` wide, and at most `max` where the range is
 * narrower than the width. `written`, the token as the user wrote it (mod_tp_dst:70000), leads
 * the refusal where OVS's label alone would not say which keyword was wrong.
 */
export function parseArgUint(text: string, label: string, bits: number, fail: Fail, max = maxOfBits(bits), written?: string): bigint {
  const v = parseUintText(text);
  if (v === undefined || v > max) fail(`${written ? `${written}: ` : ''}invalid ${label} "${text}" (${range(text, max)})`);
  return v;
}
