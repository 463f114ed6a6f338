/** The python the daemon under test will use (EXECD_PYTHON, as the Makefile exports), and its modules. */
import { spawnSync } from 'bun'

export const PYTHON = process.env.EXECD_PYTHON || 'python3'

const runs = (args: string[]) => {
  try {
    return spawnSync([PYTHON, ...args], { stdout: 'ignore', stderr: 'ignore' }).exitCode === 0
  } catch {
    return false
  }
}

/** true, or why python cannot be used here. */
export const pythonAvailable: true | string = runs(['-c', 'import sys; assert sys.version_info >= (3, 8)'])
  ? true
  : `no python3 >= 3.8 at '${PYTHON}'`

/** true, or why the module is missing (tests needing it are skipped visibly). */
export const hasModule = (name: string): true | string =>
  pythonAvailable === true && runs(['-c', `import ${name}`]) ? true : `${PYTHON} has no ${name} module`
