/** `execd exec --shell`: placeholder until the commands section lands (issue 3). */
import { ExecdError } from '../core/errors'

export async function execShell(_options: Record<string, unknown>): Promise<number> {
  throw new ExecdError('NOT_SUPPORTED', 'the commands section is not built into this executable yet')
}
