import type { AuditLog, AuditRecord } from '../../src/store/audit-log.js';

/** Appends `n` one-row requests as a busy server would, a hundred per event-loop turn; resolves when all are committed. */
export async function appendConcurrently(log: AuditLog, n: number, record: (id: string) => AuditRecord): Promise<void> {
  const appends: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    appends.push(log.append([record(`r${i}`)]));
    if (i % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  await Promise.all(appends);
}
