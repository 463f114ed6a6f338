/**
 * The one static list of plugins. Static imports only: the compiled executable cannot follow
 * computed import() paths. A new section or language = one folder + one line here.
 */
import type { Plugin, Runtime } from '../core/plugin'
import { bash } from './bash'
import { code } from './code'
import { command } from './command'
import { files } from './files'
import { go } from './go'
import { isolated } from './isolated'
import { java } from './java'
import { javascript } from './javascript'
import { jupyter } from './jupyter'
import { metrics } from './metrics'
import { proxy } from './proxy'
import { pty } from './pty'
import { python } from './python'
import { session } from './session'
import { sql } from './sql'

/** API sections, mounted in this order. */
export const plugins: Plugin[] = [metrics, files, pty, proxy, command, session, code, isolated]

/**
 * Language runtimes, offered to the code section: the first that offers a language serves it;
 * the Jupyter bridge only where no native runtime does (unless --prefer-jupyter).
 */
export const runtimes: Runtime[] = [python, javascript, bash, java, go, sql, jupyter]
