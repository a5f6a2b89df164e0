import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Response, type Router } from 'express';
import { escapeHtml, renderMarkdown } from '../docs/markdown.js';
import { HttpError } from '../errors.js';

/**
 * The headers of a rendered page: it runs no script, loads nothing from elsewhere and
 * cannot be framed, so a notification's link to a runbook opens a page that does only that.
 */
const SAFE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1b1f24}
pre{background:#f3f4f6;padding:.75rem;overflow-x:auto}code{font:.9em ui-monospace,monospace}
table{border-collapse:collapse;display:block;overflow-x:auto}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
h1,h2,h3{line-height:1.2}h3{margin-top:2rem}:target{background:#fff8c5}nav{font-size:.9em}`;

function page(title: string, body: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Vigia</title><style>${STYLE}</style></head>
<body><nav><a href="/docs">Vigia docs</a> · <a href="/">status page</a></nav>
<main>${body}</main></body></html>\n`;
}

function send(res: Response, html: string): void {
  res.set(SAFE_HEADERS);
  res.type('html').send(html);
}

/**
 * `GET /docs` (the list) and `GET /docs/<name>`: the Markdown files of `dir` (the project's
 * docs/), rendered once at start, so an alert's runbook_url opens from the service itself.
 * Only the names found at start are served; any other path is a 404.
 */
export function docsRoutes(dir: string): Router {
  const pages = new Map<string, { title: string; html: string }>();
  for (const file of readdirSync(dir).filter((f) => /^[a-z0-9-]+\.md$/.test(f)).sort()) {
    const markdown = readFileSync(join(dir, file), 'utf8');
    const title = /^#\s+(.+)$/m.exec(markdown)?.[1] ?? file;
    pages.set(file.slice(0, -3), { title, html: page(title, renderMarkdown(markdown)) });
  }
  const index = page('Docs', `<h1>Vigia docs</h1><ul>${[...pages].map(([name, p]) => `<li><a href="/docs/${name}">${escapeHtml(p.title)}</a></li>`).join('')}</ul>`);
  const router = express.Router();
  router.get('/docs', (_req, res) => send(res, index));
  router.get('/docs/:name', (req, res) => {
    const found = pages.get(req.params['name'] ?? '');
    if (found === undefined) throw new HttpError(404, 'not_found', `no document named ${JSON.stringify(req.params['name'])}; see /docs`);
    send(res, found.html);
  });
  return router;
}
