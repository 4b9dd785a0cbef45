"""PyTorch 1.13 reference for gradient clipping (test/fixtures/clip.json).

Regenerate: /usr/bin/python3 scripts/make_clip_fixtures.py
Each case: the gradients of three parameters before clipping, the call's arguments, the
value torch returns and the gradients after.
"""
import json
import torch

torch.manual_seed(0)
shapes = [(4, 3), (7,), (2, 5)]
cases = []
for name, max_norm, norm_type, scale in [
    ("l2_clipped", 1.0, 2.0, 1.0), ("l2_not_clipped", 100.0, 2.0, 1.0), ("l1_clipped", 2.0, 1.0, 1.0),
    ("inf_clipped", 0.3, "inf", 1.0), ("p3_clipped", 0.5, 3.0, 1.0), ("l2_zero_max", 0.0, 2.0, 1.0),
    ("l2_large", 5.0, 2.0, 1000.0),
]:
    params = [torch.nn.Parameter(torch.zeros(s)) for s in shapes]
    for p in params:
        p.grad = (torch.rand(p.shape) * 2 - 1) * scale
    before = [p.grad.clone() for p in params]
    nt = float("inf") if norm_type == "inf" else norm_type
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=nt)
    cases.append({
        "name": name, "fn": "norm", "maxNorm": max_norm, "normType": norm_type,
        "shapes": [list(s) for s in shapes],
        "before": [b.flatten().double().tolist() for b in before],
        "after": [p.grad.flatten().double().tolist() for p in params],
        "total": float(total),
    })
for clip in [0.25, 0.0]:
    params = [torch.nn.Parameter(torch.zeros(s)) for s in shapes]
    for p in params:
        p.grad = torch.rand(p.shape) * 2 - 1
    before = [p.grad.clone() for p in params]
    torch.nn.utils.clip_grad_value_(params, clip)
    cases.append({
        "name": f"value_{clip}", "fn": "value", "clipValue": clip, "shapes": [list(s) for s in shapes],
        "before": [b.flatten().double().tolist() for b in before],
        "after": [p.grad.flatten().double().tolist() for p in params],
    })
with open("test/fixtures/clip.json", "w") as f:
    json.dump({"generator": f"torch {torch.__version__}", "cases": cases}, f)
print(len(cases), "cases")
