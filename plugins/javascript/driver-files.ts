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

export async function driverFiles(): Promise<DriverFiles> {
  const dir = await files.dir()
  return { driver: join(dir, 'driver.ts'), dom: join(dir, 'happy-dom.js') }
}

/** Removes the dir now (tests); the next start writes it again. */
export const removeDriverFiles = (): Promise<void> => files.remove()
