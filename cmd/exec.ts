/** `execd exec <language>`: placeholder until the code section lands (issue 5). */
import { ExecdError } from '../core/errors'

export async function execCode(_language: string | undefined, _code: string[], _options: Record<string, unknown>): Promise<number> {
  throw new ExecdError('NOT_SUPPORTED', 'the code section is not built into this executable yet')
}
