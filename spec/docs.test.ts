/**
 * The API explorer at /docs in a real browser (Debian's chromium driven by puppeteer-core),
 * offline: every request the browser makes that is not to this daemon fails the test. With a
 * token configured the page loads without it, asks for it, lists every operation of
 * /openapi.json, and a try-it call carries the token.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import puppeteer, { type Browser } from 'puppeteer-core'
import { DOCS_PATHS } from '../core/docs'
import { startDaemon, type Daemon } from './harness'
import { daemonAlone } from './kit/daemon-dir'

const CHROMIUM = process.env.EXECD_CHROMIUM ?? '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium)
  console.warn(`spec/docs.test.ts: skipping the browser tests, no ${CHROMIUM} (apt-get install chromium)`)

describe('the explorer files', () => {
  const fx = daemonAlone()

  test('load without the token; the document and the API do not', async () => {
    for (const path of DOCS_PATHS) {
      const res = await fetch(fx.d.url + path)
      expect(res.status, path).toBe(200)
      const body = await res.text()
      // Static files only: no API data, no copy of the document.
      expect(body, path).not.toContain('/code/contexts')
      expect(res.headers.get('content-security-policy'), path).toContain("connect-src 'self'")
    }
    for (const path of ['/openapi.json', '/ping', '/docs/nope', '/metrics']) {
      expect((await fetch(fx.d.url + path)).status, path).toBe(401)
    }
  })
})

describe.skipIf(!hasChromium)('the explorer in a browser', () => {
  let d: Daemon
  let browser: Browser
  let profile: string
  beforeAll(async () => {
    d = await startDaemon()
    profile = mkdtempSync(join(tmpdir(), 'execd-docs-chromium-'))
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: profile,
      // Puppeteer's 30 s for the browser to start was not enough once, in a fresh-clone CI run on
      // a loaded machine (it starts in 1-2 s when quiet).
      timeout: 120_000,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-default-apps',
        '--disable-sync',
        // Whatever the browser itself might fetch goes to a closed port: only loopback bypasses it.
        '--proxy-server=http://127.0.0.1:9',
      ],
    })
  }, 150_000)
  afterAll(async () => {
    await browser?.close()
    await d?.stop()
    if (profile) rmSync(profile, { recursive: true, force: true })
  })

  test('asks for the token, lists every operation, and a try-it call succeeds with it', async () => {
    const page = await browser.newPage()
    // Parsing the 1.7 MB bundle takes seconds on a loaded machine: room for it, under the test's own limit.
    page.setDefaultTimeout(60_000)
    const offMachine: string[] = []
    // Once the token is entered, every request but for the static files carries it. (Before,
    // the page asks for the document without one, to learn whether this execd needs a token.)
    const tokenless: string[] = []
    let entered = false
    const ours = new URL(d.url).host
    // A script error, or anything the page's Content-Security-Policy refused, is a failure too.
    const problems: string[] = []
    page.on('pageerror', e => problems.push(String(e)))
    page.on('console', m => void (m.type() === 'error' && problems.push(m.text())))
    await page.setRequestInterception(true)
    page.on('request', request => {
      const url = new URL(request.url())
      if (url.protocol === 'data:' || url.protocol === 'blob:') return void request.continue()
      if (url.host !== ours) {
        offMachine.push(request.url())
        return void request.abort()
      }
      const asset = (DOCS_PATHS as readonly string[]).includes(url.pathname)
      if (entered && !asset && request.headers()['x-execd-access-token'] !== d.token) {
        tokenless.push(`${request.method()} ${url.pathname}`)
      }
      request.continue()
    })

    await page.goto(d.url + '/docs', { waitUntil: 'load' })
    // Without the token the page says what it needs and shows no operation.
    await page.waitForFunction(() => document.getElementById('token-status')?.textContent?.includes('token'))
    expect(await page.$$('.opblock')).toHaveLength(0)

    await page.type('#token', d.token)
    entered = true
    await page.click('#token-bar button[type=submit]')
    await page.waitForSelector('.opblock')

    const spec = await (await d.fetch('/openapi.json')).json()
    const expected = Object.entries(spec.paths as Record<string, object>)
      .flatMap(([path, methods]) => Object.keys(methods).map(m => `${m.toUpperCase()} ${path}`))
      .sort()
    const shown = await page.$$eval('.opblock', blocks =>
      blocks.map(b => {
        const method = b.querySelector('.opblock-summary-method')?.textContent?.trim() ?? ''
        const path = b.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? ''
        return `${method} ${path}`
      }),
    )
    expect([...new Set(shown)].sort()).toEqual(expected)

    // Try it: GET /metrics, which answers 200 only with the token.
    const op = await page.$('#operations-metrics-getMetrics')
    expect(op).not.toBeNull()
    await op!.$eval('.opblock-summary-control', el => (el as HTMLElement).click())
    await page.waitForSelector('#operations-metrics-getMetrics .execute')
    await page.click('#operations-metrics-getMetrics .execute')
    const cell = '#operations-metrics-getMetrics .live-responses-table tr.response td.response-col_status'
    await page.waitForSelector(cell)
    expect(await page.$eval(cell, el => el.textContent?.trim())).toBe('200')

    expect(offMachine).toEqual([])
    expect(tokenless).toEqual([])
    // The 401 of the first, tokenless load of the document is the one expected error.
    expect(problems.filter(p => !p.includes('401'))).toEqual([])
    await page.close()
  }, 120_000)
})
