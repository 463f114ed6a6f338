/**
 * What the commands section offers other sections through the registry: a type and a key,
 * nothing of its implementation. Another section imports this file only (core/layout.test.ts
 * checks it), and asks `ctx.registry` for the runner the opened section provided.
 */
import type { ExecEvent } from '../../core/events'
import { ServiceKey } from '../../core/registry'
import type { SseItem } from '../../core/sse'

export interface CommandRequest {
  command: string
  cwd?: string
  background?: boolean
  /** Milliseconds; 0 or absent = no limit. */
  timeout?: number
  uid?: number
  gid?: number
  envs?: Record<string, string>
}

/** Runs shell commands as `POST /command` does (the commands plugin provides it). */
export interface CommandRunner {
  /**
   * Validates and starts the command; throws ExecdError for bad input before anything runs.
   * The stream starts with `init` (the command id) and ends with the terminal event.
   */
  run(req: CommandRequest): Promise<AsyncIterable<ExecEvent | SseItem>>
}

export const COMMAND_RUNNER = new ServiceKey<CommandRunner>('command-runner')
