/** The embedded driver and the happy-dom bundle, on disk for the child interpreter. */
import { join } from 'node:path'
import { PrivateFiles } from '../../core/private-files'
import { driverSources, happyDomBundle } from './embed.ts' with { type: 'macro' }

const SOURCES: Record<string, string> = driverSources()
const HAPPY_DOM: string = happyDomBundle()

const files = new PrivateFiles('execd-js', { ...SOURCES, 'happy-dom.js': HAPPY_DOM })

interface DriverFiles {
  driver: string
  dom: string
}

/**
 * Reached through execd's descriptor (core/held-dir.ts): the child opens the driver, and later
 * happy-dom, in the dir written, whatever another user put at its name once a cleaner moved it.
 * Bun names a module by the real path of the file it opened (the kernel's, which follows the
 * dir where it was moved), so the driver's siblings load from the same dir, and its frames and
 * `import.meta.path` name the dir as before, never `/proc/…`.
 */
export async function driverFiles(): Promise<DriverFiles> {
  const dir = await files.reached()
  return { driver: join(dir, 'driver.ts'), dom: join(dir, 'happy-dom.js') }
}

/** Removes the dir now (tests); the next start writes it again. */
export const removeDriverFiles = (): Promise<void> => files.remove()
