import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread from a module next to `callerUrl` (pass `import.meta.url`): the
 * compiled `<name>.js`, or, when the caller runs from its .ts source under tsx (tests,
 * bench), `<name>.ts` with tsx registered in the new thread.
 */
export function startWorker(callerUrl: string, name: string, workerData: unknown): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl), { workerData });
  const source = new URL(`./${name}.ts`, callerUrl).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
