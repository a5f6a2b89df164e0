import { cpSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE_MODELS } from './app.js';

export const MODEL = 'tensor-model';
export const V1 = '0.1.0';
export const TOKEN = 'test-admin-token-0123456789';
export const AUTH = { authorization: `Bearer ${TOKEN}` };

/** A models folder in the side-by-side layout holding tensor-model 0.1.0 (the tensor fixture). */
export function versionedModels(root: string): string {
  const models = join(root, 'models');
  mkdirSync(join(models, MODEL), { recursive: true });
  cpSync(join(FIXTURE_MODELS, 'tensor-model'), join(models, MODEL, V1), { recursive: true });
  return models;
}

/**
 * Puts a new version of tensor-model in place the way a user should: copied under a dotted
 * name, edited, then renamed into `<models>/tensor-model/<version>` (atomic).
 * `from` is the fixture whose model.onnx (and parity file) it ships; `edit` changes the manifest.
 */
export function stageVersion(models: string, version: string, opts: { from?: 'tensor-model' | 'zipmap-model'; parityFrom?: 'tensor-model' | 'zipmap-model'; edit?: (m: Record<string, any>) => void } = {}): string {
  const from = opts.from ?? 'zipmap-model';
  const staging = join(models, MODEL, `.staging-${version}`);
  cpSync(join(FIXTURE_MODELS, from), staging, { recursive: true });
  if (opts.parityFrom !== undefined) cpSync(join(FIXTURE_MODELS, opts.parityFrom, 'parity.json'), join(staging, 'parity.json'));
  const path = join(staging, 'vigia.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8'));
  manifest.name = MODEL;
  manifest.version = version;
  opts.edit?.(manifest);
  writeFileSync(path, JSON.stringify(manifest, null, 1));
  const dir = join(models, MODEL, version);
  renameSync(staging, dir);
  return dir;
}

export const ROW = { amount: 120, age: 35, channel: 0 };
