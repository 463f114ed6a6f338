/**
 * `DELETE /code?id=` and `DELETE /command?id=` share one handler in the reference: the id may
 * name a code context, a command or a bash session. Each plugin that owns interruptible work
 * adds a handler; the first that knows the id stops it.
 */
import { ExecdError, missingQuery } from './errors'
import { ServiceKey } from './registry'

/** Stops the work named `id` and resolves true once it has stopped; false if unknown. */
export type InterruptHandler = (id: string) => Promise<boolean>

export class InterruptHub {
  private readonly handlers: { order: number; handle: InterruptHandler }[] = []

  /** Lower `order` is asked first (code contexts 10, commands 20, sessions 30). */
  add(order: number, handle: InterruptHandler): void {
    this.handlers.push({ order, handle })
    this.handlers.sort((a, b) => a.order - b.order)
  }

  async interrupt(id: string): Promise<boolean> {
    for (const h of this.handlers) if (await h.handle(id)) return true
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
