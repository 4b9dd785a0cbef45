'use strict';
// Request bodies of the example server, checked field by field into the library's options.
// Every mistake is a 400 that names the field, what it must be and what arrived; the
// library's own TypeError/RangeError (which also name the argument) are the last line.
const { HttpError } = require('./http');

const show = (v) => (typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : Array.isArray(v) ? `an array of ${v.length}` : JSON.stringify(v));
const bad = (field, what, v) => new HttpError(400, `"${field}" must be ${what}, received ${show(v)}`);

function unknownFields(body, known) {
  const extra = Object.keys(body).filter((k) => !known.includes(k));
  if (extra.length) throw new HttpError(400, `unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => `"${k}"`).join(', ')}; known: ${known.join(', ')}`);
}
function int(body, field, lo, hi) {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw bad(field, `an integer in [${lo}, ${hi}]`, v);
  return v;
}
function number(body, field, test, what) {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || !test(v)) throw bad(field, what, v);
  return v;
}
function bool(body, field) {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw bad(field, 'true or false', v);
  return v;
}
function text(body, field, maxChars) {
  const v = body[field];
  if (typeof v !== 'string' || v.length === 0 || v.length > maxChars) throw bad(field, `a string of 1 to ${maxChars} characters`, v);
  return v;
}

const GENERATE_FIELDS = ['prompt', 'promptIds', 'maxLength', 'temperature', 'topK', 'topP', 'greedy', 'seed', 'endToken', 'stream'];

/**
 * POST /generate → { options for generateAsync, stream }. `prompt` is text (encoded with the
 * vocabulary) or `promptIds` token ids; neither: the model's end token starts the text.
 */
function generateRequest(body, { vocabulary, vocabSize, maxLength: limit, maxPromptChars }) {
  unknownFields(body, GENERATE_FIELDS);
  const opts = {};
  if (body.prompt !== undefined && body.promptIds !== undefined) throw new HttpError(400, 'give "prompt" (text) or "promptIds" (token ids), not both');
  if (body.prompt !== undefined) {
    if (!vocabulary) throw new HttpError(400, 'this model has no vocabulary: send "promptIds" (token ids) instead of "prompt"');
    opts.prompt = vocabulary.encode(text(body, 'prompt', maxPromptChars));
  } else if (body.promptIds !== undefined) {
    const ids = body.promptIds;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > maxPromptChars || !ids.every((t) => Number.isInteger(t) && t >= 0 && t < vocabSize))
      throw bad('promptIds', `an array of 1 to ${maxPromptChars} token ids in [0, ${vocabSize})`, ids);
    opts.prompt = Int32Array.from(ids);
  }
  opts.maxLength = int(body, 'maxLength', 1, limit) ?? Math.min(100, limit);
  const t = number(body, 'temperature', (v) => v > 0, 'a number > 0');
  if (t !== undefined) opts.temperature = t;
  const k = int(body, 'topK', 1, vocabSize);
  if (k !== undefined) opts.topK = k;
  const p = number(body, 'topP', (v) => v > 0 && v <= 1, 'a number in (0, 1]');
  if (p !== undefined) opts.topP = p;
  const g = bool(body, 'greedy');
  if (g !== undefined) opts.greedy = g;
  const seed = int(body, 'seed', 0, Number.MAX_SAFE_INTEGER);
  if (seed !== undefined) opts.seed = seed;
  const end = int(body, 'endToken', -1, vocabSize - 1);
  if (end !== undefined) opts.endToken = end;
  return { opts, stream: bool(body, 'stream') ?? false };
}

const TRANSLATE_FIELDS = ['source', 'sources', 'mode', 'beamSize', 'maxLength', 'lengthPenalty', 'temperature', 'topK', 'topP', 'seed'];

/** POST /translate → { sources (ids), opts for translateAsync }. `source` is one text, `sources` several. */
function translateRequest(body, { sourceVocabulary, targetVocabSize, maxLength: limit, maxPromptChars, maxSources }) {
  unknownFields(body, TRANSLATE_FIELDS);
  if ((body.source === undefined) === (body.sources === undefined)) throw new HttpError(400, 'give "source" (one text) or "sources" (an array of texts), exactly one of them');
  let texts;
  if (body.source !== undefined) texts = [text(body, 'source', maxPromptChars)];
  else {
    const s = body.sources;
    if (!Array.isArray(s) || s.length === 0 || s.length > maxSources || !s.every((x) => typeof x === 'string' && x.length > 0 && x.length <= maxPromptChars))
      throw bad('sources', `an array of 1 to ${maxSources} strings of 1 to ${maxPromptChars} characters`, s);
    texts = s;
  }
  const opts = {};
  if (body.mode !== undefined) {
    if (!['greedy', 'beam', 'sample'].includes(body.mode)) throw bad('mode', '"greedy", "beam" or "sample"', body.mode);
    opts.mode = body.mode;
  }
  const fields = {
    beamSize: int(body, 'beamSize', 1, 16),
    maxLength: int(body, 'maxLength', 1, limit),
    lengthPenalty: number(body, 'lengthPenalty', (v) => v >= 0, 'a number ≥ 0'),
    temperature: number(body, 'temperature', (v) => v > 0, 'a number > 0'),
    topK: int(body, 'topK', 1, targetVocabSize),
    topP: number(body, 'topP', (v) => v > 0 && v <= 1, 'a number in (0, 1]'),
    seed: int(body, 'seed', 0, Number.MAX_SAFE_INTEGER),
  };
  for (const [name, v] of Object.entries(fields)) if (v !== undefined) opts[name] = v;
  return { texts, sources: texts.map((t) => sourceVocabulary.encode(t)), opts };
}

module.exports = { generateRequest, translateRequest, GENERATE_FIELDS, TRANSLATE_FIELDS };
