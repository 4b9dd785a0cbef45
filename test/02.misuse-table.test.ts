// docs/misuse.md, run: every row of its tables is a test. The Call is evaluated after a fresh
// copy of the page's prelude (its TypeScript, with the imports turned into requires of this
// package), and must throw (or, written with `await`, return a promise that rejects) an error
// whose name is the Throws column and whose message contains the fragment (`…` = any text).
// Errors are matched by name: those of the native binding come from another realm under jest.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import * as rnn from '../lib';

const PAGE = path.join(__dirname, '..', 'docs', 'misuse.md');
const AREAS = [
  'Tensors and autograd', 'Functional ops', 'Layers', 'Models', 'Optimizers, clipping and schedulers',
  'Files', 'Training', 'Data helpers', 'Runtime', 'Distributed',
];
const CLASSES = ['TypeError', 'RangeError', 'Error'];

interface Row {
  area: string;
  line: number;
  call: string;
  /** Written with `await`: the call must return a promise that rejects. */
  rejects: boolean;
  throws: string;
  fragment: string;
}

/** A markdown table row's cells (`\|` is a pipe inside a cell). */
function cells(line: string): string[] {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

const code = (cell: string): string | null => /^`([^`]+)`$/.exec(cell)?.[1] ?? null;

/** The page's prelude, its tables' rows, and what could not be parsed. */
function parse(text: string): { prelude: string; rows: Row[]; problems: string[]; areas: string[] } {
  const lines = text.split('\n');
  const rows: Row[] = [];
  const problems: string[] = [];
  const areas: string[] = [];
  let prelude = '';
  let area = '';
  let header = 0; // table lines seen in the current table: 0 none, 1 header, 2 separator
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const where = `docs/misuse.md:${i + 1}`;
    const heading = /^## (.+)$/.exec(line);
    if (heading) {
      area = heading[1].trim();
      header = 0;
      if (area === 'The prelude') {
        const start = lines.findIndex((l, k) => k > i && /^```ts\s*$/.test(l));
        const end = lines.findIndex((l, k) => k > start && /^```\s*$/.test(l));
        if (start < 0 || end < 0) problems.push(`${where}: the prelude has no \`\`\`ts block`);
        else prelude = lines.slice(start + 1, end).join('\n');
      }
      continue;
    }
    if (!line.startsWith('|')) {
      header = 0;
      continue;
    }
    const c = cells(line);
    if (header === 0) {
      if (c.join('|') !== 'Call|Throws|Message contains') problems.push(`${where}: a table must have the columns Call, Throws, Message contains`);
      if (!AREAS.includes(area)) problems.push(`${where}: a table under "${area}", which is not one of the areas`);
      else if (!areas.includes(area)) areas.push(area);
      header = 1;
      continue;
    }
    if (header === 1) {
      if (!c.every((s) => /^:?-{3,}:?$/.test(s))) problems.push(`${where}: the header must be followed by |---|---|---|`);
      header = 2;
      continue;
    }
    const [callCell, throws, fragmentCell] = c;
    const call = code(callCell ?? ''), fragment = code(fragmentCell ?? '');
    if (c.length !== 3 || call === null || fragment === null || !CLASSES.includes(throws)) {
      problems.push(`${where}: expected | \`call\` | ${CLASSES.join('/')} | \`message fragment\` |, found ${line}`);
      continue;
    }
    const rejects = call.startsWith('await ');
    rows.push({ area, line: i + 1, call: rejects ? call.slice('await '.length) : call, rejects, throws, fragment });
  }
  return { prelude, rows, problems, areas };
}

/** The prelude as a script: its imports become requires, its types are stripped. */
function preludeScript(prelude: string): string {
  const requires = prelude
    .replace(/import\s*\{([^}]*)\}\s*from\s*'rnn-native';/, (_m, names: string) => `const {${names.replace(/\bas\b/g, ':')}} = require('rnn-native');`)
    .replace(/import \* as (\w+) from '([^']+)';/g, "const $1 = require('$2');");
  if (/^\s*import\b/m.test(requires)) throw new Error('the prelude has an import this test cannot turn into a require');
  return ts.transpileModule(requires, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS } }).outputText;
}

/** The fragment as a pattern: literal text, with `…` standing for any text. */
function pattern(fragment: string): RegExp {
  return new RegExp(fragment.split('…').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*'));
}

type Outcome = { how: 'threw' | 'rejected'; error: unknown } | { how: 'returned' | 'returned a promise' | 'resolved' };

/** Runs one call after a fresh prelude (whose temporary folder is removed after). */
async function run(script: string, row: Row): Promise<Outcome> {
  const requireHere = (m: string): unknown => (m === 'rnn-native' ? rnn : require(m));
  const env = new Function('require', `${script}\nreturn { tmp, call: () => (${row.call}\n) };`)(requireHere) as { tmp: string; call: () => unknown };
  try {
    let result: unknown;
    try {
      result = env.call();
    } catch (error) {
      return { how: 'threw', error };
    }
    if (result === null || typeof (result as Promise<unknown>)?.then !== 'function') return { how: 'returned' };
    if (!row.rejects) {
      (result as Promise<unknown>).catch(() => {}); // reported as the wrong outcome, not as an unhandled rejection
      return { how: 'returned a promise' };
    }
    try {
      await result;
    } catch (error) {
      return { how: 'rejected', error };
    }
    return { how: 'resolved' };
  } finally {
    fs.rmSync(env.tmp, { recursive: true, force: true });
  }
}

const page = parse(fs.readFileSync(PAGE, 'utf8'));

describe('docs/misuse.md', () => {
  it('parses: a prelude, a table per area, rows of | `call` | class | `fragment` |', () => {
    expect(page.problems).toEqual([]);
    expect(page.prelude).toMatch(/from 'rnn-native'/);
    expect(page.areas).toEqual(AREAS);
    expect(page.rows.length).toBeGreaterThanOrEqual(120);
    for (const area of AREAS) expect(page.rows.filter((r) => r.area === area).length).toBeGreaterThan(0);
    const seen = new Set<string>();
    const repeated = page.rows.filter((r) => seen.size === seen.add(`${r.area}\n${r.call}`).size).map((r) => `${r.line}: ${r.call}`);
    expect(repeated).toEqual([]); // a test is named by its call
  });
});

const script = page.prelude ? preludeScript(page.prelude) : '';

for (const area of AREAS) {
  const rows = page.rows.filter((r) => r.area === area);
  if (rows.length === 0) continue;
  describe(`misuse: ${area}`, () => {
    it.each(rows.map((r) => [`${r.rejects ? 'await ' : ''}${r.call}`, r] as const))('%s', async (_name, row) => {
      const outcome = await run(script, row);
      const expected = row.rejects ? 'rejected' : 'threw';
      const error = 'error' in outcome ? (outcome.error as { name?: unknown; message?: unknown } | null) : null;
      expect({ how: outcome.how, name: error?.name, isError: typeof error?.message === 'string' }).toEqual({ how: expected, name: row.throws, isError: true });
      expect(String(error!.message)).toMatch(pattern(row.fragment));
    });
  });
}
