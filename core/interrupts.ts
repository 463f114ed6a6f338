/**
 * `DELETE /code?id=` and `DELETE /command?id=` share one handler in the reference: the id may
 * name a code context, a command or a bash session. Each plugin that owns interruptible work
 * adds a handler; the first that knows the id stops it.
 */
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
}

export const INTERRUPTS = new ServiceKey<InterruptHub>('interrupts')
