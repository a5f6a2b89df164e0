import { Command } from 'commander';
import { CONFIG_KEYS, loadConfig } from './config.js';
import { startService } from './main.js';
import { createLogger } from './telemetry/logger.js';

/** Adds one `--flag <value>` per configuration key, documented by the key's doc line. */
function withConfigFlags(cmd: Command): Command {
  for (const spec of Object.values(CONFIG_KEYS)) {
    cmd.option(`${spec.flag} <value>`, `${spec.doc} (env ${spec.key}${spec.fallback === undefined ? '' : `, default ${spec.fallback}`})`);
  }
  return cmd;
}

/** The environment with command-line flags laid over it: flags win. */
function envWithFlags(opts: Record<string, unknown>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const spec of Object.values(CONFIG_KEYS)) {
    const attr = spec.flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    const v = opts[attr];
    if (typeof v === 'string') env[spec.key] = v;
  }
  return env;
}

async function serve(opts: Record<string, unknown>): Promise<number> {
  const config = loadConfig(envWithFlags(opts));
  const logger = createLogger(config.logLevel);
  const service = await startService(config, logger);
  const models = service.registry.list().map((m) => `${m.manifest.name} ${m.manifest.version}${m.manifest.name === service.registry.defaultModel ? ' (default)' : ''}`);
  logger.info('vigia is serving', { url: service.url, models, db: config.dbPath, models_dir: config.modelsDir, tracing: config.tracesExporter });
  process.stdout.write(`vigia listening on ${service.url} — models: ${models.join(', ')} — audit log: ${config.dbPath}\n`);
  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info('shutting down', { signal });
      service.close().then(
        () => {
          logger.info('stopped');
          resolve(0);
        },
        (err: unknown) => {
          logger.error('shutdown failed', { error: (err as Error).message });
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/** Runs the `vigia` command line; resolves to the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  let code = 0;
  const program = new Command('vigia')
    .description('Scores ONNX fraud and credit-risk models and monitors them in production.')
    .showHelpAfterError();
  withConfigFlags(program.command('serve').description('serve the models of VIGIA_MODELS_DIR over HTTP')).action(async (opts: Record<string, unknown>) => {
    code = await serve(opts);
  });
  await program.parseAsync([...argv]);
  return code;
}
