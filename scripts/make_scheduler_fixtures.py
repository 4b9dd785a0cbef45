#!/usr/bin/python3
"""Generate PyTorch reference fixtures for the learning-rate schedulers (lib/schedulers.ts).

Regenerate (needs PyTorch 1.13; on Debian use the system interpreter, not a venv python):

    /usr/bin/python3 scripts/make_scheduler_fixtures.py [output.json]

Default output: test/fixtures/schedulers.json (relative to the repo root).
The output is deterministic: no randomness is involved, only the schedulers' arithmetic.

Every case runs one scheduler from torch.optim.lr_scheduler on a real optimizer (SGD with
momentum=0.9, or Adam for the betas cases) with two parameter groups whose base learning
rates differ, and records the learning rates after construction and after every step()
(scheduler.step() without an epoch argument: the chainable get_lr() forms).

Format
------
Top level: {"generator": "<script> torch <version>", "cases": [case, ...]}

Each case:
  name        unique descriptive string
  scheduler   class name, e.g. "StepLR" (the TypeScript class of the same name)
  options     the TypeScript constructor options (camelCase). For SequentialLR and
              ChainedScheduler, "schedulers" is a list of {"scheduler", "options"} built in
              that order on the same optimizer before the composite. For LambdaLR,
              "lrLambda" is the NAME of a function defined identically in the test
              (see LAMBDAS below).
  optimizer   "sgd" | "adam"
  groups      the optimizer's initial param groups: [{"lr", "momentum"} | {"lr", "betas"}]
  metrics     ReduceLROnPlateau only: the metric passed to each step()
  lrs         (steps + 1) rows: row 0 after construction, row k after the k-th step();
              get_last_lr() (for ReduceLROnPlateau before its first step, the groups' lr)
  momentum    OneCycleLR only: same rows, each group's momentum (SGD) or betas[0] (Adam)
  beta2       OneCycleLR with Adam only: same rows, each group's betas[1] (must stay put)
"""
import json
import math
import os
import sys
import warnings

import torch
from torch.optim import SGD, Adam
from torch.optim import lr_scheduler as S

warnings.simplefilter('ignore')  # "lr_scheduler.step() before optimizer.step()" etc.

# The same functions are written in test/51.schedulers.test.ts.
LAMBDAS = {
    'pow095': lambda e: 0.95 ** e,
    'inverse': lambda e: 1.0 / (1 + 0.1 * e),
    'stairs': lambda e: 0.5 ** (e // 4),
}

SNAKE = {
    'stepSize': 'step_size', 'tMax': 'T_max', 'etaMin': 'eta_min', 't0': 'T_0', 'tMult': 'T_mult',
    'startFactor': 'start_factor', 'endFactor': 'end_factor', 'totalIters': 'total_iters',
    'maxLr': 'max_lr', 'totalSteps': 'total_steps', 'pctStart': 'pct_start', 'divFactor': 'div_factor',
    'finalDivFactor': 'final_div_factor', 'annealStrategy': 'anneal_strategy', 'threePhase': 'three_phase',
    'cycleMomentum': 'cycle_momentum', 'baseMomentum': 'base_momentum', 'maxMomentum': 'max_momentum',
    'lrLambda': 'lr_lambda', 'thresholdMode': 'threshold_mode', 'minLr': 'min_lr',
}


def make_optimizer(kind, groups):
    params = [{'params': [torch.nn.Parameter(torch.zeros(2))], **g} for g in groups]
    if kind == 'sgd':
        return SGD(params, lr=0.5, momentum=0.9)
    return Adam([{**p, 'betas': tuple(p['betas'])} for p in params], lr=0.5)


def build(opt, name, options):
    kw = {}
    for k, v in options.items():
        if k == 'lrLambda':
            v = [LAMBDAS[x] for x in v] if isinstance(v, list) else LAMBDAS[v]
        if k == 'schedulers':
            v = [build(opt, s['scheduler'], s['options']) for s in v]
        kw[SNAKE.get(k, k)] = v
    if name == 'ChainedScheduler':
        return S.ChainedScheduler(kw['schedulers'])
    return getattr(S, name)(opt, **kw)


def momenta(opt):
    return [g['betas'][0] if 'betas' in g else g['momentum'] for g in opt.param_groups]


def run(name, scheduler, options, steps, optimizer='sgd', groups=None, metrics=None):
    if groups is None:
        groups = ([{'lr': 0.1, 'betas': [0.9, 0.999]}, {'lr': 0.01, 'betas': [0.8, 0.99]}] if optimizer == 'adam'
                  else [{'lr': 0.1, 'momentum': 0.9}, {'lr': 0.01, 'momentum': 0.9}])
    opt = make_optimizer(optimizer, groups)
    sched = build(opt, scheduler, options)
    one_cycle = scheduler == 'OneCycleLR'
    lrs = [[g['lr'] for g in opt.param_groups]]
    mom = [momenta(opt)]
    beta2 = [[g['betas'][1] for g in opt.param_groups]] if optimizer == 'adam' else None
    n = len(metrics) if metrics is not None else steps
    for k in range(n):
        opt.step()
        if metrics is not None:
            sched.step(metrics[k])
        else:
            sched.step()
        # torch 1.13's ReduceLROnPlateau has _last_lr but no get_last_lr() yet.
        lrs.append(list(sched.get_last_lr() if hasattr(sched, 'get_last_lr') else sched._last_lr))
        assert lrs[-1] == [g['lr'] for g in opt.param_groups]
        mom.append(momenta(opt))
        if beta2 is not None:
            beta2.append([g['betas'][1] for g in opt.param_groups])
    case = {'name': name, 'scheduler': scheduler, 'options': options, 'optimizer': optimizer,
            'groups': groups, 'lrs': lrs}
    if metrics is not None:
        case['metrics'] = metrics
    if one_cycle:
        case['momentum'] = mom
        if beta2 is not None:
            case['beta2'] = beta2
    return case


def plateau_metrics():
    # A loss that improves, stalls, wobbles within the threshold, improves again, then plateaus.
    seq = [1.0, 0.9, 0.85, 0.85, 0.8501, 0.86, 0.84, 0.83995, 0.84, 0.9, 0.7, 0.7, 0.69999,
           0.71, 0.72, 0.6, 0.6, 0.6, 0.61, 0.62, 0.63, 0.64, 0.5, 0.55, 0.56, 0.57, 0.58, 0.59,
           0.6, 0.61, 0.4, 0.41, 0.42, 0.43, 0.44, 0.45, 0.46, 0.47, 0.48, 0.49]
    return seq


def cases():
    out = []
    out.append(run('StepLR stepSize 3 gamma 0.5', 'StepLR', {'stepSize': 3, 'gamma': 0.5}, 40))
    out.append(run('StepLR stepSize 7 default gamma', 'StepLR', {'stepSize': 7}, 30))
    out.append(run('MultiStepLR unsorted milestones with a duplicate', 'MultiStepLR',
                   {'milestones': [10, 4, 10, 25], 'gamma': 0.3}, 35))
    out.append(run('MultiStepLR milestone 0 decays at construction', 'MultiStepLR',
                   {'milestones': [0, 6]}, 12))
    out.append(run('ExponentialLR gamma 0.9', 'ExponentialLR', {'gamma': 0.9}, 50))
    out.append(run('ExponentialLR gamma 1.05 (growing)', 'ExponentialLR', {'gamma': 1.05}, 30))
    out.append(run('CosineAnnealingLR tMax 10 etaMin 0.001 past tMax', 'CosineAnnealingLR',
                   {'tMax': 10, 'etaMin': 0.001}, 45))
    out.append(run('CosineAnnealingLR tMax 7 etaMin 0', 'CosineAnnealingLR', {'tMax': 7}, 30))
    out.append(run('CosineAnnealingWarmRestarts t0 5 etaMin 0.001', 'CosineAnnealingWarmRestarts',
                   {'t0': 5, 'etaMin': 0.001}, 30))
    out.append(run('CosineAnnealingWarmRestarts t0 3 tMult 2', 'CosineAnnealingWarmRestarts',
                   {'t0': 3, 'tMult': 2}, 50))
    out.append(run('LinearLR startFactor 0.25 endFactor 0.9 totalIters 8', 'LinearLR',
                   {'startFactor': 0.25, 'endFactor': 0.9, 'totalIters': 8}, 30))
    out.append(run('LinearLR decreasing 1 -> 0.1 over 10', 'LinearLR',
                   {'startFactor': 1.0, 'endFactor': 0.1, 'totalIters': 10}, 20))
    out.append(run('LinearLR defaults', 'LinearLR', {}, 10))
    oc = {'maxLr': [0.1, 0.05], 'totalSteps': 40}
    out.append(run('OneCycleLR cos two-phase, SGD momentum', 'OneCycleLR', oc, 40))
    out.append(run('OneCycleLR non-default factors, scalar maxLr', 'OneCycleLR',
                   {'maxLr': 0.2, 'totalSteps': 30, 'pctStart': 0.25, 'divFactor': 10.0, 'finalDivFactor': 100.0,
                    'baseMomentum': 0.8, 'maxMomentum': 0.9}, 30))
    out.append(run('OneCycleLR linear', 'OneCycleLR', {**oc, 'annealStrategy': 'linear'}, 40))
    out.append(run('OneCycleLR three-phase cos', 'OneCycleLR', {**oc, 'threePhase': True}, 40))
    out.append(run('OneCycleLR three-phase linear', 'OneCycleLR',
                   {**oc, 'threePhase': True, 'annealStrategy': 'linear', 'pctStart': 0.4}, 40))
    out.append(run('OneCycleLR Adam betas cycling', 'OneCycleLR', {**oc, 'baseMomentum': [0.85, 0.8]}, 40,
                   optimizer='adam'))
    out.append(run('OneCycleLR cycleMomentum false', 'OneCycleLR', {**oc, 'cycleMomentum': False}, 40))
    out.append(run('LambdaLR one lambda 0.95**e', 'LambdaLR', {'lrLambda': 'pow095'}, 40))
    out.append(run('LambdaLR one lambda per group', 'LambdaLR', {'lrLambda': ['stairs', 'inverse']}, 30))
    m = plateau_metrics()
    out.append(run('ReduceLROnPlateau min rel patience 2', 'ReduceLROnPlateau',
                   {'mode': 'min', 'factor': 0.5, 'patience': 2, 'threshold': 0.01}, 0, metrics=m))
    out.append(run('ReduceLROnPlateau max rel', 'ReduceLROnPlateau',
                   {'mode': 'max', 'factor': 0.2, 'patience': 1, 'threshold': 0.05},
                   0, metrics=[-x for x in m]))
    out.append(run('ReduceLROnPlateau max rel on positive scores', 'ReduceLROnPlateau',
                   {'mode': 'max', 'factor': 0.5, 'patience': 1}, 0, metrics=[1 - x for x in m]))
    out.append(run('ReduceLROnPlateau min abs cooldown 2 minLr list', 'ReduceLROnPlateau',
                   {'factor': 0.3, 'patience': 1, 'threshold': 0.02, 'thresholdMode': 'abs', 'cooldown': 2,
                    'minLr': [0.005, 0.0005]}, 0, metrics=m))
    out.append(run('ReduceLROnPlateau max abs cooldown 1', 'ReduceLROnPlateau',
                   {'mode': 'max', 'factor': 0.5, 'patience': 0, 'threshold': 0.05, 'thresholdMode': 'abs',
                    'cooldown': 1}, 0, metrics=[-x for x in m]))
    out.append(run('ReduceLROnPlateau eps stops tiny updates', 'ReduceLROnPlateau',
                   {'factor': 0.5, 'patience': 0, 'eps': 1e-4}, 0, metrics=[1.0] * 12))
    out.append(run('SequentialLR LinearLR warm-up then CosineAnnealingLR', 'SequentialLR',
                   {'schedulers': [{'scheduler': 'LinearLR', 'options': {'startFactor': 0.1, 'totalIters': 5}},
                                   {'scheduler': 'CosineAnnealingLR', 'options': {'tMax': 20, 'etaMin': 0.0001}}],
                    'milestones': [5]}, 40))
    out.append(run('SequentialLR of three: LinearLR, ExponentialLR, CosineAnnealingWarmRestarts', 'SequentialLR',
                   {'schedulers': [{'scheduler': 'LinearLR', 'options': {'startFactor': 0.5, 'totalIters': 4}},
                                   {'scheduler': 'ExponentialLR', 'options': {'gamma': 0.8}},
                                   {'scheduler': 'CosineAnnealingWarmRestarts', 'options': {'t0': 4, 'etaMin': 0.001}}],
                    'milestones': [3, 10]}, 30))
    out.append(run('SequentialLR StepLR then MultiStepLR', 'SequentialLR',
                   {'schedulers': [{'scheduler': 'StepLR', 'options': {'stepSize': 2, 'gamma': 0.5}},
                                   {'scheduler': 'MultiStepLR', 'options': {'milestones': [3, 6], 'gamma': 0.5}}],
                    'milestones': [6]}, 20))
    out.append(run('ChainedScheduler LinearLR and ExponentialLR', 'ChainedScheduler',
                   {'schedulers': [{'scheduler': 'LinearLR', 'options': {'startFactor': 0.5, 'totalIters': 4}},
                                   {'scheduler': 'ExponentialLR', 'options': {'gamma': 0.9}}]}, 20))
    out.append(run('ChainedScheduler CosineAnnealingLR and StepLR', 'ChainedScheduler',
                   {'schedulers': [{'scheduler': 'CosineAnnealingLR', 'options': {'tMax': 8, 'etaMin': 0.001}},
                                   {'scheduler': 'StepLR', 'options': {'stepSize': 5, 'gamma': 0.5}}]}, 25))
    return out


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, 'test', 'fixtures', 'schedulers.json')
    data = {'generator': f'scripts/make_scheduler_fixtures.py torch {torch.__version__}', 'cases': cases()}
    for c in data['cases']:
        for row in c['lrs'] + c.get('momentum', []):
            assert all(math.isfinite(x) for x in row), c['name']
    with open(path, 'w') as f:
        json.dump(data, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {len(data["cases"])} cases to {path} ({os.path.getsize(path)} bytes)')


if __name__ == '__main__':
    main()
