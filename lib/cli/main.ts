/**
 * The command-line tool: `rnn-native train <text file> [options]`,
 * `rnn-native generate <model> [options]`, `rnn-native seq2seq train|translate …` and
 * `rnn-native classify train|predict|evaluate …`, `rnn-native launch --nproc N … -- <command>`
 * (bin/rnn-native.js runs `main`). Every error ends as
 * one line on stderr, `rnn-native: <message>`, and an exit code: 2 for a wrong option or an
 * unusable input, 1 for a failure while running. RNN_NATIVE_DEBUG=1 adds the stack. (Internal to the package.)
 */
import { closestName } from '../core/validate';
import { CliError, Options } from './args';
import { generate, GENERATE_OPTIONS } from './generate';
import { classifyEvaluate, CLASSIFY_EVALUATE_OPTIONS } from './classify-evaluate';
import { classifyPredict, CLASSIFY_PREDICT_OPTIONS } from './classify-predict';
import { classifyTrain, CLASSIFY_TRAIN_OPTIONS } from './classify-train';
import { HELP } from './help';
import { launch, LAUNCH_OPTIONS } from './launch';
import { seq2seqTrain, SEQ2SEQ_TRAIN_OPTIONS } from './seq2seq-train';
import { seq2seqTranslate, SEQ2SEQ_TRANSLATE_OPTIONS } from './seq2seq-translate';
import { train, TRAIN_OPTIONS } from './train';

const COMMANDS = ['train', 'generate', 'seq2seq', 'classify', 'launch', 'help'];
const SEQ2SEQ_COMMANDS = ['train', 'translate'];
const CLASSIFY_COMMANDS = ['train', 'predict', 'evaluate'];

/** Options of `command`'s sibling commands that it does not have itself: option → command. */
function foreign(own: Options, other: Options, otherName: string): Record<string, string> {
  return Object.fromEntries(Object.keys(other).filter((k) => !(k in own)).map((k) => [k, otherName]));
}

function report(err: unknown): number {
  if (process.env.RNN_NATIVE_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
  process.stderr.write(`rnn-native: ${message}\n`);
  if (err instanceof CliError && err.usage) process.stderr.write("Run 'rnn-native --help' for usage.\n");
  // What the user can fix in the command line or its files: CliError, the library's argument
  // errors (TypeError, RangeError), and file-system errors (ENOENT, EACCES, …).
  const code = (err as { code?: unknown } | null)?.code;
  const usage = err instanceof CliError || err instanceof TypeError || err instanceof RangeError || (typeof code === 'string' && /^E[A-Z]+$/.test(code));
  return usage ? 2 : 1;
}

/** `rnn-native seq2seq <train|translate> …`. */
async function seq2seq(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'train') return seq2seqTrain(rest, foreign(SEQ2SEQ_TRAIN_OPTIONS, SEQ2SEQ_TRANSLATE_OPTIONS, 'seq2seq translate'));
  if (sub === 'translate') return seq2seqTranslate(rest, foreign(SEQ2SEQ_TRANSLATE_OPTIONS, SEQ2SEQ_TRAIN_OPTIONS, 'seq2seq train'));
  const guess = closestName(sub, SEQ2SEQ_COMMANDS);
  throw new CliError(`unknown seq2seq command ${JSON.stringify(sub)}: it is train or translate${guess ? ` (did you mean ${guess}?)` : ''}`, true);
}

/** `rnn-native classify <train|predict|evaluate> …`. */
async function classify(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  const all = { train: CLASSIFY_TRAIN_OPTIONS, predict: CLASSIFY_PREDICT_OPTIONS, evaluate: CLASSIFY_EVALUATE_OPTIONS };
  const othersOf = (own: keyof typeof all) =>
    Object.assign({}, ...CLASSIFY_COMMANDS.filter((c) => c !== own).map((c) => foreign(all[own], all[c as keyof typeof all], `classify ${c}`)));
  if (sub === 'train') return classifyTrain(rest, othersOf('train'));
  if (sub === 'predict') return classifyPredict(rest, othersOf('predict'));
  if (sub === 'evaluate') return classifyEvaluate(rest, othersOf('evaluate'));
  const guess = closestName(sub, CLASSIFY_COMMANDS);
  throw new CliError(`unknown classify command ${JSON.stringify(sub)}: it is train, predict or evaluate${guess ? ` (did you mean ${guess}?)` : ''}`, true);
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === '--version' || command === '-v') {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      process.stdout.write(`${(require('../../package.json') as { version: string }).version}\n`);
      return 0;
    }
    if (command === 'train') return await train(rest, foreign(TRAIN_OPTIONS, GENERATE_OPTIONS, 'generate'));
    if (command === 'generate') return await generate(rest, foreign(GENERATE_OPTIONS, TRAIN_OPTIONS, 'train'));
    if (command === 'seq2seq') return await seq2seq(rest);
    if (command === 'classify') return await classify(rest);
    if (command === 'launch') return await launch(rest, foreign(LAUNCH_OPTIONS, TRAIN_OPTIONS, 'train'));
    if (command.startsWith('-')) throw new CliError(`${command} is not a command; the first argument is the command: train, generate, seq2seq, classify or launch`, true);
    const guess = closestName(command, COMMANDS);
    throw new CliError(`unknown command ${JSON.stringify(command)}${guess ? ` (did you mean ${guess}?)` : ''}`, true);
  } catch (err) {
    return report(err);
  }
}
