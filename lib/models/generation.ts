/**
 * What a generation request asks for, checked once (its plan), and how a plan becomes the
 * per-row sampling settings the native decode step reads. Shared by LanguageModel.generate,
 * generateAsync and the batching scheduler, so that a request is the same request whichever
 * path runs it. (Internal to the package.)
 */
import { defaultGenerator, Generator } from '../core/random';
import {
  checkBoolean, checkInt32Array, checkInteger, checkKnownOptions, checkNumber, checkOptions, rangeError, typeError,
} from '../core/validate';
import type { SamplingOptions } from './sampling';

export interface GenerateOptions extends SamplingOptions {
  /** Token ids to condition on (fed before sampling starts). */
  prompt?: Int32Array;
  /** Maximum number of tokens to generate (not counting the prompt). */
  maxLength: number;
  /** Generation stops after emitting this id (default 0, the Vocabulary's <eos>); -1 never stops early. */
  endToken?: number;
  /** Seed for sampling; by default the library's default generator is used. */
  seed?: number;
}

/** generateAsync's options: generate's, plus cancellation and streaming. */
export interface GenerateAsyncOptions extends GenerateOptions {
  /** Aborting rejects the promise (with the signal's reason) and frees the request's batch slot at the next step. */
  signal?: AbortSignal;
  /**
   * Called with each token as it is produced (`index` counts from 0), before the promise
   * resolves with all of them. If it throws, the request stops and rejects with that error.
   */
  onToken?: (token: number, index: number) => void;
}

export const GENERATE_KEYS = ['prompt', 'maxLength', 'endToken', 'seed', 'greedy', 'temperature', 'topK', 'topP'];
export const GENERATE_ASYNC_KEYS = [...GENERATE_KEYS, 'signal', 'onToken'];

/** A checked request. */
export interface GenerationPlan {
  prompt: Int32Array;
  maxLength: number;
  endToken: number;
  sampling: SamplingOptions;
  generator: Generator;
}

/** Checks generate's options against a vocabulary of V tokens. */
export function generationPlan(ctx: string, opts: GenerateOptions, V: number, known = GENERATE_KEYS): GenerationPlan {
  if (opts === undefined) throw typeError(ctx, 'opts', 'an options object with maxLength', opts);
  const o = checkOptions<GenerateOptions>(ctx, 'opts', opts);
  checkKnownOptions(ctx, o, known);
  const maxLength = checkInteger(ctx, 'maxLength', o.maxLength, 0);
  const endToken = checkInteger(ctx, 'endToken', o.endToken === undefined ? 0 : o.endToken, -1, V - 1);
  const sampling = checkSampling(ctx, o, V);
  const generator = o.seed === undefined ? defaultGenerator : new Generator(checkInteger(ctx, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER));
  const prompt = o.prompt === undefined ? Int32Array.of(endToken >= 0 ? endToken : 0) : checkInt32Array(ctx, 'prompt', o.prompt);
  if (prompt.length === 0) throw new RangeError(`${ctx}: prompt must hold at least one token`);
  prompt.forEach((t, i) => {
    if (t < 0 || t >= V) throw rangeError(ctx, `prompt[${i}]`, `a token id in [0, ${V})`, t);
  });
  // A copy: the request may wait in a queue, and the caller may reuse its array meanwhile.
  return { maxLength, endToken, sampling, generator, prompt: prompt.slice() };
}

function checkSampling(ctx: string, o: Partial<GenerateOptions>, V: number): SamplingOptions {
  const s: SamplingOptions = {};
  if (o.greedy !== undefined) s.greedy = checkBoolean(ctx, 'greedy', o.greedy);
  if (o.temperature !== undefined) s.temperature = checkNumber(ctx, 'temperature', o.temperature, { min: 0, minExclusive: true });
  if (o.topK !== undefined) s.topK = checkInteger(ctx, 'topK', o.topK, 1, V);
  if (o.topP !== undefined) s.topP = checkNumber(ctx, 'topP', o.topP, { min: 0, max: 1, minExclusive: true });
  return s;
}

/** Values per row of the native step's sampling settings: [greedy 0|1, temperature, topK (0: all), topP, u]. */
export const SPEC_WIDTH = 5;

/**
 * Writes row `row` of specs (B, 5) for the next token of a request, drawing its uniform from
 * the request's generator — one draw per sampled token, none for greedy, as sampleToken draws.
 */
export function writeSpec(specs: Float64Array, row: number, plan: GenerationPlan): void {
  const s = plan.sampling;
  const at = row * SPEC_WIDTH;
  const greedy = s.greedy === true;
  specs[at] = greedy ? 1 : 0;
  specs[at + 1] = s.temperature ?? 1;
  specs[at + 2] = s.topK ?? 0;
  specs[at + 3] = s.topP ?? 1;
  specs[at + 4] = greedy ? 0 : plan.generator.uniform();
}
