// Every TypeScript snippet of the README and docs/ compiles under strict TypeScript against
// the package's published types, and runs. A snippet may be preceded by an HTML comment (not
// shown on the rendered page) giving what it assumes:
//   <!-- prelude: const targets = new Int32Array(400); -->   code run before it
//   <!-- snippet: compile-only -->                          compiled, not run
//   <!-- snippet: skip -->                                  neither (a fragment, a signature)
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..');

interface Snippet {
  file: string;
  line: number;
  code: string;
  prelude: string;
  run: boolean;
}

function snippets(): Snippet[] {
  const files = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const out: Snippet[] = [];
  for (const file of files) {
    const lines = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!/^```(ts|typescript)\s*$/.test(lines[i])) continue;
      const body: string[] = [];
      let j = i + 1;
      for (; j < lines.length && !/^```\s*$/.test(lines[j]); j++) body.push(lines[j]);
      let k = i - 1;
      while (k >= 0 && lines[k].trim() === '') k--;
      const note = k >= 0 ? /^<!--\s*(prelude:|snippet:)\s*([\s\S]*?)\s*-->$/.exec(lines[k].trim()) : null;
      const skip = note?.[1] === 'snippet:' && note[2] === 'skip';
      if (!skip)
        out.push({
          file, line: i + 1, code: body.join('\n'),
          prelude: note?.[1] === 'prelude:' ? note[2] : '',
          run: !(note?.[1] === 'snippet:' && note[2] === 'compile-only'),
        });
      i = j;
    }
  }
  return out;
}

const all = snippets();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-snippets-'));
fs.mkdirSync(path.join(dir, 'node_modules'));
fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'rnn-native'));
const sources = all.map((s, n) => {
  const src = path.join(dir, `snippet${n}.ts`);
  fs.writeFileSync(src, `${s.prelude}\n${s.code}\nexport {};\n`);
  return src;
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('documentation snippets', () => {
  it('there are snippets to check (README and docs/)', () => {
    expect(all.filter((s) => s.file === 'README.md').length).toBeGreaterThanOrEqual(3);
  });

  it('every snippet compiles with tsc --strict against the published types', () => {
    const program = ts.createProgram(sources, {
      strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022,
      moduleResolution: ts.ModuleResolutionKind.Node10, types: ['node'], skipLibCheck: true,
      baseUrl: dir, paths: { 'rnn-native': [path.join(ROOT, 'dist', 'index.d.ts')] },
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const n = d.file ? sources.indexOf(d.file.fileName) : -1;
      const where = n >= 0 ? `${all[n].file}:${all[n].line}` : d.file?.fileName ?? '';
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
  });

  it.each(all.map((s, n) => [`${s.file}:${s.line}`, n] as const).filter(([, n]) => all[n].run))('%s runs', (_where, n) => {
    const js = ts.transpileModule(fs.readFileSync(sources[n], 'utf8'), {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 },
    }).outputText;
    const work = fs.mkdtempSync(path.join(dir, 'run-'));
    const file = path.join(work, 'snippet.mjs');
    fs.writeFileSync(file, js);
    fs.symlinkSync(path.join(dir, 'node_modules'), path.join(work, 'node_modules'));
    execFileSync(process.execPath, [file], { cwd: work, stdio: 'pipe', timeout: 120_000 });
  });
});
