/**
 * The one static list of plugins. Static imports only: the compiled executable cannot follow
 * computed import() paths. A new section or language = one folder + one line here.
 */
import type { Plugin, Runtime } from '../core/plugin'
import { code } from './code'
import { java } from './java'
import { metrics } from './metrics'
import { python } from './python'
import { sql } from './sql'

/** API sections, mounted in this order. */
export const plugins: Plugin[] = [metrics, code]

/** Language runtimes, offered to the code section. */
export const runtimes: Runtime[] = [python, java, sql]
