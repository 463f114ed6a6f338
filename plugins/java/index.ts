/**
 * The java runtime: a context is a JVM driving jdk.jshell (declarations persist, expression
 * values are results, exceptions carry stack traces, interrupt is jshell's stop). Needs a
 * JDK (jshell, java and javac) on the machine; see ExecdJShell.java for why the API is used
 * instead of the jshell tool.
 */
import type { Config } from '../../core/config'
import type { LanguageInfo, Runtime } from '../../core/plugin'
import { JavaContext } from './context'
import { findJdk, type Jdk } from './jdk'

const jdkOf = (config: Config) => findJdk(config.string('jshell', 'jshell'))

export const java: Runtime = {
  name: 'java',
  options: [
    {
      flag: 'jshell',
      env: 'EXECD_JSHELL',
      description: 'jshell of the JDK that runs java contexts (its java and javac are used)',
      default: 'jshell',
    },
    {
      flag: 'java-interrupt-grace',
      env: 'EXECD_JAVA_INTERRUPT_GRACE_MS',
      description: 'ms a java cell may ignore an interrupt before its JVM is restarted (state lost)',
      default: '3000',
    },
  ],

  async languages(config): Promise<LanguageInfo[]> {
    const jdk = jdkOf(config)
    if ('missing' in jdk) return [{ language: 'java', available: false, detail: jdk.missing }]
    return [{ language: 'java', available: true, detail: `${jdk.jshell}${jdk.version ? ` (JDK ${jdk.version})` : ''}` }]
  },

  async start(opts) {
    if (opts.language !== 'java') throw new Error(`the java runtime does not serve '${opts.language}'`)
    const jdk = jdkOf(opts.config)
    if ('missing' in jdk) throw new Error(`java is unavailable: ${jdk.missing}`)
    return JavaContext.start({
      ...opts,
      jdk: jdk as Jdk,
      interruptGraceMs: opts.config.int('java-interrupt-grace', 3000),
      startTimeoutMs: 60_000,
    })
  },
}
