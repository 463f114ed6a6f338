/**
 * What the isolated-session spec files share beside their daemon (kit/daemon-dir.ts): the SDK's
 * IsolationService, and a run's stdout lines.
 */
import type { Daemon } from '../harness'
import { sdkFor } from '../sdk'

export const isolationOf = (d: Daemon) => sdkFor(d).isolation!

export const stdoutOf = (e: { logs: { stdout: { text: string }[] } }) => e.logs.stdout.map(l => l.text)
