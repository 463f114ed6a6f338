/**
 * The API explorer at /docs: Swagger UI (the npm package `swagger-ui-dist`), carried inside the
 * executable and served from it, so it works with no network. These files are static and
 * public even when a token is configured (core/auth.ts `isPublicAsset`): they hold no API data
 * and no copy of the OpenAPI document. The page asks for the token, fetches /openapi.json with
 * it and sends it on every call it makes; /openapi.json and every API route stay behind the token.
 */
// `type: 'file'`: `bun build --compile` embeds the file and the import is its path inside the
// executable (a real path under `bun test`).
import bundlePath from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'file' }
import cssPath from 'swagger-ui-dist/swagger-ui.css' with { type: 'file' }
import { TOKEN_HEADER } from './auth'

/** Every file the explorer serves, by exact path: nothing else under /docs exists. */
export const DOCS_PATHS = ['/docs', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css', '/docs/explorer.js'] as const

/** A GET of one of the explorer's files: static, so served without the token. */
export const isDocsAsset = (method: string, path: string): boolean =>
  method === 'GET' && (DOCS_PATHS as readonly string[]).includes(path)

/**
 * The browser may load only what this daemon serves: no script, style, font, image or call from
 * anywhere else, whatever the UI's defaults (an online validator badge, links it might preload).
 * Swagger UI sets inline styles and shows data: icons; it needs nothing more.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ')

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>execd API explorer</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/swagger-ui.css">
<style>
#token-bar{display:flex;gap:8px;align-items:center;padding:10px 20px;background:#f4f6fa;border-bottom:1px solid #dde2ea;font:14px system-ui,sans-serif}
#token-bar input{flex:0 1 360px;padding:4px 6px}#token-status{color:#8a1f11}
</style></head>
<body>
<form id="token-bar" autocomplete="off">
<label for="token">Access token (X-EXECD-ACCESS-TOKEN)</label>
<input id="token" name="token" type="password" placeholder="only if execd was started with one">
<button type="submit">Use</button><span id="token-status" role="status"></span>
</form>
<div id="ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/explorer.js"></script>
</body></html>
`

/**
 * Runs in the browser: loads the document with the token (asking for it on a 401) and starts
 * Swagger UI on it, every request of which carries the token. The token lives in this tab's
 * sessionStorage only. No URL but this daemon's is ever given to the UI.
 */
const EXPLORER = `'use strict'
;(function () {
  var HEADER = ${JSON.stringify(TOKEN_HEADER.toUpperCase())}
  var KEY = 'execd-access-token'
  var form = document.getElementById('token-bar')
  var input = document.getElementById('token')
  var status = document.getElementById('token-status')
  var token = sessionStorage.getItem(KEY) || ''
  input.value = token

  function withToken(headers) {
    if (token) headers[HEADER] = token
    return headers
  }

  function load() {
    status.textContent = ''
    fetch('/openapi.json', { headers: withToken({ accept: 'application/json' }), cache: 'no-store' })
      .then(function (res) {
        if (res.status === 401) {
          status.textContent = token ? 'this token is refused: enter the right one' : 'this execd needs its access token'
          input.focus()
          return
        }
        if (!res.ok) throw new Error('GET /openapi.json answered ' + res.status)
        return res.json().then(start)
      })
      .catch(function (e) {
        status.textContent = String(e && e.message ? e.message : e)
      })
  }

  function start(spec) {
    var ui = SwaggerUIBundle({
      spec: spec,
      dom_id: '#ui',
      deepLinking: true,
      docExpansion: 'list',
      tryItOutEnabled: true,
      displayRequestDuration: true,
      // The online validator badge would send the document to a server elsewhere.
      validatorUrl: null,
      // Every call the UI makes carries the token, whatever the operation's security says.
      requestInterceptor: function (req) {
        req.headers = withToken(req.headers || {})
        return req
      },
    })
    if (token) ui.preauthorizeApiKey('accessToken', token)
    window.ui = ui
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault()
    token = input.value.trim()
    if (token) sessionStorage.setItem(KEY, token)
    else sessionStorage.removeItem(KEY)
    load()
  })
  load()
})()
`

const headers = (type: string) => ({
  'content-type': type,
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
})

/** The response for one of DOCS_PATHS. */
export function docsAsset(path: string): Response {
  const body = (() => {
    switch (path) {
      case '/docs':
        return { data: PAGE, type: 'text/html; charset=utf-8' }
      case '/docs/explorer.js':
        return { data: EXPLORER, type: 'text/javascript; charset=utf-8' }
      case '/docs/swagger-ui-bundle.js':
        return { data: Bun.file(bundlePath), type: 'text/javascript; charset=utf-8' }
      case '/docs/swagger-ui.css':
        return { data: Bun.file(cssPath), type: 'text/css; charset=utf-8' }
    }
  })()
  if (!body) throw new Error(`not an explorer file: ${path}`)
  return new Response(body.data, { headers: headers(body.type) })
}
