// The package as users load it: require() and import of the repository root, with types.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');

describe('the package root', () => {
  it('require() gives the whole contract', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pkg = require(ROOT);
    for (const name of [
      'Tensor', 'Parameter', 'RNN', 'LSTM', 'GRU', 'Embedding', 'Linear', 'crossEntropy', 'clipGradNorm', 'clipGradValue',
      'SGD', 'Adam', 'AdamW', 'RMSprop', 'Adagrad', 'StepLR', 'MultiStepLR', 'ExponentialLR', 'CosineAnnealingLR',
      'CosineAnnealingWarmRestarts', 'LinearLR', 'OneCycleLR', 'LambdaLR', 'ReduceLROnPlateau', 'SequentialLR',
      'saveSafetensors', 'loadSafetensors', 'setNumThreads', 'getNumThreads', 'version', 'LanguageModel', 'fit',
    ])
      expect([name, typeof pkg[name]]).toEqual([name, name === 'version' ? 'object' : 'function']);
    for (const name of ['initProcessGroup', 'destroyProcessGroup', 'getRank', 'getWorldSize', 'allReduce', 'broadcast', 'barrier'])
      expect([name, typeof pkg.distributed[name]]).toEqual([name, 'function']);
    expect(pkg.version.package).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    expect(pkg.version.openblas).toMatch(/OpenBLAS \d+\.\d+/);
    expect(pkg.version.napi).toBeGreaterThanOrEqual(8);
  });

  it('import { … } from the root works in an ES module', () => {
    const code = `import { LSTM, Tensor, version } from ${JSON.stringify(ROOT + '/dist/index.js')};
      const out = new LSTM({ inputSize: 2, hiddenSize: 3 }).forward(Tensor.zeros([1, 1, 2])).output;
      console.log(JSON.stringify([out.shape, version.napi]));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([[1, 1, 3], expect.any(Number)]);
  });

  it('ships its types', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(fs.existsSync(path.join(ROOT, pkg.types))).toBe(true);
    expect(fs.readFileSync(path.join(ROOT, pkg.types), 'utf8')).toContain('LSTM');
  });

  it('its published types compile on their own (strict, no skipLibCheck: nothing they name was stripped as internal)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ts: typeof import('typescript') = require('typescript');
    const dts = fs.readdirSync(path.join(ROOT, 'dist'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.d.ts'))
      .map((f) => path.join(ROOT, 'dist', f));
    const program = ts.createProgram(dts, {
      strict: true, noEmit: true, skipLibCheck: false, types: ['node'], target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10,
    });
    const problems = ts.getPreEmitDiagnostics(program)
      .filter((d) => d.file && d.file.fileName.startsWith(path.join(ROOT, 'dist')))
      .map((d) => `${path.relative(ROOT, d.file!.fileName)}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    expect(problems).toEqual([]);
  });
});
