/**
 * A small Markdown renderer for the project's own docs/ (served at /docs/<name>): headings
 * with GitHub's anchors, paragraphs, lists, fenced code, tables, inline code, bold, italics
 * and links. Every text is HTML-escaped first and no raw HTML passes; a link keeps only an
 * http(s), relative or #anchor target, and a link to a sibling `x.md` becomes `/docs/x`.
 * It covers what docs/ uses, not all of CommonMark. Pure: text in, HTML out.
 */

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
export function headingAnchor(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-');
}

/** A link target that is safe to put in href, or undefined (the link is then shown as text). */
export function safeHref(target: string): string | undefined {
  const t = target.trim();
  if (/^https?:\/\//i.test(t) || t.startsWith('#')) return t;
  if (/^[a-z][a-z0-9+.-]*:/i.test(t) || t.startsWith('//')) return undefined; // javascript:, data:, protocol-relative
  const sibling = /^(?:\.\/)?([a-z0-9-]+)\.md(#[\w-]*)?$/i.exec(t);
  if (sibling) return `/docs/${sibling[1]!}${sibling[2] ?? ''}`;
  return t;
}

/** Inline Markdown of one escaped-on-the-way line: code spans, links, bold, italics. */
export function renderInline(text: string): string {
  const out: string[] = [];
  // Code spans first: their content is literal.
  const parts = text.split(/(`[^`]*`)/);
  for (const part of parts) {
    if (part.startsWith('`') && part.endsWith('`') && part.length >= 2) {
      out.push(`<code>${escapeHtml(part.slice(1, -1))}</code>`);
      continue;
    }
    let html = '';
    let rest = part;
    const link = /\[([^\]]+)\]\(([^)\s]+)\)|<(https?:\/\/[^>\s]+)>/;
    for (let m = link.exec(rest); m !== null; m = link.exec(rest)) {
      html += emphasis(escapeHtml(rest.slice(0, m.index)));
      const label = m[1] ?? m[3]!;
      const href = safeHref(m[2] ?? m[3]!);
      html += href === undefined ? emphasis(escapeHtml(label)) : `<a href="${escapeHtml(href)}">${emphasis(escapeHtml(label))}</a>`;
      rest = rest.slice(m.index + m[0].length);
    }
    out.push(html + emphasis(escapeHtml(rest)));
  }
  return out.join('');
}

const emphasis = (escaped: string): string =>
  escaped.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>').replace(/(^|[\s(])\*([^*\s][^*]*)\*(?=[\s).,;:]|$)/g, '$1<em>$2</em>');

const isTableRow = (line: string) => /^\s*\|.*\|\s*$/.test(line);
const cells = (line: string) => line.trim().slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim());
const listItem = /^(\s*)(?:[-*]|\d+\.)\s+(.*)$/;

/** Renders a Markdown document to an HTML fragment. */
export function renderMarkdown(markdown: string): string {
  const lines = markdown.replace(/\r\n/g, '\n').split('\n');
  const html: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const fence = /^```(\w*)\s*$/.exec(line);
    if (fence) {
      const body: string[] = [];
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
      i++;
      html.push(`<pre><code${fence[1] ? ` class="language-${escapeHtml(fence[1])}"` : ''}>${escapeHtml(body.join('\n'))}</code></pre>`);
      continue;
    }
    const heading = /^(#{1,6})\s+(.+?)\s*$/.exec(line);
    if (heading) {
      const level = heading[1]!.length;
      html.push(`<h${level} id="${escapeHtml(headingAnchor(heading[2]!))}">${renderInline(heading[2]!)}</h${level}>`);
      i++;
      continue;
    }
    if (isTableRow(line) && i + 1 < lines.length && /^\s*\|[\s:|-]+\|\s*$/.test(lines[i + 1]!)) {
      const head = cells(line).map((c) => `<th>${renderInline(c)}</th>`).join('');
      const rows: string[] = [];
      for (i += 2; i < lines.length && isTableRow(lines[i]!); i++) rows.push(`<tr>${cells(lines[i]!).map((c) => `<td>${renderInline(c)}</td>`).join('')}</tr>`);
      html.push(`<table><thead><tr>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`);
      continue;
    }
    if (listItem.test(line)) {
      const ordered = /^\s*\d+\./.test(line);
      const items: string[] = [];
      while (i < lines.length && (listItem.test(lines[i]!) || (/^\s{2,}\S/.test(lines[i]!) && items.length > 0))) {
        const m = listItem.exec(lines[i]!);
        if (m) items.push(m[2]!);
        else items[items.length - 1] += ` ${lines[i]!.trim()}`;
        i++;
      }
      const tag = ordered ? 'ol' : 'ul';
      html.push(`<${tag}>${items.map((it) => `<li>${renderInline(it)}</li>`).join('')}</${tag}>`);
      continue;
    }
    if (line.trim() === '') {
      i++;
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '' && !/^(```|#{1,6}\s)/.test(lines[i]!) && !listItem.test(lines[i]!) && !isTableRow(lines[i]!)) {
      para.push(lines[i]!.trim());
      i++;
    }
    html.push(`<p>${renderInline(para.join(' '))}</p>`);
  }
  return html.join('\n');
}
