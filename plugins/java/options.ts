/**
 * The java runtime's options, apart from its code: the CLI reads every option (plugins/options.ts)
 * without loading a section. Imports nothing but core/config (core/layout.test.ts checks it).
 */
import { intOption, stringOption } from '../../core/config'

export const OPTIONS = {
  jshell: stringOption('jshell', {
    env: 'EXECD_JSHELL',
    description: 'jshell of the JDK that runs java contexts (its java and javac are used)',
    default: 'jshell',
  }),
  interruptGraceMs: intOption('java-interrupt-grace', {
    env: 'EXECD_JAVA_INTERRUPT_GRACE_MS',
    description: 'ms a java cell may ignore an interrupt before its JVM is restarted (state lost)',
    default: 3000,
  }),
}
