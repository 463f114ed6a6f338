/**
 * The whole-number options of the verbs cli.ts registers itself (`exec --timeout`, `ping
 * --timeout` and `--port`): declared here, light to load, so that help and the verbs' checks
 * read one declaration (`--url`'s are route-url.ts's and daemon-quiet.ts's, fs's fs-verbs').
 */
import { DAY_MS, type WholeOption, YEAR_MS, wholeHelp } from './whole-option'

export const EXEC_TIMEOUT: WholeOption = {
  flag: 'timeout',
  unit: 'milliseconds',
  placeholder: '<ms>',
  min: 1,
  // A cell may rightly run for days (a long timer holds it: exec.ts); a year is past any of them.
  max: YEAR_MS,
  zero: 'no limit',
}
export const EXEC_TIMEOUT_OPTION = wholeHelp(
  EXEC_TIMEOUT,
  'stop after this many milliseconds: a cell is interrupted, a command killed',
)

/** A probe's wait: 0 would fail every probe, and past a day it is no probe. */
export const PING_TIMEOUT: WholeOption = {
  flag: 'timeout',
  unit: 'milliseconds',
  placeholder: '<ms>',
  min: 1,
  max: DAY_MS,
}
export const PING_TIMEOUT_MS = 2000
export const PING_TIMEOUT_OPTION = wholeHelp(
  PING_TIMEOUT,
  'give up when /ping has not answered in this time',
  PING_TIMEOUT_MS,
)

/**
 * The local daemon's port, as serve reads EXECD_PORT: but 0, which serve takes for any free
 * port, names none that a probe could ask.
 */
export const PING_PORT: WholeOption = {
  flag: 'port',
  env: 'EXECD_PORT',
  unit: 'a port number',
  placeholder: '<port>',
  min: 1,
  max: 65535,
}
/** serve's default port (core/config.ts), named here so that a probe loads no config system. */
export const PING_PORT_DEFAULT = 44772
export const PING_PORT_OPTION = wholeHelp(
  PING_PORT,
  "the local daemon's port, when no --url is given",
  PING_PORT_DEFAULT,
)
