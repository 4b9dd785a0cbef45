/**
 * Checking a model file's options against the tensors it actually holds, before anything is
 * allocated.
 *
 * A model file carries its configuration (JSON in the safetensors metadata) and its tensors.
 * Building the model from the configuration alone lets a file of a few bytes ask for any
 * amount of memory (65,536 layers, a vocabulary of 2^27 rows). So a loader first derives,
 * arithmetically and without constructing anything, the parameter names and shapes the
 * options imply (a {@link ParameterLayout}), and compares them with the file's tensor table:
 * every expected tensor must be in the file with exactly that shape, and the file must hold no
 * other. Since the file's own size pays for every tensor it lists, a model built after the
 * check allocates no more than the file is worth (its parameters and their gradients).
 *
 * A model kind plugs in with a {@link ModelKind}: its format tag, a parser that validates the
 * options JSON (a malformed file is an Error saying which field is wrong and why), and the
 * layout function options → [name, shape] pairs. Language models are the first kind
 * (model-file.ts); checkpoints reuse the language model's layout.
 * (Internal to the package.)
 */
import { shapeString, show } from '../core/validate';
import { SafetensorsHeader } from './safetensors';

/** The parameters a model has, as [name, shape] pairs, produced lazily (the check stops early). */
export type ParameterLayout = Iterable<readonly [string, readonly number[]]>;

/** What a loader needs to know about one kind of model file. */
export interface ModelKind<Options> {
  /** The value of the file's `metadata.format`, e.g. "rnn-native/language-model@1". */
  readonly format: string;
  /**
   * Validates options parsed from the file's JSON and fills the defaults; `fail(msg)` throws
   * the file's Error (msg like `numLayers must be an integer in [1, 65536], found 1e9`).
   * Never allocates in proportion to the values it reads.
   */
  parseOptions(json: unknown, fail: (msg: string) => never): Options;
  /** The parameters a model with these options has, derived arithmetically. */
  layout(options: Options): ParameterLayout;
}

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function listNames(names: string[], max = 6): string {
  const shown = names.slice(0, max).map((n) => show(n));
  return names.length > max ? `${shown.join(', ')}, … (${names.length} in all)` : shown.join(', ');
}

/**
 * Compares a layout with a file's tensor table. Throws an Error
 * `${header.where}: ${what} do not match the tensors in the file: …` naming the first tensor
 * the options describe that the file lacks or holds with another shape, or the tensors the
 * file holds that the options do not describe. Stops at the first missing tensor, so a layout
 * of any length costs at most (the file's tensor count + 1) steps.
 *
 * @param what What the layout came from, for the message (e.g. "metadata.options").
 */
export function checkLayout(header: SafetensorsHeader, layout: ParameterLayout, what: string): void {
  const table = new Map(header.entries.map((e) => [e.name, e] as const));
  const fail = (msg: string): never => {
    const held = header.entries.reduce((n, e) => n + product(e.shape), 0);
    throw new Error(
      `${header.where}: ${what} do not match the tensors in the file: ${msg} ` +
        `(the file holds ${header.entries.length} tensor${header.entries.length === 1 ? '' : 's'} of ${held} values in all)`,
    );
  };
  const seen = new Set<string>();
  for (const [name, shape] of layout) {
    const e = table.get(name);
    if (e === undefined) return fail(`missing tensor ${show(name)} (they describe it with shape ${shapeString(shape)})`);
    if (seen.has(name)) fail(`they describe the tensor ${show(name)} twice`);
    if (!sameShape(e.shape, shape))
      fail(`they describe ${show(name)} with shape ${shapeString(shape)} (${product(shape)} values), the file holds shape ${shapeString(e.shape)}`);
    seen.add(name);
  }
  if (seen.size !== table.size) {
    const extra = header.entries.filter((e) => !seen.has(e.name)).map((e) => e.name);
    fail(`the file holds tensors they do not describe: ${listNames(extra)}`);
  }
}

/** The message helper of option parsers: `metadata.options.<field> must be <expected>, found <value>`. */
export function optionFailure(fail: (msg: string) => never, prefix: string): (field: string, expected: string, value: unknown) => never {
  return (field, expected, value) => fail(`${prefix}.${field} must be ${expected}, found ${showJson(value)}`);
}

/** Whether `v` is a plain JSON object (not an array, not null). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** How deeply arrays and objects nest in a JSON text (strings skipped), stopping past `limit`. */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // skip the string, escapes included
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/**
 * JSON.parse of a metadata string or small file, or the file's Error naming the field. The
 * text's size and nesting are bounded first: JSON.parse takes tens of seconds over 100 MB of
 * nested brackets, and error messages must not recurse into such values.
 */
export function parseJsonField(
  text: string | undefined, field: string, fail: (msg: string) => never, limits: { maxChars?: number; maxDepth?: number } = {},
): unknown {
  const { maxChars = Infinity, maxDepth = 8 } = limits;
  if (typeof text !== 'string') return fail(`${field} is missing`);
  if (text.length > maxChars) return fail(`${field} is ${text.length} characters long, more than the ${maxChars} it can be`);
  if (jsonDepth(text, maxDepth) > maxDepth) return fail(`${field} nests arrays or objects more than ${maxDepth} deep`);
  try {
    return JSON.parse(text);
  } catch (err) {
    return fail(`${field} is not valid JSON (${(err as Error).message})`);
  }
}

/** A short rendering of a parsed JSON value for a message, never recursing past one level. */
export function showJson(v: unknown): string {
  if (Array.isArray(v)) return v.length <= 8 && v.every((x) => x === null || typeof x !== 'object') ? show(v) : `an array of ${v.length} elements`;
  return show(v);
}
