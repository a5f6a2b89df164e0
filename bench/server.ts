// The service as the benchmark runs it: `vigia serve` with one part optionally switched
// off, to measure what that part costs. Usage: node --import tsx bench/server.ts [--no-audit]
import { loadConfig } from '../src/config.js';
import { startService } from '../src/main.js';
import type { AuditLog } from '../src/store/audit-log.js';
import { createLogger } from '../src/telemetry/logger.js';

/** Answers every append at once and keeps nothing: the "audit log off" comparison. */
const discardingAuditLog: AuditLog = { append: async () => {}, close: async () => {} };

const config = loadConfig(process.env);
const service = await startService(config, createLogger('warn'), process.argv.includes('--no-audit') ? { audit: discardingAuditLog } : {});
process.stdout.write(`listening on ${service.url}\n`);
process.once('SIGTERM', () => {
  service.close().then(() => process.exit(0), () => process.exit(1));
});
