/** The code contexts' limits' defaults, apart from the contexts so that the section's options load without them. */
export interface ContextLimits {
  /** Contexts of one language at most (0 = no limit). */
  maxPerLanguage: number
  /** ms a context may go without an execution before it is closed (0 = never). */
  idleMs: number
}

export const DEFAULT_CONTEXT_LIMITS: ContextLimits = { maxPerLanguage: 16, idleMs: 30 * 60_000 }
