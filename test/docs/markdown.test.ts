import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headingAnchor, renderInline, renderMarkdown, safeHref } from '../../src/docs/markdown.js';
import { markdownAnchors } from '../helpers/rules.js';

describe('renderMarkdown', () => {
  it('gives each heading the anchor GitHub gives it', () => {
    const html = renderMarkdown('# Alerts and runbooks\n\n### VigiaTargetDown\n\n## Offline drift: vigia drift and vigia baseline\n');
    assert.match(html, /<h1 id="alerts-and-runbooks">Alerts and runbooks<\/h1>/);
    assert.match(html, /<h3 id="vigiatargetdown">VigiaTargetDown<\/h3>/);
    assert.match(html, /<h2 id="offline-drift-vigia-drift-and-vigia-baseline">/);
    for (const title of ['The demo model: `credit-default`', 'The stack, tested end to end']) {
      assert.ok(markdownAnchors(`## ${title}`).has(headingAnchor(title)), title);
    }
  });

  it('escapes every text, so raw HTML in a document is shown, never run', () => {
    const html = renderMarkdown('<script>alert(1)</script>\n\n| a | b |\n| --- | --- |\n| <img src=x onerror=alert(1)> | `<b>` |\n\n```html\n<iframe>\n```\n');
    assert.doesNotMatch(html, /<script|<img|<iframe|<b>/);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(html, /<td><code>&lt;b&gt;<\/code><\/td>/);
    assert.match(html, /<pre><code class="language-html">&lt;iframe&gt;<\/code><\/pre>/);
  });

  it('keeps only http(s), relative and #anchor links, and points sibling .md files at /docs/', () => {
    assert.equal(safeHref('javascript:alert(1)'), undefined);
    assert.equal(safeHref(' JavaScript:alert(1)'), undefined);
    assert.equal(safeHref('data:text/html,x'), undefined);
    assert.equal(safeHref('//evil.example'), undefined);
    assert.equal(safeHref('alerts.md#vigiatargetdown'), '/docs/alerts#vigiatargetdown');
    assert.equal(safeHref('#vigiauptimelow'), '#vigiauptimelow');
    assert.equal(renderInline('[x](javascript:alert(1))'), 'x)');
    assert.equal(renderInline('see [runbook](#a) and **this** `code`'), 'see <a href="#a">runbook</a> and <strong>this</strong> <code>code</code>');
  });

  it('renders lists, tables and paragraphs', () => {
    const html = renderMarkdown('Intro line\ncontinued.\n\n- **Means:** one\n  wrapped\n- two\n\n1. first\n2. second\n\n| k | v |\n| --- | ---: |\n| a | 1 |\n');
    assert.match(html, /<p>Intro line continued\.<\/p>/);
    assert.match(html, /<ul><li><strong>Means:<\/strong> one wrapped<\/li><li>two<\/li><\/ul>/);
    assert.match(html, /<ol><li>first<\/li><li>second<\/li><\/ol>/);
    assert.match(html, /<table><thead><tr><th>k<\/th><th>v<\/th><\/tr><\/thead><tbody><tr><td>a<\/td><td>1<\/td><\/tr><\/tbody><\/table>/);
  });
});
