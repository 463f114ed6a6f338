/**
 * The API explorer at /docs: one self-contained page (no CDN, no network) that lists every
 * route of the OpenAPI document grouped by tag, shows its parameters and schemas, and can
 * send a request with the access token. The route list is rendered on the server, so the
 * page is useful even with scripts off; the script only adds "try it".
 */
type Spec = {
  info?: { title?: string; version?: string; description?: string }
  paths?: Record<string, Record<string, Operation>>
}
type Operation = {
  summary?: string
  description?: string
  tags?: string[]
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[]
  requestBody?: { content?: Record<string, { schema?: unknown }> }
  responses?: Record<string, unknown>
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options']

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

const esc = (s: string) => s.replace(/[&<>"']/g, c => ENTITIES[c] ?? c)

export function renderDocsPage(spec: Spec): string {
  const groups = new Map<string, string[]>()
  for (const [path, ops] of Object.entries(spec.paths ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    for (const method of METHODS) {
      const op = ops[method]
      if (!op) continue
      const tag = op.tags?.[0] ?? path.split('/')[1] ?? 'other'
      const list = groups.get(tag) ?? []
      list.push(renderOperation(method, path, op))
      groups.set(tag, list)
    }
  }
  const sections = [...groups]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([tag, ops]) => `<section data-tag="${esc(tag)}"><h2>${esc(tag)}</h2>${ops.join('')}</section>`)
    .join('')
  const title = `${spec.info?.title ?? 'API'} ${spec.info?.version ?? ''}`.trim()
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)} — API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head>
<body><header><h1>${esc(title)}</h1><p>${esc(spec.info?.description ?? '')}</p>
<label>Access token <input id="token" type="password" autocomplete="off" placeholder="X-EXECD-ACCESS-TOKEN"></label>
<a href="/openapi.json">openapi.json</a></header>
<main>${sections}</main>
<script>${SCRIPT}</script></body></html>`
}

function renderOperation(method: string, path: string, op: Operation): string {
  const params = (op.parameters ?? [])
    .map(p => `<li><code>${esc(p.name)}</code> <em>${esc(p.in)}</em>${p.required ? ' (required)' : ''}</li>`)
    .join('')
  const body = op.requestBody?.content
  const [[bodyType, bodyContent] = ['', undefined]] = Object.entries(body ?? {})
  const bodySchema = bodyContent?.schema
  return `<details class="op" data-method="${method}" data-path="${esc(path)}">
<summary><span class="method ${method}">${method.toUpperCase()}</span> <code>${esc(path)}</code> <span class="summary">${esc(op.summary ?? '')}</span></summary>
${op.description ? `<p>${esc(op.description)}</p>` : ''}
${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ''}
${bodySchema ? `<h4>Body <small>${esc(bodyType)}</small></h4><pre>${esc(JSON.stringify(bodySchema, null, 2))}</pre>` : ''}
<h4>Responses</h4><pre>${esc(JSON.stringify(op.responses ?? {}, null, 2))}</pre>
<form class="try"><input name="url" value="${esc(path)}" aria-label="request path">
${bodySchema ? '<textarea name="body" rows="4" aria-label="request body">{}</textarea>' : ''}
<button type="submit">Send</button><pre class="out"></pre></form>
</details>`
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330}
header{padding:16px 24px;background:#f4f6fa;border-bottom:1px solid #dde2ea}
header h1{margin:0 0 4px;font-size:20px}main{padding:8px 24px 40px}
h2{font-size:16px;margin:24px 0 8px;text-transform:uppercase;letter-spacing:.04em;color:#556}
.op{border:1px solid #dde2ea;border-radius:6px;margin:6px 0;padding:6px 10px}
.op summary{cursor:pointer}.method{display:inline-block;min-width:60px;font-weight:600}
.get{color:#1a7f37}.post{color:#0550ae}.delete{color:#cf222e}.head{color:#8250df}
pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:320px}
.try input{width:60%}.try textarea{display:block;width:80%;margin:4px 0}`

const SCRIPT = `document.querySelectorAll('form.try').forEach(function (form) {
  form.addEventListener('submit', function (ev) {
    ev.preventDefault()
    var op = form.closest('.op'), out = form.querySelector('.out')
    var headers = { 'X-EXECD-ACCESS-TOKEN': document.getElementById('token').value }
    var init = { method: op.dataset.method.toUpperCase(), headers: headers }
    if (form.body) { init.body = form.body.value; headers['content-type'] = 'application/json' }
    out.textContent = '...'
    fetch(form.url.value, init).then(function (r) {
      return r.text().then(function (t) { out.textContent = r.status + ' ' + r.statusText + '\\n' + t })
    }).catch(function (e) { out.textContent = String(e) })
  })
})`
