import { Command } from 'commander';
import { checkBundle, initBundle } from '../model/bundle-authoring.js';
import { errorMessage } from './args.js';

const EXIT_OK = 0;
const EXIT_PROBLEMS = 1;
const EXIT_BAD_INPUT = 2;

interface InitFlags {
  onnx: string;
  csv: string;
  out: string;
  name?: string;
  version?: string;
  label?: string;
}

/** `vigia bundle init` and `vigia bundle check`: write a starting bundle, and list every problem of one. */
export function bundleCommand(done: (code: number) => void): Command {
  const bundle = new Command('bundle').description('make a model bundle: init writes a starting one from an ONNX file and a CSV sample, check lists every problem of one');
  bundle
    .command('init')
    .description('write a bundle folder: model.onnx and reference.csv copied in, vigia.json read from the model and the CSV header, parity.json of the first rows')
    .requiredOption('--onnx <file>', 'the ONNX model')
    .requiredOption('--csv <file>', 'a sample of the training data: the model features in the model order, and the label column')
    .requiredOption('--out <dir>', 'the bundle folder to write (e.g. models/<name>/<version>)')
    .option('--name <name>', 'the model name (default my-model)')
    .option('--version <version>', 'the model version (default 1.0.0)')
    .option('--label <column>', `the label column (default the first of label, target, y, class, default, is_fraud, fraud)`)
    .addHelpText('after', '\nExit codes: 0 written, 2 the model and the CSV do not fit (the message says why) or bad usage.')
    .exitOverride()
    .action(async (flags: InitFlags) => {
      try {
        const { manifestPath, notes } = await initBundle(flags);
        process.stdout.write(`wrote ${manifestPath}\n${notes.map((n) => `  note: ${n}\n`).join('')}then: vigia bundle check ${flags.out}\n`);
        done(EXIT_OK);
      } catch (err) {
        process.stderr.write(`vigia: ${errorMessage(err)}\n`);
        done(EXIT_BAD_INPUT);
      }
    });
  bundle
    .command('check')
    .description('validate a bundle folder and print every problem at once (manifest fields, reference sample, model, parity)')
    .argument('<dir>', 'the bundle folder')
    .addHelpText('after', '\nExit codes: 0 the bundle loads, 1 problems (one per line), 2 bad usage.')
    .exitOverride()
    .action(async (dir: string) => {
      try {
        const problems = await checkBundle(dir);
        if (problems.length === 0) {
          process.stdout.write(`${dir}: ok — the bundle loads and matches its parity file\n`);
          done(EXIT_OK);
        } else {
          process.stdout.write(`${dir}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${problems.map((p) => `  ${p}\n`).join('')}`);
          done(EXIT_PROBLEMS);
        }
      } catch (err) {
        process.stderr.write(`vigia: ${errorMessage(err)}\n`);
        done(EXIT_BAD_INPUT);
      }
    });
  return bundle;
}
