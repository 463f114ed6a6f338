/**
 * The fuzz's operations as a model-based test (fast-check's commands): files written, moved,
 * deleted and read back; contexts made, used and deleted; sessions with state; commands whose
 * logs are read by cursor. A small model says what the daemon must hold after each step, and
 * each step checks the daemon's answers against it: a file written then listed, stat'ed and
 * downloaded agrees; a deleted context is gone from the list and a run on it is a 404; a
 * variable set in a context or session reads back; a command's logs by cursor, in any split,
 * concatenate to its whole output.
 * The daemon is the model's alone (nothing else changes what it holds); a failing sequence is
 * shrunk by fast-check and printed as the list of steps.
 */
import fc from 'fast-check'
import { CommandLogs } from './model-logs'
import { List, Move, Read, Remove, Stat, Write } from './model-files'
import { LANGS, json, type Model, NAMES, post, q, type Real } from './model-kit'
import {
  DeleteContext,
  DeleteSession,
  GetInContext,
  ListContexts,
  NewContext,
  NewSession,
  SessionRun,
  SetInContext,
} from './model-state'

export type { Model, Real }

const name = fc.constantFrom(...NAMES)
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.constantFrom(new Uint8Array(0), new Uint8Array(70_000).fill(0x61), new TextEncoder().encode('é\n\r\n\0')),
)

export const modelCommands = fc.commands(
  [
    fc.tuple(name, bytes).map(([n, b]) => new Write(n, b)),
    name.map(n => new Read(n)),
    name.map(n => new Stat(n)),
    fc.constant(new List()),
    name.map(n => new Remove(n)),
    fc.tuple(name, name).map(([a, b]) => new Move(a, b)),
    fc.constantFrom(...LANGS).map(l => new NewContext(l)),
    fc.tuple(fc.nat(7), fc.integer({ min: 0, max: 1e6 }), fc.boolean()).map(([k, v, g]) => new SetInContext(k, v, g)),
    fc.nat(7).map(k => new GetInContext(k)),
    fc.nat(7).map(k => new DeleteContext(k)),
    fc.constant(new ListContexts()),
    fc.constant(new NewSession()),
    fc
      .tuple(fc.nat(7), fc.option(fc.integer({ min: 0, max: 1e6 }), { nil: null }), fc.boolean())
      .map(([k, v, g]) => new SessionRun(k, v, g)),
    fc.nat(7).map(k => new DeleteSession(k)),
    fc
      .tuple(
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 130_000 }), fc.constantFrom(0, 1, 2, 3)), { maxLength: 5 }),
      )
      .map(([n, w, c]) => new CommandLogs(n, w, c)),
  ],
  { maxCommands: 25 },
)

export const emptyModel = (): Model => ({
  files: new Map(),
  contexts: new Map(),
  deletedContexts: [],
  sessions: new Map(),
  deletedSessions: [],
})

/** Undoes what a run left on the daemon, so the next run's model starts empty too. */
export async function resetReal(m: Model, r: Real): Promise<void> {
  for (const id of m.contexts.keys()) await json(r, `/code/contexts/${q(id)}`, { method: 'DELETE' }).catch(() => {})
  for (const id of m.sessions.keys()) await json(r, `/session/${q(id)}`, { method: 'DELETE' }).catch(() => {})
  await json(r, `/directories?path=${q(r.dir)}`, { method: 'DELETE' }).catch(() => {})
  await post(r, '/directories', { [r.dir]: { mode: 755 } }).catch(() => {})
}

export interface ModelRun {
  runs: number
  steps: number
  /** fast-check's report of the smallest failing sequence, or null. */
  failure: string | null
}

/** Runs sequences until `deadline` (epoch ms) or `maxRuns`, each from an empty model. */
export async function runModel(r: Real, seed: number, deadline: number, maxRuns = 1_000_000): Promise<ModelRun> {
  let runs = 0
  let steps = 0
  const out = await fc.check(
    fc.asyncProperty(modelCommands, async cmds => {
      // After the deadline a sequence passes untried (shrinking included): the run ends.
      if (Date.now() > deadline) return
      runs++
      const m = emptyModel()
      try {
        await fc.asyncModelRun(() => ({ model: m, real: r }), cmds)
        steps += [...cmds].length
      } finally {
        await resetReal(m, r)
      }
    }),
    { seed, numRuns: maxRuns, endOnFailure: false, interruptAfterTimeLimit: Math.max(0, deadline - Date.now()) },
  )
  const why = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance)
  return { runs, steps, failure: out.failed ? `${fc.defaultReportMessage(out) ?? 'failed'}\n${why}` : null }
}
