/**
 * An answer that is not execd's: another server on that port, a gateway's page. execd answers
 * JSON, SSE, a file's bytes or nothing, never a web page (`text/html`).
 */

export const isWebPage = (res: Response): boolean => /^\s*text\/html\b/i.test(res.headers.get('content-type') ?? '')

/**
 * What a body that is not the contract's JSON starts with, on one line: a web server's error page
 * by its title (it quoted 200 characters of markup, each line break a `\n`: `<!DOCTYPE
 * HTML>\n<html lang="en">\n    <head>\n…`), other text with its white space run together.
 */
export function answerStart(text: string): string {
  const trimmed = text.trim()
  if (/^<(!doctype html|html)[\s>]/i.test(trimmed)) {
    // Bounded: the body read is at most MAX_ERROR_BODY_BYTES, the title 200 characters.
    const title = /<title[^>]{0,200}>([^<]{0,200})<\/title>/i.exec(trimmed)?.[1]?.replace(/\s+/g, ' ').trim()
    return title ? `a web page, "${title}"` : 'a web page'
  }
  return trimmed.slice(0, 400).replace(/\s+/g, ' ').slice(0, 200)
}

/** Statuses a gateway answers with for the server behind it (bad gateway, unavailable, timed out). */
const GATEWAY_FAILURES = new Set([502, 503, 504])

/** What a gateway's failure asks, where a non-execd answer asks about the address. */
export const gatewayFailure = (status: number): string | undefined =>
  GATEWAY_FAILURES.has(status) ? "a gateway's, not execd's: is the daemon behind it running?" : undefined

/**
 * An error answer with no contract JSON at all (an empty 404 from a gateway, another server on
 * that port), with where to look: it read `execd: HTTP 404:` and nothing more. A gateway's own
 * failure (nginx's 502 page while the daemon behind it is down or restarting) is no wrong --url:
 * the advice to check it sent a person away from a daemon that had gone.
 */
export function notExecdAnswer(status: number, text: string): string {
  const start = answerStart(text)
  const where = gatewayFailure(status) ?? "not an execd answer: is --url the daemon's address and path?"
  return `HTTP ${status}${start ? `: ${start}` : ''} (${where})`
}
