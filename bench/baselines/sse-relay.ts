/**
 * Row 4c's floor: bench/lib/sse-relay-server.ts compiled with dist/execd's flags — a command's
 * stdout relayed as one SSE event per line, framed as execd frames them, with nothing else.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type CompiledServer, startCompiled } from '../lib/compile'

/** Compiles and starts the relay; POST <url>/command `{command}` streams its stdout's lines. */
export const startSseRelay = (): Promise<CompiledServer> =>
  startCompiled('sserelay', {
    'relay.ts': readFileSync(join(import.meta.dir, '..', 'lib', 'sse-relay-server.ts'), 'utf8'),
  })
