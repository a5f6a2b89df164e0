import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './app.js';

export const DOCS_DIR = join(ROOT, 'docs');

/** The reference files in docs/, by file name (`api.md`, ...). */
export function docFileNames(): string[] {
  return readdirSync(DOCS_DIR).filter((f) => f.endsWith('.md')).sort();
}

/** The text of one docs file (`alerts.md`), or of README.md. */
export function readDoc(name: string): string {
  return readFileSync(name === 'README.md' ? join(ROOT, name) : join(DOCS_DIR, name), 'utf8');
}

/** Whether docs/<name> exists. */
export function docExists(name: string): boolean {
  return existsSync(join(DOCS_DIR, name));
}

/** README.md and every docs file, by name. */
export function allDocs(): Map<string, string> {
  return new Map(['README.md', ...docFileNames()].map((f) => [f, readDoc(f)]));
}

/**
 * A rule's runbook_url as the rule files write it: the external base URL (a Prometheus
 * external label) then `/docs/<file>#<anchor>`. Returns the docs file and the anchor.
 */
export function runbookTarget(url: string): { file: string; anchor: string } | undefined {
  const m = /^\{\{ \$externalLabels\.vigia_external_url \}\}\/docs\/([a-z0-9-]+)#([a-z0-9-]+)$/.exec(url);
  return m ? { file: `${m[1]!}.md`, anchor: m[2]! } : undefined;
}
