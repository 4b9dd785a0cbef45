#!/usr/bin/env node
// The benchmark runner: every workload in a fresh process, here (bench/workloads.js) and in
// PyTorch (bench/torch_workloads.py, at 1 and at 2 threads) in the same run, under two
// PyTorch builds: Debian's 1.13 (OpenBLAS) and a 2.x wheel (MKL + oneDNN) in the venv that
// scripts/torch2-venv.sh makes; medians and ratios (against the strongest PyTorch: the best
// build and thread setting for each row) printed as a table and written to bench/RESULTS.md.
//
//   node bench/run.js                      # everything but the demo (about 5–10 minutes)
//   node bench/run.js charlm layer         # a subset: groups or single tasks
//   node bench/run.js demo                 # the demo, trained for 140 s here and in PyTorch
//   node bench/run.js distributed          # allreduce and 1-vs-2-rank training (bench/distributed.js)
//   node bench/run.js onnx                 # against ONNX Runtime (bench/onnx/bench.js); run alone, it
//                                          # updates only its own section of bench/RESULTS.md
//   node bench/run.js --smoke              # seconds-long check of the scripts (tiny sizes);
//                                          # writes to a temp file, not bench/RESULTS.md
//   node bench/run.js --list
//
// Options: --no-torch (neither build), --no-torch2 (Debian's 1.13 only), --torch-threads 1,2,
// --torch-wait-policy PASSIVE|ACTIVE|default (1.13's), --torch2-wait-policy (2.x's; see torchEnv),
// --threads N (ours; default: the library's), --reps N, --warmup N, --demo-seconds S,
// --out FILE, --json FILE, --timeout S (per process; default 300, 60 with --smoke),
// --rounds N (alternate ours and torch N times per task, pooling samples; see roundsFor).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { parseArgs } = require('node:util');

const HERE = __dirname;
const ROOT = path.dirname(HERE);
const PYTHON = process.env.BENCH_PYTHON || '/usr/bin/python3'; // Debian's, with python3-torch (not whatever python3 is on PATH)
// PyTorch 2.x: BENCH_TORCH2_PYTHON, else the venv scripts/torch2-venv.sh finds or makes.
const TORCH2_SCRIPT = path.join(ROOT, 'scripts', 'torch2-venv.sh');

const GROUPS = {
  sgemm: ['sgemm'],
  charlm: ['charlm-lstm', 'charlm-gru', 'charlm-rnn_relu', 'charlm-autograd-lstm'],
  layer: ['layer-lstm', 'layer-gru'],
  fastrnns: ['fastrnns-fwd', 'fastrnns-fwdbwd'],
  inference: ['bilstm', 'step'],
  scaling: ['scaling-T', 'scaling-B', 'scaling-H'],
  trees: ['tree-lstm', 'tree-childsum', 'tree-rnn'],
  seq2seq: ['seq2seq-train', 'seq2seq-beam'],
  distributed: ['distributed'],
  onnx: ['onnx'],
  demo: ['demo'],
};
const ALIASES = { memory: 'layer' };
const DEFAULT_GROUPS = ['sgemm', 'charlm', 'layer', 'fastrnns', 'inference', 'scaling', 'trees', 'seq2seq', 'distributed', 'onnx'];
const ALL_TASKS = Object.values(GROUPS).flat();

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    smoke: { type: 'boolean', default: false },
    'no-torch': { type: 'boolean', default: false },
    'no-torch2': { type: 'boolean', default: false },
    'torch-threads': { type: 'string', default: '1,2' },
    threads: { type: 'string' },
    reps: { type: 'string' },
    warmup: { type: 'string' },
    'demo-seconds': { type: 'string' },
    out: { type: 'string' },
    json: { type: 'string' },
    'torch-wait-policy': { type: 'string', default: 'PASSIVE' },
    'torch2-wait-policy': { type: 'string', default: 'default' },
    timeout: { type: 'string' },
    rounds: { type: 'string' },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (opts.help || opts.list) {
  console.log('groups:');
  for (const [g, ts] of Object.entries(GROUPS)) console.log(`  ${g.padEnd(10)} ${ts.join(', ')}${DEFAULT_GROUPS.includes(g) ? '' : '   (only when asked for)'}`);
  console.log('  memory     = layer (its peak RSS)');
  process.exit(0);
}

// ---- what to run --------------------------------------------------------------------------

const selected = [];
const groupsRun = new Set();
for (const raw of positionals.length ? positionals : DEFAULT_GROUPS) {
  const name = ALIASES[raw] || raw;
  if (GROUPS[name]) {
    selected.push(...GROUPS[name]);
    groupsRun.add(name);
  } else if (ALL_TASKS.includes(name)) {
    selected.push(name);
    groupsRun.add(Object.keys(GROUPS).find((g) => GROUPS[g].includes(name)));
  } else {
    console.error(`unknown group or task "${raw}"; groups: ${Object.keys(GROUPS).join(', ')}; tasks: ${ALL_TASKS.join(', ')}`);
    process.exit(2);
  }
}
// The layer workload is reported as a share of the measured SGEMM rate: measure it too.
if (selected.some((t) => t.startsWith('layer-')) && !selected.includes('sgemm')) selected.unshift('sgemm');
// The distributed group runs its own processes (bench/distributed.js: ranks, no PyTorch twin)
// and reports its own tables, folded into the report at the end.
const runDistributed = selected.includes('distributed');
// So does the onnx group (bench/onnx/bench.js: ours against ONNX Runtime, which it installs
// into bench/onnx on first use); run alone, it replaces only its section of RESULTS.md.
const runOnnx = selected.includes('onnx');
const tasks = [...new Set(selected)].filter((t) => t !== 'distributed' && t !== 'onnx');
const torchThreads = opts['torch-threads'].split(',').map(Number).filter((n) => n >= 1);
const timeoutSeconds = Number(opts.timeout || (opts.smoke ? 60 : 300));
const timeoutMs = timeoutSeconds * 1000;
const outFile = opts.out || (opts.smoke ? path.join(os.tmpdir(), 'rnn-native-bench-smoke.md') : path.join(HERE, 'RESULTS.md'));

// ---- processes ----------------------------------------------------------------------------

const log = (msg) => process.stderr.write(`${msg}\n`);

/** Runs one command in a fresh process; returns its last JSON line, or { error }. */
function runJson(cmd, args, env = {}, limitMs = timeoutMs) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: limitMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = (Date.now() - t0) / 1000;
  if (r.error) return { error: r.error.code === 'ETIMEDOUT' ? `timed out after ${(limitMs / 1000).toFixed(0)} s (killed)` : r.error.message, seconds };
  const lines = (r.stdout || '').trim().split('\n').filter((l) => l.startsWith('{'));
  let parsed = null;
  try {
    parsed = lines.length ? JSON.parse(lines[lines.length - 1]) : null;
  } catch {
    parsed = null;
  }
  if (r.status !== 0 || !parsed || parsed.error) {
    const errLines = (r.stderr || '').trim().split('\n').filter((l) => l.trim());
    const firstError = errLines.find((l) => /^\s*(\w*Error|Traceback|error:)/.test(l) || /Error: /.test(l));
    const why = parsed && parsed.error ? `${parsed.error}: ${parsed.message || ''}` : firstError || errLines.slice(-2).join(' | ');
    return { error: `exit ${r.status}${r.signal ? ` (${r.signal})` : ''}: ${why}`.slice(0, 400), seconds };
  }
  parsed.processSeconds = seconds;
  return parsed;
}

function commonArgs() {
  const a = [];
  if (opts.smoke) a.push('--smoke');
  if (opts.reps) a.push('--reps', opts.reps);
  if (opts.warmup) a.push('--warmup', opts.warmup);
  return a;
}

// Rounds: ours and PyTorch's processes alternate this many times per task and their samples
// are pooled, so that both sides see the machine's fast and slow phases alike (on this VM the
// same 2-thread step takes 29 or 40 ms for minutes at a time). The short, headline tasks (and
// bilstm, which a slow phase once halved) get three by default; --rounds N sets every task's (the fixed-time demo always runs once).
const ROUNDS_DEFAULT = { 'charlm-lstm': 3, 'charlm-gru': 3, 'charlm-rnn_relu': 3, 'charlm-autograd-lstm': 3, step: 3, bilstm: 3 };
function roundsFor(task) {
  if (task === 'demo' || opts.smoke) return 1;
  if (opts.rounds) return Math.max(1, Math.floor(Number(opts.rounds)) || 1);
  return ROUNDS_DEFAULT[task] || 1;
}
/** One task's results from two rounds, samples pooled per metric; a failed round wins (it is reported). */
function pool(a, b) {
  if (!a) return b;
  if (a.error) return a;
  if (b.error) return b;
  return {
    ...a,
    processSeconds: a.processSeconds + b.processSeconds,
    rounds: (a.rounds || 1) + 1,
    metrics: a.metrics.map((m) => {
      const o = b.metrics.find((x) => x.key === m.key);
      return o ? { ...m, samples: [...m.samples, ...o.samples] } : m;
    }),
  };
}

function runOurs(task) {
  // --expose-gc: the layer task measures its memory with garbage collected between calls
  const a = ['--expose-gc', path.join(HERE, 'workloads.js'), task, ...commonArgs()];
  if (opts.threads) a.push('--threads', opts.threads);
  if (task === 'demo' && opts['demo-seconds']) a.push('--seconds', opts['demo-seconds']);
  return runJson(process.execPath, a, {}, task === 'demo' ? demoLimitMs() : timeoutMs);
}
/** The demo trains for a fixed wall time (140 s by default): allow that plus setup and validation. */
function demoLimitMs() {
  const cfg = require('./config.json').demo[opts.smoke ? 'smoke' : 'full'];
  return Math.max(timeoutMs, (Number(opts['demo-seconds'] || cfg.seconds) + 180) * 1000);
}

/**
 * PyTorch's threads: OpenMP for its own kernels (and, in the 2.x wheels, for MKL and oneDNN),
 * the system OpenBLAS pool for Debian's 1.13 GEMMs; all get n. OMP_WAIT_POLICY PASSIVE by
 * default: with ACTIVE (libgomp's default) 1.13's OpenMP workers spin between regions while
 * OpenBLAS needs the cores, which made its 2-thread char-LM step up to 25× slower than its
 * 1-thread one here. The 2.x wheel has no second pool, and there the variable is left unset
 * by default (`--torch2-wait-policy default`): on a quiet machine its 2-thread char-LM step
 * runs at ~72 k tokens/s unset and ~36 k with PASSIVE (2026-12-01). PASSIVE looked better only
 * while other jobs shared the cores, where spinning workers lose their core (bench/NOTES.md §16).
 */
function torchEnv(n, policy) {
  const env = { OMP_NUM_THREADS: String(n), OPENBLAS_NUM_THREADS: String(n), MKL_NUM_THREADS: String(n) };
  if (policy !== 'default') env.OMP_WAIT_POLICY = policy;
  return env;
}

/** One PyTorch run: `setting` is { build, threads } (see torchSettings). */
function runTorch(task, setting) {
  const { build, threads } = setting;
  const env = torchEnv(threads, build.waitPolicy);
  if (task === 'demo') {
    const a = [path.join(HERE, 'demo_torch.py'), '--threads', String(threads), '--quiet'];
    if (opts.smoke) a.push('--smoke');
    if (opts['demo-seconds']) a.push('--seconds', opts['demo-seconds']);
    return runJson(build.exe, a, env, demoLimitMs());
  }
  return runJson(build.exe, [path.join(HERE, 'torch_workloads.py'), task, '--threads', String(threads), ...commonArgs()], env);
}

/** Asks one interpreter for its torch (version, BLAS); { available, reason } either way. */
function probePython(python, policy) {
  if (!fs.existsSync(python)) return { available: false, reason: `${python} is missing` };
  const r = runJson(python, [path.join(HERE, 'torch_workloads.py'), '--probe', '--threads', '1'], torchEnv(1, policy));
  if (r.error) return { available: false, reason: `PyTorch is not importable by ${python} (${r.error.replace(/\s+/g, ' ').slice(0, 160)})` };
  return { available: true, ...r };
}

/** The 2.x interpreter: BENCH_TORCH2_PYTHON, or the venv of scripts/torch2-venv.sh (made on first use). */
function torch2Python() {
  if (process.env.BENCH_TORCH2_PYTHON) return { python: process.env.BENCH_TORCH2_PYTHON };
  const r = spawnSync('bash', [TORCH2_SCRIPT], { cwd: ROOT, encoding: 'utf8', timeout: 600000 });
  const said = (r.stderr || '').trim().split('\n').filter(Boolean);
  if (r.status === 0) return { python: r.stdout.trim().split('\n').pop() };
  const why = said.find((l) => /skipped:/.test(l)) || said.slice(-1)[0] || `exit ${r.status}`;
  return { reason: why.replace(/^torch2-venv: (skipped: )?/, '') };
}

/**
 * The PyTorch builds to compare with: Debian's 1.13 and a 2.x wheel. Each is
 * { exe (the interpreter), waitPolicy, available, torch (its version), short ("1.13"), ... } or,
 * when it cannot run, { available: false, reason }.
 */
function probeTorchBuilds() {
  if (opts['no-torch']) return [{ name: 'PyTorch', available: false, reason: 'skipped (--no-torch)' }];
  const builds = [];
  const deb = probePython(PYTHON, opts['torch-wait-policy']);
  builds.push({ name: 'Debian PyTorch', exe: PYTHON, waitPolicy: opts['torch-wait-policy'], ...deb });
  if (opts['no-torch2']) builds.push({ name: 'PyTorch 2.x', available: false, reason: 'skipped (--no-torch2)' });
  else {
    const t2 = torch2Python();
    if (!t2.python) builds.push({ name: 'PyTorch 2.x', available: false, reason: `skipped: ${t2.reason}` });
    else builds.push({ name: 'PyTorch 2.x', exe: t2.python, waitPolicy: opts['torch2-wait-policy'], ...probePython(t2.python, opts['torch2-wait-policy']) });
  }
  for (const b of builds) if (b.available) b.short = b.torch.split(/[^\d.]/)[0].split('.').slice(0, 2).join('.');
  // two builds of the same version (BENCH_TORCH2_PYTHON pointing at 1.13): keep them apart
  if (builds.filter((b) => b.available).length === 2 && builds[0].short === builds[1].short) builds[1].short += "'";
  return builds;
}

// ---- machine ------------------------------------------------------------------------------

function machineInfo() {
  const info = { cpu: os.cpus()[0] ? os.cpus()[0].model : 'unknown', cpus: os.cpus().length, memory: `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB` };
  const r = spawnSync('lscpu', [], { encoding: 'utf8' });
  if (r.status === 0) {
    const field = (k) => {
      const m = r.stdout.match(new RegExp(`^${k}:\\s*(.+)$`, 'm'));
      return m ? m[1].trim() : null;
    };
    info.cpu = field('Model name') || info.cpu;
    info.lscpu = {
      'CPU(s)': field('CPU\\(s\\)'),
      'Thread(s) per core': field('Thread\\(s\\) per core'),
      'L2 cache': field('L2 cache'),
      'L3 cache': field('L3 cache'),
      Hypervisor: field('Hypervisor vendor'),
    };
    const flags = field('Flags') || '';
    info.simd = ['avx512f', 'avx512_bf16', 'avx2', 'fma'].filter((f) => flags.split(/\s+/).includes(f)).join(' ');
  }
  return info;
}

// ---- statistics and formatting ------------------------------------------------------------

const { stats, fmt, fmtStat } = require('./common');
const fmtRatio = (r) => (r === null || r === undefined || !Number.isFinite(r) ? '–' : `${r.toFixed(2)}×`);
const mib = (b) => (Math.abs(b) >= 2 ** 24 ? `${(b / 2 ** 20).toFixed(0)} MiB` : Math.abs(b) >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(0)} KiB`);

/** Speed of ours relative to theirs: > 1 means rnn-native is faster (or better). */
function speedRatio(ours, theirs, better) {
  if (!ours || !theirs) return null;
  return better === 'higher' ? ours.median / theirs.median : theirs.median / ours.median;
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

// ---- main ---------------------------------------------------------------------------------

function main() {
  const started = Date.now();
  const loadBefore = os.loadavg();
  let rnnInfo = {};
  try {
    rnnInfo = JSON.parse(
      spawnSync(process.execPath, ['-e', "const r=require('.');console.log(JSON.stringify({version:r.version,threads:r.getNumThreads()}))"], { cwd: ROOT, encoding: 'utf8' }).stdout,
    );
  } catch {
    log('warning: require(\'rnn-native\') failed in a probe process: is dist/ built (npm run build:ts)?');
  }
  const machine = machineInfo();
  // (the onnx and distributed groups run no PyTorch twin of their own: no probe for them alone)
  const builds = tasks.length ? probeTorchBuilds() : [{ name: 'PyTorch', available: false, reason: 'no task here runs it' }];
  const available = builds.filter((b) => b.available);
  const settings = available.flatMap((build) => torchThreads.map((threads) => ({ key: `${build.short} ${threads}t`, build, threads })));
  const torch = { available: available.length > 0, builds, settings, reason: builds.map((b) => `${b.name}: ${b.reason}`).join('; ') };
  log(`rnn-native ${rnnInfo.version && rnnInfo.version.package} on ${rnnInfo.version && rnnInfo.version.openblas}, ${rnnInfo.threads} threads; node ${process.version}; ${machine.cpu}, ${machine.cpus} CPUs`);
  for (const b of builds)
    log(b.available ? `PyTorch ${b.torch} (${b.exe}; BLAS: ${blasOf(b)}); threads tried: ${torchThreads.join(', ')}` : `${b.name}: not run: ${b.reason}`);
  log(`tasks: ${tasks.join(', ')}${opts.smoke ? ' (smoke sizes)' : ''}`);
  if (loadBefore[0] > 0.7) log(`warning: the machine is busy (load average ${loadBefore.map((x) => x.toFixed(2)).join(', ')}); figures will be low and noisy`);

  const results = {}; // task → { ours, torch: { [setting key, e.g. "2.13 2t"]: result } }
  for (const task of tasks) {
    const entry = (results[task] = { ours: null, torch: {} });
    const rounds = roundsFor(task);
    for (let round = 1; round <= rounds; round++) {
      process.stderr.write(`${task}${rounds > 1 ? ` (round ${round}/${rounds})` : ''}: rnn-native … `);
      const ours = runOurs(task);
      entry.ours = pool(entry.ours, ours);
      process.stderr.write(ours.error ? `FAILED (${ours.error})` : `${ours.processSeconds.toFixed(1)} s`);
      if (torch.available) {
        // The demo trains for a fixed wall time: run it once, at the best setting found so far.
        const best = task === 'demo' ? settings.find((x) => x.key === bestTorchSetting(results)) || settings[settings.length - 1] : null;
        for (const setting of best ? [best] : settings) {
          process.stderr.write(`; torch ${setting.key} … `);
          const theirs = runTorch(task, setting);
          entry.torch[setting.key] = pool(entry.torch[setting.key], theirs);
          process.stderr.write(theirs.error ? `FAILED (${theirs.error})` : `${theirs.processSeconds.toFixed(1)} s`);
        }
      }
      process.stderr.write('\n');
    }
  }
  let distributedMd = null;
  if (runDistributed) {
    process.stderr.write('distributed (bench/distributed.js) … ');
    const mdFile = path.join(os.tmpdir(), `rnn-native-bench-distributed-${process.pid}.md`);
    const r = spawnSync(process.execPath, [path.join(HERE, 'distributed.js'), '--out', mdFile, ...(opts.smoke ? ['--smoke'] : [])], { cwd: ROOT, encoding: 'utf8', timeout: 4 * timeoutMs, stdio: ['ignore', 'ignore', 'pipe'] });
    distributedMd = r.status === 0 && fs.existsSync(mdFile) ? fs.readFileSync(mdFile, 'utf8') : `## Distributed\n\nfailed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-2).join(' | ')}\n`;
    fs.rmSync(mdFile, { force: true });
    process.stderr.write(r.status === 0 ? 'done\n' : 'FAILED\n');
  }
  const onnx = runOnnx ? runOnnxGroup() : null;
  const loadAfter = os.loadavg();
  if (!rnnInfo.version) {
    // the package did not load at the start (e.g. dist/ was being rebuilt): take it from a task
    const ok = Object.values(results).find((r) => r.ours && !r.ours.error && r.ours.env);
    if (ok) {
      const e = ok.ours.env;
      rnnInfo.version = { package: e.package, openblas: e.openblas, napi: e.napi };
      rnnInfo.threads = ok.ours.threads;
    }
  }
  const elapsed = (Date.now() - started) / 1000;

  if (onnx && !tasks.length && !runDistributed && fs.existsSync(outFile)) {
    // The onnx group alone: its section of the existing RESULTS.md is replaced (or appended);
    // everything else in the file stays as the last full run left it.
    console.log(onnx.text);
    const old = fs.readFileSync(outFile, 'utf8');
    const at = old.indexOf(ONNX_BEGIN);
    const end = old.indexOf(ONNX_END);
    const next = at >= 0 && end > at ? `${old.slice(0, at)}${onnx.markdown}${old.slice(end + ONNX_END.length + 1)}` : `${old.replace(/\n*$/, '\n')}\n${onnx.markdown}`;
    fs.writeFileSync(outFile, next);
    log(`\nupdated the ONNX Runtime section of ${path.relative(process.cwd(), outFile) || outFile} (${elapsed.toFixed(0)} s)`);
    if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ machine, onnx: onnx.data }, null, 1));
    return;
  }
  const report = buildReport({ results, machine, torch, rnnInfo, loadBefore, loadAfter, elapsed });
  if (distributedMd) {
    report.text += `\n\n${distributedMd}`;
    report.markdown += `\n${distributedMd}`;
  }
  if (onnx) {
    report.text += `\n\n${onnx.text}`;
    report.markdown += `\n${onnx.markdown}`;
  }
  console.log(report.text);
  fs.writeFileSync(outFile, report.markdown);
  log(`\nwrote ${outFile.startsWith(process.cwd()) ? path.relative(process.cwd(), outFile) : outFile} (${elapsed.toFixed(0)} s in all)`);
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ machine, torch, rnnInfo, results, ...(onnx ? { onnx: onnx.data } : {}) }, null, 1));
}

/**
 * The onnx group: bench/onnx/bench.js in a process of its own (it spawns its own: the export,
 * the output check, ours and one per ORT thread setting); its progress goes to our stderr.
 * Returns its section { markdown (between the ONNX_BEGIN/END markers), text }; a group that
 * cannot run here (no ORT package, no PyTorch to export with) says so in one line.
 */
const ONNX_BEGIN = '<!-- bench/onnx: begin -->';
const ONNX_END = '<!-- bench/onnx: end -->';
function runOnnxGroup() {
  process.stderr.write('onnx (bench/onnx/bench.js) …\n');
  const mdFile = path.join(os.tmpdir(), `rnn-native-bench-onnx-${process.pid}.md`);
  const jsonFile = path.join(os.tmpdir(), `rnn-native-bench-onnx-${process.pid}.json`);
  const a = [path.join(HERE, 'onnx', 'bench.js'), '--out', mdFile, '--json', jsonFile];
  if (opts.smoke) a.push('--smoke');
  if (opts['no-torch']) a.push('--no-torch');
  if (opts.threads) a.push('--threads', opts.threads);
  if (opts.reps) a.push('--reps', opts.reps);
  if (opts.warmup) a.push('--warmup', opts.warmup);
  const r = spawnSync(process.execPath, a, { cwd: ROOT, encoding: 'utf8', timeout: 4 * timeoutMs, maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] });
  let md = fs.existsSync(mdFile) ? fs.readFileSync(mdFile, 'utf8') : null;
  fs.rmSync(mdFile, { force: true });
  let data = null;
  try {
    data = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  } catch {
    data = null;
  }
  fs.rmSync(jsonFile, { force: true });
  if (!md) md = `## ONNX Runtime\n\nfailed: ${r.error ? r.error.message : `exit ${r.status}${r.signal ? ` (${r.signal})` : ''}`}\n`;
  const text = (r.stdout || '').trim() || md.trim();
  process.stderr.write(r.status === 0 ? 'onnx: done\n' : 'onnx: FAILED\n');
  return { markdown: `${ONNX_BEGIN}\n${md.replace(/\n*$/, '\n')}${ONNX_END}\n`, text, data };
}

/** The torch setting (build and threads) that won most metrics so far (for the demo). */
function bestTorchSetting(results) {
  const wins = {};
  for (const { torch } of Object.values(results))
    for (const m of metricsOf(torch)) {
      const b = bestOf(torch, m.key, m.better);
      if (b) wins[b.setting] = (wins[b.setting] || 0) + 1;
    }
  const best = Object.entries(wins).sort((a, b) => b[1] - a[1])[0];
  return best ? best[0] : null;
}
/** What a build's GEMMs run on, for the report. */
function blasOf(b) {
  if (b.openblas) return b.openblas.config;
  return b.mathLibraries ? `${b.mathLibraries} (BLAS_INFO ${b.blasInfo})` : b.blasInfo;
}
function metricsOf(torchResults) {
  const first = Object.values(torchResults).find((r) => r && !r.error);
  return first ? first.metrics : [];
}
const metricStats = (res, key) => {
  if (!res || res.error) return null;
  const m = res.metrics.find((x) => x.key === key);
  return m ? stats(m.samples) : null;
};
/** The strongest torch result for one metric, over builds and thread settings: { setting, stats }. */
function bestOf(torchResults, key, better) {
  let best = null;
  for (const [setting, res] of Object.entries(torchResults)) {
    const st = metricStats(res, key);
    if (!st) continue;
    if (!best || (better === 'higher' ? st.median > best.stats.median : st.median < best.stats.median)) best = { setting, stats: st };
  }
  return best;
}

function buildReport({ results, machine, torch, rnnInfo, loadBefore, loadAfter, elapsed }) {
  const text = [];
  const md = [];
  const haveTorch = torch.available;
  const keys = torch.settings.map((x) => x.key);
  const tHeads = keys.map((k) => `torch ${k}`);
  const section = (title, header, rows, note) => {
    text.push(`\n== ${title}\n${table(header, rows)}${note ? `\n${note}` : ''}`);
    md.push(`\n## ${title}\n\n${mdTable(header, rows)}${note ? `\n\n${note}` : ''}`);
  };
  const err = (r) => (r && r.error ? `failed: ${r.error}` : null);

  // ---- SGEMM
  let sgemm2 = null;
  let sgemmSource = null;
  if (results.sgemm) {
    const r = results.sgemm;
    const rows = [];
    for (const { key, build, threads: n } of torch.settings) {
      const st = metricStats(r.torch[key], 'gflops');
      rows.push([`torch ${build.short} torch.mm float32 ${r.torch[key] && r.torch[key].info ? r.torch[key].info.N : ''}² (${n} thread${n > 1 ? 's' : ''})`, err(r.torch[key]) || fmtStat(st)]);
      if (st && n === 2 && (sgemm2 === null || st.median > sgemm2)) {  // the strongest 2-thread SGEMM
        sgemm2 = st.median;
        sgemmSource = `torch ${build.short} torch.mm on 2 threads`;
      }
    }
    const N = r.ours && r.ours.info ? r.ours.info.N : '';
    for (const n of [1, 2]) {
      const ours = metricStats(r.ours, `gflops-${n}`);
      rows.push([`rnn-native Linear.forward ${N}² (proxy; ${n} thread${n > 1 ? 's' : ''})`, err(r.ours) || fmtStat(ours)]);
      if (sgemm2 === null && ours && n === 2) {
        sgemm2 = ours.median;
        sgemmSource = 'our Linear.forward proxy on 2 threads (PyTorch absent)';
      }
    }
    section('Machine SGEMM rate', ['probe', 'GFLOP/s median [min–max]'], rows,
      `The layer workload's share is taken against ${sgemmSource || 'nothing (no probe succeeded)'}${sgemm2 ? `: ${fmt(sgemm2)} GFLOP/s` : ''}.`);
  }

  // ---- generic comparison sections
  const compare = (title, taskNames, note) => {
    const rows = [];
    for (const t of taskNames) {
      const r = results[t];
      if (!r) continue;
      const metrics = r.ours && !r.ours.error ? r.ours.metrics : metricsOf(r.torch);
      if (!metrics.length) {
        rows.push([t, '', err(r.ours) || 'failed', ...keys.map((k) => err(r.torch[k]) || '–'), ...(haveTorch ? ['–'] : [])]);
        continue;
      }
      for (const m of metrics) {
        const ours = metricStats(r.ours, m.key);
        const cells = [m.label, m.unit, err(r.ours) || fmtStat(ours)];
        if (haveTorch) {
          for (const k of keys) cells.push(err(r.torch[k]) || fmtStat(metricStats(r.torch[k], m.key)));
          const best = bestOf(r.torch, m.key, m.better);
          cells.push(best && ours ? `${fmtRatio(speedRatio(ours, best.stats, m.better))} (vs ${best.setting})` : '–');
        }
        rows.push(cells);
      }
    }
    if (rows.length)
      section(title, ['workload', 'unit', 'rnn-native median [min–max]', ...tHeads, ...(haveTorch ? ['rnn-native ÷ best torch'] : [])], rows, note);
  };

  compare('Char-LM training step (Embedding → RNN → Linear, cross-entropy, clip 1.0, Adam; the autograd row composes the modules and calls loss.backward())', ['charlm-lstm', 'charlm-gru', 'charlm-rnn_relu', 'charlm-autograd-lstm'],
    info(results['charlm-lstm'], (i) => `V ${i.V}, E ${i.E}, H ${i.H}, B ${i.B}, T ${i.T}; hidden state carried, detached. GFLOP/s counts 3 × the forward GEMMs (recurrent + head).`));

  // ---- layer with SGEMM share and memory
  if (results['layer-lstm'] || results['layer-gru']) {
    const rows = [];
    const memRows = [];
    for (const t of ['layer-lstm', 'layer-gru']) {
      const r = results[t];
      if (!r) continue;
      const ours = metricStats(r.ours, 'gflops');
      const best = haveTorch ? bestOf(r.torch, 'gflops', 'higher') : null;
      const label = t.slice(6).toUpperCase();
      const cells = [label, err(r.ours) || fmtStat(ours), ours && sgemm2 ? `${((100 * ours.median) / sgemm2).toFixed(0)}%` : '–'];
      if (haveTorch) {
        for (const k of keys) cells.push(err(r.torch[k]) || fmtStat(metricStats(r.torch[k], 'gflops')));
        cells.push(best && sgemm2 ? `${((100 * best.stats.median) / sgemm2).toFixed(0)}%` : '–');
        cells.push(best && ours ? `${fmtRatio(speedRatio(ours, best.stats, 'higher'))} (vs ${best.setting})` : '–');
      }
      rows.push(cells);
      // memory
      const add = (who, res) => {
        if (!res || res.error || !res.info || !res.info.memory) return;
        const { I, H, B, T, G, parameters: P } = res.info;
        // saved: gates, hidden history, output, and the cell history (LSTM) or W_hn h (GRU)
        const est = 8 * P + 4 * T * B * (G * H + 2 * H + (G === 4 || G === 3 ? H : 0));
        const { baselineRss, peakRss } = res.info.memory;
        memRows.push([label, who, mib(peakRss), mib(baselineRss), mib(peakRss - baselineRss), mib(est), `${((peakRss - baselineRss) / est).toFixed(2)}`]);
      };
      add('rnn-native', r.ours);
      if (haveTorch) for (const k of keys) add(`torch ${k}`, r.torch[k]);
    }
    const i = (results['layer-lstm'] || results['layer-gru']).ours;
    const dims = i && i.info ? `I ${i.info.I}, H ${i.info.H}, B ${i.info.B}, T ${i.info.T}` : '';
    section(`Layer training, forward + backward (${dims})`,
      ['layer', 'rnn-native GFLOP/s', 'share of SGEMM', ...tHeads, ...(haveTorch ? ['torch share of SGEMM', 'rnn-native ÷ best torch'] : [])], rows,
      `GFLOP/s = 3 × 2·T·B·G·H·(I + H) / time (the forward GEMMs, their two backward GEMMs); the input gradient is computed on both sides. Share: of the SGEMM rate above${sgemm2 ? ` (${fmt(sgemm2)} GFLOP/s, ${sgemmSource})` : ''}.`);
    if (memRows.length)
      section('Peak memory of the layer workload (fresh process)', ['layer', 'process', 'peak RSS', 'RSS before the layer', 'growth', 'estimate', 'growth ÷ estimate'], memRows,
        'Peak RSS: process.resourceUsage().maxRSS (Node) / getrusage ru_maxrss (Python), after warm-up and timed runs. Estimate of what must be held: parameters + gradients (8 bytes per parameter) + saved activations, 4·T·B·(G·H + 2H + H) bytes: the gates, the hidden history, the output, and the cell history (LSTM) or W_hn·h + b_hn (GRU). Growth = peak − RSS after the input and output gradient were made, before the layer was built; Node collects garbage between the measured calls (--expose-gc), as PyTorch frees by reference counting.');
  }

  compare('PyTorch fastrnns default (LSTM)', ['fastrnns-fwd', 'fastrnns-fwdbwd'],
    info(results['fastrnns-fwd'] || results['fastrnns-fwdbwd'], (i) => `I = H = ${i.H}, B ${i.B}, T ${i.T}; forward in eval mode (torch.no_grad), forward+backward in training mode with the input gradient.`));
  compare('Inference', ['bilstm', 'step'],
    [info(results.bilstm, (i) => `Bidirectional: ${i.L} layers, I = H = ${i.H}, B ${i.B}, T ${i.T}, eval mode.`),
      'One step: B 1, T 1, (h, c) carried from step to step; ours LSTM.forward in eval mode, torch under no_grad.'].filter(Boolean).join(' '));

  // ---- scaling
  const scalingTasks = ['scaling-T', 'scaling-B', 'scaling-H'].filter((t) => results[t]);
  if (scalingTasks.length) {
    const rows = [];
    for (const t of scalingTasks) {
      const r = results[t];
      const ref = r.ours && !r.ours.error ? r.ours : Object.values(r.torch).find((x) => x && !x.error);
      if (!ref) {
        rows.push([t, err(r.ours) || 'failed', '', '', '', '', '']);
        continue;
      }
      const perFlop = (res) => {
        if (!res || res.error) return null;
        const first = res.metrics[0];
        const s0 = stats(first.samples).median / first.flops;
        return Object.fromEntries(res.metrics.map((m) => [m.key, stats(m.samples).median / m.flops / s0]));
      };
      const oursRel = perFlop(r.ours);
      const torchBestRel = {};
      for (const m of ref.metrics) {
        const ours = metricStats(r.ours, m.key);
        const best = haveTorch ? bestOf(r.torch, m.key, 'lower') : null;
        const cells = [m.label.replace('LSTM fwd+bwd ', ''), err(r.ours) || fmtStat(ours), oursRel ? fmt(oursRel[m.key]) : '–'];
        if (haveTorch) {
          if (best) {
            const rel = perFlop(r.torch[best.setting]);
            torchBestRel[m.key] = rel && rel[m.key];
          }
          cells.push(best ? `${fmtStat(best.stats)} (${best.setting})` : '–', fmt(torchBestRel[m.key]), best ? fmtRatio(speedRatio(ours, best.stats, 'lower')) : '–');
        }
        rows.push(cells);
      }
    }
    section('Scaling: LSTM forward + backward', ['configuration', 'rnn-native ms', 'rnn-native time/FLOP (rel.)', ...(haveTorch ? ['best torch ms', 'torch time/FLOP (rel.)', 'rnn-native ÷ best torch'] : [])], rows,
      'time/FLOP (rel.): milliseconds per forward+backward FLOP, relative to the smallest configuration of the same axis (1.00); a value well above 1 at some size is a cliff, below 1 is better use of the cores at larger sizes. FLOPs = 3 × 2·T·B·4H·(I + H).');
  }

  // ---- trees: against PyTorch node by node and level-batched; the faster of the two is the anchor
  const treeTasks = ['tree-lstm', 'tree-childsum', 'tree-rnn'].filter((t) => results[t]);
  if (treeTasks.length) {
    const rows = [];
    for (const t of treeTasks) {
      const r = results[t];
      const ours = metricStats(r.ours, 'nodes');
      const i = (r.ours && r.ours.info) || {};
      const label = (r.ours && !r.ours.error && r.ours.metrics[0].label) || t;
      const cells = [label.replace(' training step', ''), i.N ? `${i.N} nodes, ${i.levels} levels` : '', err(r.ours) || fmtStat(ours)];
      if (haveTorch) {
        const node = bestOf(r.torch, 'nodes-nodewise', 'higher');
        const level = bestOf(r.torch, 'nodes-levels', 'higher');
        const anchor = node && level ? (level.stats.median >= node.stats.median ? level : node) : node || level;
        const failed = Object.values(r.torch).find((x) => x && x.error);
        cells.push(node ? `${fmtStat(node.stats)} (${node.setting})` : err(failed) || '–', level ? `${fmtStat(level.stats)} (${level.setting})` : err(failed) || '–');
        cells.push(anchor && ours ? `${fmtRatio(speedRatio(ours, anchor.stats, 'higher'))} (vs ${anchor === level ? 'level-batched' : 'node by node'}, ${anchor.setting})` : '–');
      }
      rows.push(cells);
    }
    const i0 = results[treeTasks[0]].ours && results[treeTasks[0]].ours.info;
    section('Tree layers: training step (forward + backward) in nodes per second',
      ['layer', 'forest', 'rnn-native nodes/s', ...(haveTorch ? ['torch node by node', 'torch level-batched', 'rnn-native ÷ the faster torch'] : [])], rows,
      `${i0 ? `I ${i0.I}, H ${i0.H}, ${i0.trees} random trees per forest (binary, ${i0.minLeaves}–${i0.maxLeaves} leaves each; child-sum: 2–${i0.maxFan} children per node); ` : ''}loss sum(h ⊙ R) over every node, parameter gradients. PyTorch twice (bench/torch_trees.py): node by node — a Python walk calling the cell once per node, as research code does — and level-batched — one batched step per level, schedule precomputed outside the timing; ours schedules inside every call. The ratio is taken against whichever torch version is faster, at its best thread setting.`);
  }

  compare('Encoder–decoder (Seq2Seq, the G2P example\'s model): training step and beam search', ['seq2seq-train', 'seq2seq-beam'],
    info(results['seq2seq-train'], (i) => `LSTM, E ${i.E}, H ${i.H}, ${i.encoderLayers}-layer bidirectional encoder, ${i.decoderLayers}-layer decoder, ${i.attention} attention with input feeding, dropout ${i.dropout}; B ${i.B} pairs of ${i.minLength}–${i.maxLength} tokens (targets as long as their sources), vocabularies ${i.Vs}/${i.Vt}; training: teacher forcing, Adam, clip ${i.maxNorm}, ${i.batches} batches cycled; beam search: one batch of ${i.B} sources, K ${i.beam}, EOS suppressed so that every hypothesis runs ${i.beamMaxLength} steps. PyTorch runs scripts/seq2seq_torch.py, the twin test/28 checks ours against.`));

  // ---- demo
  if (results.demo) {
    const r = results.demo;
    const rows = [];
    const addDemo = (who, res) => {
      if (!res) return;
      if (res.error) return rows.push([who, `failed: ${res.error}`, '', '', '']);
      rows.push([who, fmt(res.metrics[0].samples[0]), String(res.info.steps), `${fmt(res.info.wallSeconds)} s`, res.info.reason]);
    };
    addDemo(`rnn-native (${r.ours && r.ours.threads} threads)`, r.ours);
    for (const [k, res] of Object.entries(r.torch)) addDemo(`torch ${k.replace(/ (\d+)t$/, (_, n) => ` (${n} thread${n > 1 ? 's' : ''})`)}`, res);
    const i = r.ours && r.ours.info;
    section('Demo configuration: validation bits/char after the same wall time', ['run', 'validation bits/char', 'batches', 'wall time', 'stopped by'], rows,
      `${i ? `${i.corpus}: ${i.characters.toLocaleString('en-US')} characters, ${i.vocab} tokens. Embedding(V, ${i.E}) → LSTM(${i.H}) → Linear(V), B ${i.B}, T ${i.T}, Adam ${i.lr}, StepLR(${i.stepSize}, ${i.gamma}) per batch, clip ${i.maxNorm}, epochs until the wall time runs out (capped by bench/config.json); validation = the last 2% of the text, also every ${i.validateEvery} batches (that time counts). ` : ''}Ours through fit() as examples/demo.js; PyTorch: bench/demo_torch.py.`);
  }

  // ---- header
  const v = rnnInfo.version || {};
  const head = [
    '# rnn-native benchmark results',
    '',
    `Generated by \`node bench/run.js${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}\` (\`npm run bench\`) on ${new Date().toISOString()}; do not edit by hand: run it again.`,
    '',
    'How it is produced: every task runs in a fresh process, ours (`node bench/workloads.js <task>`) and PyTorch\'s twin',
    '(`python bench/torch_workloads.py <task> --threads N`, once per PyTorch build and thread setting: Debian\'s 1.13 under `/usr/bin/python3`,',
    'a 2.x wheel in the venv of `scripts/torch2-venv.sh`), with the sizes of',
    '`bench/config.json`. In each process, warm-up calls first (they also size a repetition to about',
    `${fmt(tc(results).targetRepSeconds)} s), then ${tc(results).reps} timed repetitions (process.hrtime.bigint / time.perf_counter); tables show the median [min–max] over`,
    `them.${roundsNote(results)} "rnn-native ÷ best torch" is a speed ratio against the strongest PyTorch for that row (the faster build at its better thread setting, named in brackets):`,
    'above 1 rnn-native is faster (throughputs divided, times inverted).',
    '',
    '| | |',
    '| --- | --- |',
    `| CPU | ${machine.cpu}, ${machine.cpus} CPUs${machine.lscpu ? `, ${machine.lscpu['Thread(s) per core']} thread(s) per core, L2 ${machine.lscpu['L2 cache']}, L3 ${machine.lscpu['L3 cache']}${machine.lscpu.Hypervisor ? `, under ${machine.lscpu.Hypervisor}` : ''}` : ''}; ${machine.simd || ''}; ${machine.memory} |`,
    `| Node | ${process.version} |`,
    `| rnn-native | ${v.package}, N-API ${v.napi} |`,
    `| OpenBLAS (ours) | ${v.openblas} |`,
    `| rnn-native threads | ${opts.threads ? `${opts.threads} (--threads)` : `${rnnInfo.threads} (the library default, getNumThreads())`} |`,
    ...torch.builds.map((b) => `| ${b.available ? `PyTorch ${b.short}` : b.name} | ${b.available ? `${b.torch} (Python ${b.python}: ${b.exe}), BLAS: ${blasOf(b)}, CPU capability ${b.capability}; threads tried: ${torchThreads.join(' and ')} (torch.set_num_threads with OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS set to match; OMP_WAIT_POLICY ${b.waitPolicy === 'default' ? 'unset' : b.waitPolicy})` : `**not run**: ${b.reason}.${haveTorch ? '' : ' Every other figure is still measured; the ratio columns are absent.'}`} |`),
    `| load average | ${loadBefore.map((x) => x.toFixed(2)).join(', ')} before, ${loadAfter.map((x) => x.toFixed(2)).join(', ')} after (1, 5, 15 min); the run took ${elapsed.toFixed(0)} s |`,
    `| mode | ${opts.smoke ? '**smoke** (tiny sizes: these numbers mean nothing)' : 'full'}; tasks: ${Object.keys(results).join(', ')} |`,
  ];
  if (loadBefore[0] > 0.7 || loadAfter[0] > 2.5)
    head.push('', `> **Warning:** the machine was not idle (1-minute load average ${loadBefore[0].toFixed(2)} at the start, ${loadAfter[0].toFixed(2)} at the end, on ${machine.cpus} CPUs): other processes shared the cores, so these figures are low and noisy, the 2-thread ones most. Run again on an idle machine.`);
  const textHead = [
    `rnn-native ${v.package} — ${machine.cpu}, ${machine.cpus} CPUs — node ${process.version} — ${v.openblas}`,
    haveTorch ? `PyTorch ${torch.builds.filter((b) => b.available).map((b) => b.torch).join(' and ')}, threads ${torchThreads.join('/')}; ratio = rnn-native ÷ best torch (> 1: rnn-native faster)` : `PyTorch not run: ${torch.reason}`,
  ];
  return { text: [...textHead, ...text].join('\n'), markdown: `${[...head, ...md].join('\n')}\n` };
}

/** Which tasks ran in several rounds (see roundsFor), for the report's preamble. */
function roundsNote(results) {
  const multi = Object.entries(results).filter(([, r]) => r.ours && r.ours.rounds > 1).map(([t, r]) => `${t} ${r.ours.rounds}`);
  if (!multi.length) return '';
  return ` Rounds (ours, then torch at each thread setting, repeated; samples pooled, so that both sides meet the same fast and slow phases of a shared machine): ${multi.join(', ')}.`;
}

function info(res, f) {
  const r = res && (res.ours && !res.ours.error ? res.ours : Object.values(res.torch).find((x) => x && !x.error));
  return r && r.info ? f(r.info) : '';
}
function tc(results) {
  for (const r of Object.values(results)) if (r.ours && r.ours.timing) return r.ours.timing;
  return { reps: '?', targetRepSeconds: NaN };
}

main();
