/** `execd fs`: placeholder until the files section lands (issue 4). */
import { ExecdError } from '../core/errors'

export async function fsCommand(_op: string, _args: string[], _options: Record<string, unknown>): Promise<number> {
  throw new ExecdError('NOT_SUPPORTED', 'the files section is not built into this executable yet')
}
