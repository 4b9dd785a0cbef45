/** `rnn-native generate <model> [options]`: samples text from a model saved by `train`. (Internal to the package.) */
import { loadLanguageModel } from '../io/model-file';
import type { LanguageModel } from '../models/language-model';
import { MAX_ELEMENTS } from '../core/validate';
import { Vocabulary } from '../data/vocabulary';
import { CliError, integer, number, Options, parseWithOne } from './args';
import { checkReadable } from './files';
import { HELP } from './help';

export const GENERATE_OPTIONS: Options = {
  prompt: { type: 'string', text: true }, 'max-length': { type: 'string' }, temperature: { type: 'string' },
  'top-k': { type: 'string' }, 'top-p': { type: 'string' }, greedy: { type: 'boolean' },
  samples: { type: 'string' }, seed: { type: 'string' }, stop: { type: 'string', text: true },
};

/** The tokens of `text` the vocabulary does not hold (read as `<unk>`), each once. */
function unknownTokens(vocabulary: Vocabulary, text: string): string[] {
  const known = new Set(vocabulary.tokens);
  const parts = vocabulary.tokenize(text);
  return [...new Set(parts.filter((p) => !known.has(p)))];
}

export async function generate(args: string[], others: Record<string, string>): Promise<number> {
  const parsed = parseWithOne('generate', 'one model file', args, GENERATE_OPTIONS, others, HELP);
  if (!parsed) return 0;
  const { values: v, positional: file } = parsed;
  const maxLength = integer(v, 'max-length', { min: 1, max: MAX_ELEMENTS }) ?? 200;
  const temperature = number(v, 'temperature', { min: 0, minExclusive: true });
  const topK = integer(v, 'top-k', { min: 1, max: MAX_ELEMENTS });
  const topP = number(v, 'top-p', { min: 0, minExclusive: true, max: 1 });
  const samples = integer(v, 'samples', { min: 1, max: MAX_ELEMENTS }) ?? 1;
  const seed = integer(v, 'seed', { min: 0, max: Number.MAX_SAFE_INTEGER - samples }) ?? 1;

  checkReadable(file);
  let loaded: { model: LanguageModel; vocabulary?: Vocabulary };
  try {
    loaded = loadLanguageModel(file, { requireVocabulary: false });
  } catch (err) {
    // The loader says what is wrong with the file; make sure the message names it.
    const message = err instanceof Error ? err.message : String(err);
    if (/holds a Seq2Seq model/.test(message))
      throw new CliError(`${file} is a Seq2Seq model (saved by 'rnn-native seq2seq train'); use 'rnn-native seq2seq translate ${file}'`);
    if (/holds a SequenceClassifier/.test(message))
      throw new CliError(`${file} is a text classifier (saved by 'rnn-native classify train'); use 'rnn-native classify predict ${file}'`);
    throw new CliError(message.includes(file) ? message : `${file}: ${message}`);
  }
  const { model, vocabulary } = loaded;
  if (!vocabulary) throw new CliError(`${file} has no vocabulary; it was not saved by 'rnn-native train'`);

  let stop = vocabulary.eos;
  if (v.stop !== undefined) {
    const text = String(v.stop).replace(/\\n/g, '\n');
    const ids = vocabulary.encode(text);
    if (ids.length !== 1 || ids[0] === 1)
      throw new CliError(`--stop must be one token of the model's vocabulary, received ${JSON.stringify(v.stop)}`);
    stop = ids[0];
  }
  const promptText = v.prompt as string | undefined;
  const prompt = promptText === undefined ? undefined : vocabulary.encode(promptText);
  if (promptText !== undefined) {
    const unknown = unknownTokens(vocabulary, promptText);
    if (unknown.length > 0)
      process.stderr.write(
        `rnn-native: note: the model never saw ${unknown.slice(0, 10).map((t) => JSON.stringify(t)).join(', ')}${unknown.length > 10 ? ', …' : ''} ` +
          `from --prompt; it reads ${unknown.length === 1 ? 'it' : 'them'} as the unknown token\n`,
      );
  }
  // Word-level text is words joined by spaces: one between the prompt and what follows it.
  const glue = vocabulary.tokenization === 'word' && promptText && !/\s$/.test(promptText) ? ' ' : '';
  for (let i = 0; i < samples; i++) {
    if (i > 0) {
      await new Promise<void>((resolve) => setImmediate(resolve)); // lets a closed pipe (| head) be noticed
      if (process.stdout.destroyed) break;
    }
    const out = model.generate({
      maxLength, seed: seed + i, endToken: stop, greedy: v.greedy === true,
      ...(prompt && prompt.length ? { prompt } : {}),
      ...(temperature !== undefined ? { temperature } : {}),
      ...(topK !== undefined ? { topK } : {}),
      ...(topP !== undefined ? { topP } : {}),
    });
    const body = out.length > 0 && out[out.length - 1] === stop ? out.subarray(0, out.length - 1) : out;
    const continuation = vocabulary.decode(body);
    process.stdout.write(`${promptText ?? ''}${continuation && glue}${continuation}\n`);
  }
  return 0;
}
