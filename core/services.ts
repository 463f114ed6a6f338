/**
 * Capabilities one plugin offers others through the registry (keys and interfaces only;
 * the implementations live in their plugins).
 */
import type { ExecEvent } from './events'
import { ServiceKey } from './registry'
import type { SseItem } from './sse'

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
