/**
 * Where a prompt's cell ends. A language the prompt has a rule for is read by it
 * (repl-lines.ts); a Jupyter kernel's other languages (ruby, R, a kernelspec's own name) are
 * the kernel's to say, through Jupyter's is_complete_request, as jupyter-console asks: the
 * prompt's plain rule read only quotes, brackets and a trailing `\`, so `def f(x)` ran alone.
 * No answer within the bound, or `unknown`, is the plain rule again.
 */
import type { CodeClient } from './code-client'
import { continues, endsCell, hasRule } from './repl-lines'

/** How long a line waits for the kernel's word: jupyter-console's own bound (kernel_is_complete_timeout). */
export const IS_COMPLETE_WAIT_MS = 1000

export interface CellRule {
  /** Whether the cell typed so far goes on to a `...` line. */
  goesOn(lines: string[]): Promise<boolean>
  /** Whether an empty line typed on `...` ends it. */
  endsHere(lines: string[]): Promise<boolean>
}

export function cellRule(client: CodeClient, context: string, language: string): CellRule {
  const ask = !hasRule(language) && client.isComplete?.bind(client)
  if (!ask) {
    return {
      goesOn: async lines => continues(lines, language),
      endsHere: async lines => endsCell(lines, language),
    }
  }
  // The kernel's word, or undefined for none. `invalid` runs: the kernel says what is wrong.
  const more = async (code: string): Promise<boolean | undefined> => {
    const said = await ask(context, code, IS_COMPLETE_WAIT_MS).catch(() => undefined)
    return said && said.status !== 'unknown' ? said.status === 'incomplete' : undefined
  }
  return {
    // Asked at the first line, then only at an empty one: a block's lines go on until an empty
    // line as every prompt's here, and a 5,000-line paste is not 5,000 round trips.
    goesOn: async lines => (lines.length > 1 ? true : ((await more(lines[0]!)) ?? continues(lines, language))),
    // An empty line is the end the kernel is asked about (jupyter-console sends the cell with it).
    endsHere: async lines => {
      const goes = await more(`${lines.join('\n')}\n`)
      return goes === undefined ? endsCell(lines, language) : !goes
    },
  }
}
