/**
 * Argument parsing for the command line: node's parseArgs in strict mode, with its errors turned
 * into one-line messages (`unknown option --hiden (did you mean --hidden?)`, `--hidden needs a
 * value`), negative numbers accepted as values (`--lr -1` reaches the range check), and
 * validators that name the option, what it must be and what it received. (Internal to the package.)
 */
import { parseArgs } from 'node:util';
import { closestName, MAX_ELEMENTS } from '../core/validate';

/**
 * An error in what the user typed or gave: printed as `rnn-native: <message>`, exit code 2.
 * `usage` adds the pointer to --help (for mistakes in the command line itself).
 */
export class CliError extends Error {
  constructor(message: string, readonly usage = false) {
    super(message);
    this.name = 'CliError';
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** Free text (a prompt): a value starting with '-' is still the value. */
  text?: boolean;
}
export type Options = Record<string, OptionSpec>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  help: boolean;
}

const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * Parses one command's arguments. `others` names options of the other commands (option →
 * command), so that `train --temperature 1` says where --temperature belongs.
 */
export function parseCommand(command: string, args: string[], options: Options, others: Record<string, string> = {}): Parsed {
  // `--lr -1` and `--prompt "-x"`: take the next argument as the value, which strict parseArgs
  // would refuse as ambiguous. Anything else starting with '-' stays an option.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      joined.push(...args.slice(i));
      break;
    }
    const spec = a.startsWith('--') && !a.includes('=') ? options[a.slice(2)] : undefined;
    const next = args[i + 1];
    if (spec?.type === 'string' && next !== undefined && next.startsWith('-') && next !== '--' && (spec.text || NEGATIVE_NUMBER.test(next))) {
      joined.push(`${a}=${next}`);
      i++;
    } else joined.push(a);
  }
  const help = joined.some((a, i) => (a === '--help' || a === '-h') && !joined.slice(0, i).includes('--'));
  if (help) return { values: {}, positionals: [], help };

  const config = Object.fromEntries(Object.entries(options).map(([k, v]) => [k, { type: v.type }]));
  try {
    const { values, positionals } = parseArgs({ args: joined, options: config, allowPositionals: true, strict: true });
    for (const [name, spec] of Object.entries(options))
      if (spec.type === 'string' && values[name] === '' && !spec.text) throw new CliError(`--${name} needs a value`, true);
    return { values: values as Parsed['values'], positionals, help: false };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && code !== 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw err;
    throw explain(command, joined, options, others, code);
  }
}

/** Finds the option parseArgs refused (re-parsing leniently, not reading its message). */
function explain(command: string, args: string[], options: Options, others: Record<string, string>, code: string): CliError {
  const { tokens } = parseArgs({ args, options: Object.fromEntries(Object.entries(options).map(([k, v]) => [k, { type: v.type }])), allowPositionals: true, strict: false, tokens: true });
  for (const t of tokens ?? []) {
    if (t.kind !== 'option') continue;
    const spec = options[t.name];
    if (!spec) {
      if (code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') continue;
      const shown = t.rawName;
      if (!shown.startsWith('--'))
        return new CliError(`unknown option ${args[t.index]} (options start with --; a file name that starts with - goes after --)`, true);
      if (others[t.name]) return new CliError(`${shown} is an option of '${others[t.name]}', not of '${command}'`, true);
      const guess = closestName(t.name, Object.keys(options));
      return new CliError(`unknown option ${shown}${guess ? ` (did you mean --${guess}?)` : ''}`, true);
    }
    if (spec.type === 'boolean' && t.value !== undefined) return new CliError(`--${t.name} takes no value, received ${JSON.stringify(t.value)}`, true);
    if (spec.type === 'string' && (t.value === undefined || (!t.inlineValue && t.value.startsWith('-'))))
      return new CliError(`--${t.name} needs a value`, true);
  }
  return new CliError(`cannot read the options of '${command}': ${args.join(' ')}`, true);
}

/** How a string option's value must look: its range, for the message and the check. */
interface Range {
  min?: number;
  max?: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
}

function describe(kind: 'an integer' | 'a number', r: Range): string {
  const { min, max, minExclusive, maxExclusive } = r;
  if (min !== undefined && max !== undefined) return `${kind} in ${minExclusive ? '(' : '['}${min}, ${max}${maxExclusive ? ')' : ']'}`;
  if (min !== undefined) return `${kind} ${minExclusive ? '>' : '≥'} ${min}`;
  if (max !== undefined) return `${kind} ${maxExclusive ? '<' : '≤'} ${max}`;
  return kind;
}

function parseNumber(values: Parsed['values'], name: string, kind: 'an integer' | 'a number', r: Range): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  const n = text === '' ? NaN : Number(text);
  const { min, max, minExclusive, maxExclusive } = r;
  const ok = Number.isFinite(n) && (kind === 'a number' || Number.isSafeInteger(n))
    && (min === undefined || (minExclusive ? n > min : n >= min))
    && (max === undefined || (maxExclusive ? n < max : n <= max));
  // A technical upper bound (2^31 - 1 elements, the largest safe integer) is only named when hit.
  const shown = max !== undefined && max >= MAX_ELEMENTS && !(n > max) ? { ...r, max: undefined } : r;
  if (!ok) throw new CliError(`--${name} must be ${describe(kind, shown)}, received ${JSON.stringify(raw)}`);
  return n;
}

/** The integer value of --name (undefined when not given); a CliError naming it otherwise. */
export function integer(values: Parsed['values'], name: string, r: Range = {}): number | undefined {
  return parseNumber(values, name, 'an integer', r);
}

/** The finite number value of --name (undefined when not given); a CliError naming it otherwise. */
export function number(values: Parsed['values'], name: string, r: Range = {}): number | undefined {
  return parseNumber(values, name, 'a number', r);
}

/** The value of --name, one of `choices` (or `fallback` when not given). */
export function oneOf<T extends string>(values: Parsed['values'], name: string, choices: readonly T[], fallback: T): T {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (!choices.includes(raw as T)) {
    const guess = closestName(String(raw), choices);
    throw new CliError(`--${name} must be one of ${choices.join(', ')}, received ${JSON.stringify(raw)}${guess ? ` (did you mean ${guess}?)` : ''}`);
  }
  return raw as T;
}

/**
 * Parses a command that takes exactly one positional argument (`what` names it in the
 * message: "one text file", "one model file"). Returns null after printing `help` for --help.
 */
export function parseWithOne(
  command: string, what: string, args: string[], options: Options, others: Record<string, string>, help: string,
): { values: Parsed['values']; positional: string } | null {
  const parsed = parseCommand(command, args, options, others);
  if (parsed.help) {
    process.stdout.write(help);
    return null;
  }
  const { positionals } = parsed;
  if (positionals.length !== 1)
    throw new CliError(`${command} needs exactly ${what}, received ${positionals.length === 0 ? 'none' : positionals.map((p) => JSON.stringify(p)).join(' ')}`, true);
  return { values: parsed.values, positional: positionals[0] };
}
