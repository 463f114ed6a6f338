/**
 * Whether a whole JSON text nests deeper than `max`, found before `JSON.parse` builds it: a
 * frame of 8 MB nested millions deep cost the parser 0.2–1.3 s of the event loop only to be
 * dropped after. Strings are skipped with `indexOf` (a quote is their end unless an odd run of
 * backslashes comes before it), so long text costs a native search, not a loop per character;
 * deep nesting is found at its `max`-th level. Text that is no JSON gets `false`: the parser
 * refuses it as before.
 */
export function nestedDeeperThan(text: string, max: number): boolean {
  // Nesting past `max` takes more than `max` characters of brackets: a channel's every line (a
  // cell's result, its `done`) is far shorter than MAX_MESSAGE_DEPTH and needs no walk.
  if (text.length <= max) return false
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      i = stringEnd(text, i)
      if (i < 0) return false
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true
    } else if (c === 0x7d || c === 0x5d) depth--
  }
  return false
}

/** The index of the quote that ends the string opened at `open`, or -1. */
function stringEnd(text: string, open: number): number {
  for (let q = text.indexOf('"', open + 1); q >= 0; q = text.indexOf('"', q + 1)) {
    let k = q - 1
    while (text.charCodeAt(k) === 0x5c) k--
    if ((q - 1 - k) % 2 === 0) return q
  }
  return -1
}

/**
 * Nesting past which a message an interpreter sends is dropped unparsed: JSON.stringify recurses,
 * and in JSC a value some 30,000 deep takes it seconds (68 KB of it held the event loop 2.8 s), one
 * 40,000 deep throws "Maximum call stack size exceeded". No driver's message nests this deep (a
 * display's JSON, a chart's spec, nests tens of levels); python's own json stops near it.
 */
export const MAX_MESSAGE_DEPTH = 1000
