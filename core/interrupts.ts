/**
 * `DELETE /code?id=` and `DELETE /command?id=` share one handler in the reference: the id may
 * name a code context, a command or a bash session. Each plugin that owns interruptible work
 * adds a handler when it is opened; the first that knows the id stops it. Handlers are asked in
 * the order they were added, which is the order of the section list (plugins/index.ts): ids
 * are unique across sections, so the order only decides who is asked first.
 */
import { ExecdError, missingQuery } from './errors'
import { ServiceKey } from './registry'

/** Stops the work named `id` and resolves true once it has stopped; false if unknown. */
type InterruptHandler = (id: string) => Promise<boolean>

export class InterruptHub {
  private readonly handlers: InterruptHandler[] = []

  /** Asked after every handler added before it. */
  add(handle: InterruptHandler): void {
    this.handlers.push(handle)
  }

  async interrupt(id: string): Promise<boolean> {
    for (const handle of this.handlers) if (await handle(id)) return true
    return false
  }

  /**
   * The HTTP handler both `DELETE /code?id=` and `DELETE /command?id=` are: a missing id is
   * MISSING_QUERY, an id nobody knows CONTEXT_NOT_FOUND; resolves once the work has stopped.
   */
  async stop(id: string | undefined): Promise<void> {
    if (!id) throw missingQuery('id')
    if (!(await this.interrupt(id))) {
      throw new ExecdError('CONTEXT_NOT_FOUND', `no such context, command or session: ${id}`)
    }
  }
}

export const INTERRUPTS = new ServiceKey<InterruptHub>('interrupts')

/**
 * A bash or an isolated session's interrupt: the run its shell is in is stopped, the session
 * kept for the next; false where no session has the id (another section's, or none).
 */
export async function interruptShell(session: { bash: { interrupt(): Promise<void> } } | undefined): Promise<boolean> {
  if (!session) return false
  await session.bash.interrupt()
  return true
}
