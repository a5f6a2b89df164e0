import express, { type Router } from 'express';

export interface ReadinessCheck {
  /** Throws or returns a reason when not ready; undefined when ready. */
  (): string | undefined;
}

/** `GET /healthz` (the process answers) and `GET /readyz` (models loaded, database open, not draining). */
export function healthRoutes(checks: Readonly<Record<string, ReadinessCheck>>): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res) => {
    const results: Record<string, string> = {};
    let ready = true;
    for (const [name, check] of Object.entries(checks)) {
      let problem: string | undefined;
      try {
        problem = check();
      } catch (err) {
        problem = (err as Error).message;
      }
      results[name] = problem ?? 'ok';
      if (problem !== undefined) ready = false;
    }
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks: results });
  });
  return router;
}
