/**
 * Row 4c's floor: bench/lib/sse-relay-server.ts compiled with dist/execd's flags — a command's
 * stdout relayed as one SSE event per line, framed as execd frames them, with nothing else.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type CompiledServer, startCompiled } from '../lib/compile'

const core = join(import.meta.dir, '..', '..', 'core')

/** Compiles and starts the relay; POST <url>/command `{command}` streams its stdout's lines. */
export const startSseRelay = (): Promise<CompiledServer> =>
  startCompiled('sserelay', {
    // Its pipes are execd's own (core/output-pipes.ts), beside it in the build dir.
    'relay.ts': readFileSync(join(import.meta.dir, '..', 'lib', 'sse-relay-server.ts'), 'utf8').replace(
      '../../core/output-pipes',
      './output-pipes',
    ),
    'output-pipes.ts': readFileSync(join(core, 'output-pipes.ts'), 'utf8'),
    'libc.ts': readFileSync(join(core, 'libc.ts'), 'utf8'),
  })
