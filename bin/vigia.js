#!/usr/bin/env node
// The `vigia` command. The TypeScript sources are compiled to dist/ by `npm install` (prepare).
import { runCli } from '../dist/cli.js';

runCli(process.argv).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => {
    process.stderr.write(`vigia: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
