/**
 * `execd doctor`: what works in this container — the pieces execd needs from it (/proc,
 * /dev/null, bash, a shell, devpts, a writable temp dir), what each missing one disables, the languages whose
 * interpreters are here, and whether bubblewrap can make isolated sessions. The same view as
 * `GET /capabilities`, `GET /code/languages` and `GET /v1/isolated/capabilities`, without a
 * daemon. Exit 0 when every piece is here, 1 when one is missing (a language or isolation is
 * optional: said, not counted).
 */
import { COMMIT, TARGET, VERSION } from '../core/version'
import { capabilities } from '../core/capabilities'
import { within } from '../core/timers'
import { runtimes } from '../plugins'
import { isolationHere } from '../plugins/isolated/contract'
import { watchBrokenPipe } from './broken-pipe'
import { report } from './errors'
import { configFrom } from './options'

const PROBE_LIMIT_MS = 5000

export async function doctorCommand(options: { json?: boolean }): Promise<number> {
  // `execd doctor | head -1`: a reader that leaves ends the verb quietly, as a shell's would; a
  // stdout that fails otherwise (a full disk) ends it with its one line.
  const pipe = watchBrokenPipe(() => {
    try {
      process.exit(pipe.exitCode())
    } catch (err) {
      process.exit(report(err))
    }
  })
  const pieces = capabilities()
  const config = configFrom({ 'python-spare': '0' })
  const languages: { language: string; available: boolean; detail?: string }[] = []
  for (const r of runtimes) {
    const list = await within((r.open?.() ?? r).languages(config), PROBE_LIMIT_MS).catch(() => 'timeout' as const)
    if (list === 'timeout') continue
    for (const l of list) if (!languages.some(seen => seen.language === l.language && seen.available)) languages.push(l)
  }
  // Its probe runs bubblewrap a few times (each bounded): a container without it said nothing
  // here, and the first isolated session was where one learnt it.
  const probed = await within(isolationHere(config), PROBE_LIMIT_MS).catch((err: Error) => err)
  const isolation: { available: boolean; isolator: string; version?: string; message?: string } =
    probed === 'timeout' || probed instanceof Error
      ? {
          available: false,
          isolator: 'bubblewrap',
          message: probed === 'timeout' ? `not probed within ${PROBE_LIMIT_MS / 1000} s` : probed.message,
        }
      : probed
  // --version's target: a `make build` said `dev` here and `linux-x64` there.
  const build = { version: VERSION, commit: COMMIT, target: TARGET }
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ build, capabilities: pieces, languages, isolation })}\n`)
  } else {
    process.stdout.write(`execd ${build.version} (commit ${build.commit}, ${build.target})\n`)
    for (const c of pieces)
      process.stdout.write(
        `${c.name.padEnd(10)} ${(c.ok ? 'ok' : 'MISSING').padEnd(8)} ${c.ok ? c.detail : `${c.detail}: disables ${c.needed_by}`}\n`,
      )
    process.stdout.write('languages:\n')
    for (const l of languages)
      process.stdout.write(
        `  ${l.language.padEnd(12)} ${(l.available ? 'available' : 'missing').padEnd(10)} ${l.detail ?? ''}\n`,
      )
    process.stdout.write('isolation:\n')
    const detail = [isolation.version, isolation.message].filter(Boolean).join(': ')
    process.stdout.write(
      `  ${'bubblewrap'.padEnd(12)} ${(isolation.available ? 'available' : 'missing').padEnd(10)} ${detail}\n`,
    )
  }
  return pieces.every(c => c.ok) ? 0 : 1
}
