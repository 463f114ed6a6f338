/**
 * Every section's and runtime's options, without their code: what the CLI registers (help,
 * flags, config) for every verb, read from each plugin's `options.ts` so that no section's
 * `index.ts` (nor what it imports) is evaluated for it. Keyed and ordered as the lists of
 * `plugins/index.ts`, which `plugins/index.test.ts` checks.
 */
import { optionSpecs, type OptionSpec } from '../core/config'
import { OPTIONS as code } from './code/options'
import { OPTIONS as command } from './command/options'
import { OPTIONS as files } from './files/options'
import { OPTIONS as go } from './go/options'
import { OPTIONS as isolated } from './isolated/options'
import { OPTIONS as java } from './java/options'
import { OPTIONS as jupyter } from './jupyter/options'
import { OPTIONS as pty } from './pty/options'
import { OPTIONS as proxy } from './proxy/options'
import { OPTIONS as python } from './python/options'
import { OPTIONS as session } from './session/options'
import { OPTIONS as sql } from './sql/options'

type Specs = Readonly<Record<string, readonly OptionSpec[]>>

/** The API sections' options, in the order of `plugins`. */
export const sectionOptions: Specs = {
  metrics: [],
  files: optionSpecs(files),
  pty: optionSpecs(pty),
  proxy: optionSpecs(proxy),
  command: optionSpecs(command),
  session: optionSpecs(session),
  code: optionSpecs(code),
  isolated: optionSpecs(isolated),
}

/** The language runtimes' options, in the order of `runtimes`. */
export const runtimeOptions: Specs = {
  python: optionSpecs(python),
  javascript: [],
  bash: [],
  java: optionSpecs(java),
  go: optionSpecs(go),
  sql: optionSpecs(sql),
  jupyter: optionSpecs(jupyter),
}
