import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../helpers/app.js';
import { demoRows } from '../helpers/demo-rows.js';
import { startVigia } from '../helpers/process.js';

const tmp = tempDir();
after(() => tmp.remove());

/** A local OTLP/HTTP collector that keeps the JSON bodies it receives. */
async function collector(): Promise<{ url: string; bodies: { path: string; body: string }[]; close: () => void }> {
  const bodies: { path: string; body: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      bodies.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, close: () => server.close() };
}

describe('tracing export with the standard OTEL_* variables', () => {
  it('exports the prediction span and its stages over OTLP/HTTP, with the trace id of the audit row', async () => {
    const otlp = await collector();
    const vigia = await startVigia({
      VIGIA_DB: join(tmp.dir, 'vigia.db'),
      VIGIA_LOG_LEVEL: 'warn',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    const res = await fetch(`${vigia.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features: demoRows(1)[0] }) });
    const { trace_id } = (await res.json()) as { trace_id: string };
    vigia.proc.kill('SIGTERM');
    assert.equal((await vigia.exited).code, 0, vigia.output());
    otlp.close();
    const traces = otlp.bodies.filter((b) => b.path === '/v1/traces').map((b) => b.body).join('\n');
    assert.ok(traces.includes(trace_id), `no exported span carries trace id ${trace_id}`);
    for (const name of ['"vigia.predict"', '"validate"', '"infer"', '"audit_log"']) assert.ok(traces.includes(name), `span ${name} not exported`);
  });

  it('exports nothing and still gives every prediction a trace id when the exporter is none (the default)', async () => {
    const otlp = await collector();
    const vigia = await startVigia({ VIGIA_DB: join(tmp.dir, 'none.db'), VIGIA_LOG_LEVEL: 'warn', OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url });
    const res = await fetch(`${vigia.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features: demoRows(1)[0] }) });
    const { trace_id } = (await res.json()) as { trace_id: string };
    assert.match(trace_id, /^[0-9a-f]{32}$/);
    assert.notEqual(trace_id, '0'.repeat(32));
    vigia.proc.kill('SIGTERM');
    assert.equal((await vigia.exited).code, 0);
    otlp.close();
    assert.deepEqual(otlp.bodies, []);
  });
});
