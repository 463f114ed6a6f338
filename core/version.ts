/**
 * What this build is (`execd --version`, `execd doctor`, the OpenAPI document): read from build-time defines and Bun itself, importing nothing else, so
 * the answer never waits for the server's modules. `process.version` is not quoted: under Bun
 * it is the Node version Bun is compatible with, not Bun's.
 */
export const VERSION = process.env.EXECD_BUILD_VERSION ?? '0.1.0'
export const COMMIT = process.env.EXECD_BUILD_COMMIT ?? 'dev'
export const TARGET = process.env.EXECD_BUILD_TARGET ?? `linux-${process.arch}`

export const versionText = (): string => `execd/${VERSION} (commit ${COMMIT}) ${TARGET} bun/${Bun.version}`
