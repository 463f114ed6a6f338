/**
 * The java runtime: a context is a JVM driving jdk.jshell (declarations persist, expression
 * values are results, exceptions carry stack traces, interrupt is jshell's stop). Needs a
 * JDK (jshell, java and javac) on the machine; see ExecdJShell.java for why the API is used
 * instead of the jshell tool.
 */
import { optionSpecs, settingsOf, type Config } from '../../core/config'
import type { LanguageInfo, Runtime } from '../../core/plugin'
import type { JavaContextOptions } from './context'
import type { Jdk } from './jdk'
import { OPTIONS } from './options'

// The JDK probe, the helper (its embedded source) and the context load when java is first
// asked for, not at start.
const jdkModule = () => import('./jdk')

const jdkOf = async (config: Config) => (await jdkModule()).findJdk(settingsOf(config, OPTIONS).jshell)

export const java: Runtime = {
  name: 'java',
  options: optionSpecs(OPTIONS),

  async languages(config): Promise<LanguageInfo[]> {
    const jdk = await jdkOf(config)
    if ('missing' in jdk) return [{ language: 'java', available: false, detail: jdk.missing }]
    return [{ language: 'java', available: true, detail: `${jdk.jshell}${jdk.version ? ` (JDK ${jdk.version})` : ''}` }]
  },

  async start(opts) {
    if (opts.language !== 'java') throw new Error(`the java runtime does not serve '${opts.language}'`)
    const jdk = await jdkOf(opts.config)
    if ('missing' in jdk) throw new Error(`java is unavailable: ${jdk.missing}`)
    const helper = await (await jdkModule()).helperClasses(jdk as Jdk)
    const { dropArchive, sharedArchive, useArchive } = await import('./archive')
    const { JavaContext } = await import('./context')
    const base: JavaContextOptions = {
      ...opts,
      jdk: jdk as Jdk,
      classpath: helper.classpath,
      jvmFlags: [],
      interruptGraceMs: settingsOf(opts.config, OPTIONS).interruptGraceMs,
      startTimeoutMs: 60_000,
    }
    const archive =
      helper.archive && (await sharedArchive(helper.archive, flags => train({ ...base, jvmFlags: flags })))
    if (archive) {
      try {
        return await JavaContext.start({ ...base, jvmFlags: useArchive(archive) })
      } catch (e) {
        opts.log.warn('java context failed to start with its CDS archive; dropping the archive', {
          error: (e as Error).message,
        })
        dropArchive(archive)
      }
    }
    return JavaContext.start(base)
  },
}

/** The CDS training run: start, compile and run a first cell, exit cleanly. */
async function train(opts: JavaContextOptions): Promise<void> {
  const [{ JavaContext }, { tmpdir }] = await Promise.all([import('./context'), import('node:os')])
  const ctx = await JavaContext.start({ ...opts, cwd: tmpdir() })
  for await (const _ of ctx.run('int x = 1;\nSystem.out.println(x);\nx + 1')) void _
  const exit = await ctx.shutdown(30_000)
  if (exit.code !== 0) throw new Error('the CDS training run did not exit cleanly')
}
