#!/usr/bin/env node
// rnn-native against ONNX Runtime (onnxruntime-node), the same LSTMs with the same weights:
// the 2-layer bidirectional LSTM of the `bilstm` task (sequences/s) and the fastrnns LSTM
// of `fastrnns-fwd` (ms per forward), sizes from bench/config.json, at B 64 and at B 1.
//
//   node bench/run.js onnx                   # the usual way: updates bench/RESULTS.md's section
//   node bench/onnx/bench.js [--smoke] [--reps N] [--out FILE.md] [--json FILE]
//                            [--ort-threads 1,2] [--threads N] [--python EXE] [--cache DIR]
//   node bench/onnx/bench.js --check-only    # steps 1–3 only: install, export, output agreement
//
// 1. onnxruntime-node (the version bench/onnx/package.json pins) is installed into
//    bench/onnx/node_modules on first use, with ONNXRUNTIME_NODE_INSTALL=skip (the CPU build
//    the npm package carries; its install script would otherwise fetch GPU libraries). It is
//    never a dependency of rnn-native.
// 2. Our layers are made from a seed and saved as safetensors (worker.js weights), loaded into
//    torch.nn.LSTM and exported with torch.onnx.export (export_lstm.py, under Debian's
//    PyTorch 1.13, else the 2.x venv's), into a cache folder (default: $TMPDIR/rnn-native-bench-onnx);
//    they are regenerated on every run. Without a PyTorch that can export, the group is
//    skipped with a line saying why.
// 3. The outputs are checked against each other (worker.js check): max |ours − ORT| of the
//    output, h_n and c_n on each workload's input, printed and reported.
// 4. Timing: one process for ours (LSTM.forward in eval mode, and forwardAsync awaited one call
//    at a time) and one per ORT thread setting (InferenceSession.run awaited, intraOpNumThreads
//    1 and 2). Each contestant warms up (which also sizes a repetition to about
//    targetRepSeconds), then the repetitions alternate: one repetition of each contestant in
//    turn, the order rotated every round, so that both sides meet the same phases of a shared
//    machine. Medians [min–max] of the repetitions are reported, and ours ÷ the best ORT.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync, fork } = require('node:child_process');
const { parseArgs } = require('node:util');

const HERE = __dirname;
const ROOT = path.resolve(HERE, '..', '..');
const CONFIG = require('../config.json');
const PINNED = require('./package.json').dependencies['onnxruntime-node'];

const { values: opts } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    reps: { type: 'string' },
    warmup: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'string' },
    'ort-threads': { type: 'string', default: '1,2' },
    threads: { type: 'string' },
    python: { type: 'string' },
    cache: { type: 'string' },
    'no-torch': { type: 'boolean', default: false },
    'check-only': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  console.log(fs.readFileSync(__filename, 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
  process.exit(0);
}

const log = (msg) => process.stderr.write(`${msg}\n`);
const size = opts.smoke ? 'smoke' : 'full';
const cfg = CONFIG.onnx[size];
const timing = {
  warmup: Number(opts.warmup || cfg.warmup),
  reps: Number(opts.reps || cfg.reps),
  targetRepSeconds: cfg.targetRepSeconds,
};
const ortThreads = opts['ort-threads'].split(',').map(Number).filter((n) => n >= 1);
const cacheDir = opts.cache || path.join(os.tmpdir(), 'rnn-native-bench-onnx');
const SECTION = 'ONNX Runtime';

// ---- results file -------------------------------------------------------------------------

/** Writes the section (markdown) to --out and the raw data to --json, prints the text. */
function finish({ markdown, text, data, code }) {
  if (text) console.log(text);
  if (opts.out) fs.writeFileSync(opts.out, markdown);
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(data || {}, null, 1));
  process.exitCode = code || 0;
}
/** The group cannot run here: one line saying why, in the report too; not a failure. */
function skip(reason) {
  log(`onnx: skipped: ${reason}`);
  finish({ markdown: `## ${SECTION}\n\nskipped: ${reason}.\n`, text: `== ${SECTION}\nskipped: ${reason}.`, data: { skipped: reason } });
}
function fail(reason) {
  log(`onnx: FAILED: ${reason}`);
  finish({ markdown: `## ${SECTION}\n\nfailed: ${reason}\n`, text: `== ${SECTION}\nfailed: ${reason}`, data: { failed: reason }, code: 1 });
}

// ---- 1. onnxruntime-node ------------------------------------------------------------------

function installedOrtVersion() {
  try {
    return JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}
function ensureOrt() {
  const have = installedOrtVersion();
  if (have === PINNED) return { version: have };
  log(`onnx: installing onnxruntime-node ${PINNED} into bench/onnx/node_modules${have ? ` (found ${have})` : ''} …`);
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: HERE,
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
    encoding: 'utf8',
    timeout: 600000,
  });
  const got = installedOrtVersion();
  if (r.status !== 0 || got !== PINNED) {
    const said = (r.stderr || '').trim().split('\n').filter((l) => l.trim() && !/complete log of this run/.test(l));
    const why = (r.error && r.error.message) || said.slice(0, 2).join(' | ') || `exit ${r.status}`;
    return { reason: `onnxruntime-node ${PINNED} could not be installed into bench/onnx (npm install: ${why.slice(0, 300)})` };
  }
  return { version: got, installed: true };
}

// ---- 2. weights and export ----------------------------------------------------------------

/** Interpreters to try for the export, first that works wins. */
function pythonCandidates() {
  if (opts.python) return [opts.python];
  const c = [process.env.BENCH_ONNX_PYTHON, process.env.BENCH_PYTHON || '/usr/bin/python3', process.env.BENCH_TORCH2_PYTHON, '/opt/torch2-venv/bin/python'];
  return [...new Set(c.filter(Boolean))];
}
function runJsonLine(cmd, args, extra = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 600000, ...extra });
  const lines = (r.stdout || '').trim().split('\n').filter((l) => l.startsWith('{'));
  let parsed = null;
  try {
    parsed = lines.length ? JSON.parse(lines[lines.length - 1]) : null;
  } catch {
    parsed = null;
  }
  if (r.status === 0 && parsed && parsed.ok !== false && !parsed.error) return parsed;
  const errLines = (r.stderr || '').trim().split('\n').filter((l) => l.trim());
  const why = (parsed && (parsed.message || parsed.error)) || (r.error && r.error.message) || errLines.find((l) => /Error/.test(l)) || errLines.slice(-1)[0] || `exit ${r.status}`;
  return { error: String(why).slice(0, 400) };
}

function modelSpecs() {
  const b = CONFIG.bilstm[size];
  const f = CONFIG.fastrnns[size];
  // fastrnns: bench/workloads.js's fastrnns task runs one layer (nn.LSTM(I, H), as PyTorch's fastrnns default)
  const models = [
    { name: 'bilstm', title: `${b.L}-layer bidirectional LSTM, I = H = ${b.H}, T ${b.T}`, I: b.I, H: b.H, L: b.L, bidirectional: true, T: b.T, seed: 1 },
    { name: 'fastrnns', title: `fastrnns LSTM forward (1 layer), I = H = ${f.H}, T ${f.T}`, I: f.I, H: f.H, L: 1, bidirectional: false, T: f.T, seed: 2 },
  ];
  for (const m of models) {
    const stem = `lstm-I${m.I}-H${m.H}-L${m.L}${m.bidirectional ? '-bi' : ''}-seed${m.seed}`;
    m.weights = path.join(cacheDir, `${stem}.safetensors`);
    m.onnx = path.join(cacheDir, `${stem}.onnx`);
  }
  // the batch sizes: the tasks' own (64) and 1
  const batches = [...new Set([b.B, ...cfg.extraBatches])];
  if (f.B !== b.B) throw new Error('bench/config.json: bilstm and fastrnns batch sizes differ; bench/onnx assumes one');
  return { models, batches };
}

// ---- 4. timing ----------------------------------------------------------------------------

/** A forked timing process; `ask(msg)` resolves with its next reply. */
function startServer(specFile, side, extraArgs, label) {
  const child = fork(path.join(HERE, 'worker.js'), ['serve', specFile, side, ...extraArgs], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let pending = null;
  child.on('message', (m) => {
    const p = pending;
    pending = null;
    if (p) m.ok ? p.resolve(m) : p.reject(new Error(`${label}: ${m.error}`));
  });
  child.on('exit', (code, signal) => {
    if (pending) pending.reject(new Error(`${label} exited (${signal || code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    pending = null;
  });
  const next = () => new Promise((resolve, reject) => (pending = { resolve, reject }));
  const ready = next();
  return {
    label,
    child,
    ready,
    ask(msg) {
      const p = next();
      child.send(msg);
      return p;
    },
    quit() {
      if (child.connected) child.send({ op: 'quit' });
    },
  };
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Between two repetitions: ORT's intra-op workers spin for about 35 ms after a run (measured
// here: the process's CPU time grows for ~35 ms of idleness, then stops); ours for 0.2 ms.
const PAUSE_MS = 100;

const { stats, fmt, fmtStat } = require('../common');
const fmtExp = (v) => (v === 0 ? '0' : v.toExponential(1));

async function main() {
  const t0 = Date.now();
  const loadBefore = os.loadavg();
  if (!CONFIG.onnx) return fail('bench/config.json has no "onnx" entry');
  if (opts['no-torch']) return skip('--no-torch: the models are exported by PyTorch (torch.onnx.export)');

  const o = ensureOrt();
  if (!o.version) return skip(o.reason);
  log(`onnx: onnxruntime-node ${o.version}${o.installed ? ' (installed now)' : ''}`);

  fs.mkdirSync(cacheDir, { recursive: true });
  const { models, batches } = modelSpecs();
  const spec = { models, batches, timing };
  const specFile = path.join(cacheDir, `spec-${process.pid}.json`);
  fs.writeFileSync(specFile, JSON.stringify(spec, null, 1));
  const cleanup = () => fs.rmSync(specFile, { force: true });
  const ourArgs = opts.threads ? ['--threads', opts.threads] : [];

  try {
    // weights from our seeds
    const w = runJsonLine(process.execPath, [path.join(HERE, 'worker.js'), 'weights', specFile, ...ourArgs]);
    if (w.error) return fail(`making the weights: ${w.error}`);

    // export: the first interpreter whose torch can
    let exporter = null;
    const tried = [];
    for (const py of pythonCandidates()) {
      if (!fs.existsSync(py)) {
        tried.push(`${py}: missing`);
        continue;
      }
      const results = [];
      for (const m of models) {
        const r = runJsonLine(py, [path.join(HERE, 'export_lstm.py'), '--weights', m.weights, '--out', m.onnx, '--input-size', String(m.I), '--hidden-size', String(m.H), '--layers', String(m.L), ...(m.bidirectional ? ['--bidirectional'] : [])], { env: { ...process.env, OMP_NUM_THREADS: '1' } });
        if (r.error) {
          tried.push(`${py}: ${r.error.replace(/\s+/g, ' ').slice(0, 160)}`);
          break;
        }
        results.push(r);
      }
      if (results.length === models.length) {
        exporter = results[0];
        models.forEach((m, i) => (m.onnxBytes = results[i].bytes));
        break;
      }
    }
    if (!exporter) return skip(`no PyTorch could export the models (torch.onnx.export): ${tried.join('; ')}`);
    log(`onnx: exported with PyTorch ${exporter.torch} (${exporter.exe}), opset ${exporter.opset}, into ${cacheDir}`);
    fs.writeFileSync(specFile, JSON.stringify(spec, null, 1));

    // agreement
    const check = runJsonLine(process.execPath, [path.join(HERE, 'worker.js'), 'check', specFile, ...ourArgs]);
    if (check.error) return fail(`checking the outputs: ${check.error}`);
    for (const c of check.results) {
      log(`onnx: ${c.id}: max |ours − ORT| output ${fmtExp(c.diff.output)}, h_n ${fmtExp(c.diff.h_n)}, c_n ${fmtExp(c.diff.c_n)} (max |output| ${fmt(c.maxAbs.output)}); ours async vs sync ${fmtExp(c.asyncVsSync)}`);
      if (!c.shapeOk) return fail(`${c.id}: ORT's output shapes differ from ours`);
    }
    const worst = Math.max(...check.results.flatMap((c) => [c.diff.output, c.diff.h_n, c.diff.c_n]));
    if (!(worst < 1e-3)) return fail(`the outputs disagree: max |ours − ORT| ${worst} (expected ~1e-6)`);
    if (opts['check-only']) return finish({ text: `outputs agree: max |ours − ORT| ${fmtExp(worst)} over every workload and output`, markdown: '', data: { check: check.results } });

    // timing
    const servers = [startServer(specFile, 'ours', ourArgs, 'rnn-native'), ...ortThreads.map((n) => startServer(specFile, 'ort', ['--ort-threads', String(n), ...ourArgs], `ORT ${n}t`))];
    const ready = await Promise.all(servers.map((s) => s.ready));
    const oursInfo = ready[0].info;
    const contestants = [
      { key: 'sync', label: 'ours sync', server: servers[0] },
      { key: 'async', label: 'ours async', server: servers[0] },
      ...ortThreads.map((n, i) => ({ key: 'ort', label: `ORT ${n}t`, threads: n, server: servers[1 + i] })),
    ];
    const results = {};
    try {
      for (const m of models)
        for (const B of batches) {
          const id = `${m.name}-B${B}`;
          const per = (results[id] = { model: m.name, B, samples: {} });
          const iters = {};
          for (const c of contestants) {
            const r = await c.server.ask({ op: 'warm', id, contestant: c.key });
            iters[c.label] = r.iters;
            per.samples[c.label] = [];
            await sleep(PAUSE_MS);
          }
          per.iters = iters;
          process.stderr.write(`onnx: ${id} (${timing.reps} rounds of ${contestants.map((c) => c.label).join(', ')}) `);
          for (let round = 0; round < timing.reps; round++) {
            // rotate the order every round
            for (let k = 0; k < contestants.length; k++) {
              const c = contestants[(k + round) % contestants.length];
              const r = await c.server.ask({ op: 'sample', id, contestant: c.key, iters: iters[c.label] });
              per.samples[c.label].push(r.seconds);
              await sleep(PAUSE_MS); // the last one's spinning threads go to sleep
            }
            process.stderr.write('.');
          }
          process.stderr.write('\n');
        }
    } finally {
      servers.forEach((s) => s.quit());
    }
    const loadAfter = os.loadavg();
    const seconds = (Date.now() - t0) / 1000;
    const report = buildReport({ models, batches, contestants, results, check: check.results, exporter, ort: o.version, oursInfo, loadBefore, loadAfter, seconds });
    finish({ ...report, data: { models, batches, timing, exporter, ort: o.version, ours: oursInfo, check: check.results, results, loadBefore, loadAfter } });
  } finally {
    cleanup();
  }
}

function buildReport({ models, batches, contestants, results, check, exporter, ort, oursInfo, loadBefore, loadAfter, seconds }) {
  const ortLabels = contestants.filter((c) => c.key === 'ort').map((c) => c.label);
  const header = ['workload', 'B', 'unit', 'ours sync', 'ours async', ...ortLabels, 'ours sync ÷ best ORT', 'ours async ÷ best ORT', 'GFLOP/s: ours sync, best ORT'];
  const rows = [];
  for (const m of models)
    for (const B of batches) {
      const r = results[`${m.name}-B${B}`];
      // bilstm: sequences/s (higher is better); fastrnns: ms per forward (lower is better)
      const perSec = m.name === 'bilstm';
      const unit = perSec ? 'sequences/s' : 'ms per forward';
      const conv = (s) => (perSec ? B / s : s * 1e3);
      const st = Object.fromEntries(Object.entries(r.samples).map(([k, v]) => [k, stats(v.map(conv))]));
      const bestOrt = ortLabels.map((l) => ({ l, s: st[l] })).sort((a, b) => (perSec ? b.s.median - a.s.median : a.s.median - b.s.median))[0];
      const ratio = (s) => (perSec ? s.median / bestOrt.s.median : bestOrt.s.median / s.median);
      // and the median over rounds of the ratio within a round (the samples of one round were taken back to back)
      const paired = (label) => stats(r.samples[label].map((s, i) => r.samples[bestOrt.l][i] / s)).median;
      rows.push([m.name === 'bilstm' ? `bi-LSTM ${m.L}×${m.H}` : `fastrnns LSTM ${m.H}`, String(B), unit, fmtStat(st['ours sync']), fmtStat(st['ours async']),
        ...ortLabels.map((l) => fmtStat(st[l])),
        `${ratio(st['ours sync']).toFixed(2)}× (vs ${bestOrt.l}; per round ${paired('ours sync').toFixed(2)}×)`,
        `${ratio(st['ours async']).toFixed(2)}× (vs ${bestOrt.l}; per round ${paired('ours async').toFixed(2)}×)`,
        `${fmt(gemmFlops(m, B) / stats(r.samples['ours sync']).median / 1e9)}, ${fmt(gemmFlops(m, B) / stats(r.samples[bestOrt.l]).median / 1e9)}`]);
    }
  const checkHeader = ['workload', 'max |ours − ORT| output', 'h_n', 'c_n', 'max |output|', 'ours async vs sync'];
  const checkRows = check.map((c) => [c.id, fmtExp(c.diff.output), fmtExp(c.diff.h_n), fmtExp(c.diff.c_n), fmt(c.maxAbs.output), fmtExp(c.asyncVsSync)]);
  const cpu = (os.cpus()[0] || {}).model || 'unknown';
  const busy = loadBefore[0] > 0.7 || loadAfter[0] > 2.5;
  const v = oursInfo.version || {};
  const md = [
    `## ${SECTION}`,
    '',
    `rnn-native against onnxruntime-node ${ort} (\`bench/onnx/bench.js\`; \`node bench/run.js onnx\`), the same LSTMs with the same weights: ours made from a seed,`,
    `saved as safetensors, loaded into torch.nn.LSTM and exported by torch.onnx.export (PyTorch ${exporter.torch}, opset ${exporter.opset}, T and B dynamic axes: one ONNX LSTM node per layer).`,
    'One process for ours and one per ORT thread setting; each warms up, then the repetitions alternate — one of each contestant in turn, the order rotated every round —',
    `${timing.reps} repetitions of about ${timing.targetRepSeconds} s each; median [min–max]. Ratios: above 1 ours is faster (throughputs divided, times inverted), against ORT's better thread setting: of the medians, and the median over rounds of each round's own ratio.`,
    '',
    '| | |',
    '| --- | --- |',
    `| machine | ${cpu}, ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version} |`,
    `| rnn-native | ${v.package}, ${v.openblas}; ${oursInfo.threads} threads (${opts.threads ? '--threads' : 'the library default'}); sync: \`LSTM.forward\` in eval mode; async: \`await LSTM.forwardAsync\`, one call at a time (libuv's pool; the event loop stays free) |`,
    `| ONNX Runtime | onnxruntime-node ${ort} (the npm package's CPU build), CPU execution provider; \`InferenceSession.create\` with intraOpNumThreads ${ortThreads.join(' and ')} (each its own process), interOpNumThreads 1, executionMode sequential, graphOptimizationLevel all, spinning at its default (on); \`await session.run(feeds)\` (its only API: the promise runs the model on the main thread, in a setImmediate callback, so the event loop is blocked for the whole run) |`,
    `| load average | ${loadBefore.map((x) => x.toFixed(2)).join(', ')} before, ${loadAfter.map((x) => x.toFixed(2)).join(', ')} after; ${seconds.toFixed(0)} s |`,
    ...(busy ? ['', '> **Warning:** the machine was not idle (load average above): the figures are low and noisy, the 2-thread ones most.'] : []),
    ...(opts.smoke ? ['', '> **Smoke** sizes: these numbers mean nothing.'] : []),
    '',
    mdTable(header, rows),
    '',
    'GFLOP/s: the forward\'s GEMM FLOPs (2·T·B·4H·(I + H) per layer and direction) over the median time; the machine\'s 2-thread SGEMM rate is in the "Machine SGEMM rate" table (when that group ran).',
    '',
    'Output agreement (float32, on each workload\'s input; ours sync against ORT 1t):',
    '',
    mdTable(checkHeader, checkRows),
    '',
  ].join('\n');
  const text = [`== ${SECTION} (onnxruntime-node ${ort}; models exported by PyTorch ${exporter.torch}; ratio > 1: ours faster)`, table(header, rows), '', table(checkHeader, checkRows)].join('\n');
  return { markdown: md, text };
}

/** The GEMM FLOPs of one forward: 2·T·B·4H·(I_l + H) per layer and direction. */
function gemmFlops(m, B) {
  const D = m.bidirectional ? 2 : 1;
  let f = 0;
  for (let l = 0; l < m.L; l++) f += D * 2 * m.T * B * 4 * m.H * ((l === 0 ? m.I : D * m.H) + m.H);
  return f;
}

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
function mdTable(header, rows) {
  const esc = (c) => String(c).replace(/\|/g, '\\|');
  return [`| ${header.map(esc).join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

main().catch((e) => fail(String(e && e.stack ? e.stack : e).split('\n').slice(0, 3).join(' | ')));
