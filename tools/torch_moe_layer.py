#!/usr/bin/env python3
"""NAME     torch_moe_layer.py - the c2rbench MoE layer as a PyTorch user writes it
PURPOSE  The peer comparison for c2rbench's CUDA backend: one MoE layer on one GPU, the MegaBlocks
         dropless way (router GEMM, top-k, stable sort by expert, per-expert matmuls, weighted
         index_add back), timed per phase with CUDA events, written as a c2rbench report
         (schema c2rbench.report, version 1) so it sits beside c2rbench's own reports.
USAGE    python3 tools/torch_moe_layer.py [--preset llama-moe-3.5b] [--tokens 16384] [--iters 20]
             [--warmup 3] [--dtype fp32|bf16] [--out pytorch.json]
         python3 tools/torch_moe_layer.py --self-check    (statistics and report shape; no torch)
NOTES    The output is checked against a per-token float64 reference on sampled tokens before any
         time is taken (exit 1 if wrong). Shapes follow c2rbench's presets; the workload is random
         (Gaussian tokens and router), as c2rbench's --workload random.
"""

import argparse
import datetime
import json
import math
import os
import socket
import sys

PRESETS = {
    # experts, top_k, hidden, ffn, shared_ffn, full softmax gate weights (Qwen) or softmax over the
    # chosen logits (LLaMA-MoE); the same as c2rbench's model presets.
    "llama-moe-3.5b": dict(experts=8, top_k=2, hidden=4096, ffn=1376, shared_ffn=0,
                           gate_weights="softmax-over-chosen"),
    "qwen1.5-moe-a2.7b": dict(experts=60, top_k=4, hidden=2048, ffn=1408, shared_ffn=5632,
                              gate_weights="full-softmax"),
}
PHASES = ["gate", "permute", "dispatch", "expert", "combine", "unpermute", "layer"]


def percentile(sorted_values, fraction):
    """Linear interpolation between order statistics, as c2rbench (and numpy) do."""
    if not sorted_values:
        return 0.0
    position = fraction * (len(sorted_values) - 1)
    below = math.floor(position)
    above = min(below + 1, len(sorted_values) - 1)
    weight = position - below
    return sorted_values[below] * (1 - weight) + sorted_values[above] * weight


def stats_json(samples_us):
    """The statistics object of a c2rbench report phase."""
    s = sorted(samples_us)
    n = len(s)
    return {"median_us": percentile(s, 0.5), "mean_us": sum(s) / n if n else 0.0,
            "min_us": s[0] if n else 0.0, "max_us": s[-1] if n else 0.0,
            "p10_us": percentile(s, 0.10), "p90_us": percentile(s, 0.90),
            "p99_us": percentile(s, 0.99), "n": n, "samples_us": list(samples_us)}


def make_report(args, model, phase_samples, check, versions):
    """A c2rbench.report (version 1) with one cell: vanilla routing, dropless, contiguous."""
    phases = {name: stats_json(phase_samples.get(name, [0.0] * args.iters)) for name in PHASES}
    cell = {"routing": "vanilla", "top_t": None, "strategy": "dropless",
            "placement": "contiguous", "layer": 0, "baseline": True, "in_grid": True,
            "phases": phases, "check": check, "implementation": "pytorch"}
    return {
        "schema": "c2rbench.report", "schema_version": 1,
        "context": {"tool": "tools/torch_moe_layer.py", "hosts": [socket.gethostname()],
                    "ranks": 1, "versions": versions, "argv": sys.argv,
                    "start_time": datetime.datetime.now().astimezone().isoformat()},
        "config": {"model": dict(preset=args.preset, dtype=args.dtype, **model),
                   "backend": "pytorch", "tokens_per_rank": args.tokens, "ranks": 1,
                   "workload": {"kind": "random", "seed": args.seed}, "layers": [0],
                   "routing": ["vanilla"], "top_t": [], "strategy": ["dropless"],
                   "placement": ["contiguous"], "warmup": args.warmup,
                   "iterations": args.iters, "check": True, "tolerance": check["tolerance"]},
        "results": [cell],
    }


def write_new(path, text):
    """Writes through a temporary file and never replaces an existing file."""
    if os.path.exists(path):
        raise SystemExit(f"torch_moe_layer.py: refusing to overwrite existing file {path}")
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.link(tmp, path)
    os.unlink(tmp)


def run(args):
    try:
        import torch  # only here: --self-check needs no torch
        import torch.nn.functional as F
    except ImportError:
        print("torch_moe_layer.py: PyTorch is not installed; nothing measured", file=sys.stderr)
        return 2

    if not torch.cuda.is_available():
        print("torch_moe_layer.py: no CUDA device; nothing measured", file=sys.stderr)
        return 2
    model = PRESETS[args.preset]
    E, k, H, Fw, Fs = (model[key] for key in ("experts", "top_k", "hidden", "ffn", "shared_ffn"))
    full_softmax = model["gate_weights"] == "full-softmax"
    dtype = torch.float32 if args.dtype == "fp32" else torch.bfloat16
    dev = torch.device("cuda")
    gen = torch.Generator(device=dev).manual_seed(args.seed)
    T = args.tokens
    x = torch.randn(T, H, device=dev, generator=gen).to(dtype)
    w_router = (torch.randn(H, E, device=dev, generator=gen) / math.sqrt(H)).to(dtype)
    w_gate_up = (torch.randn(E, H, 2 * Fw, device=dev, generator=gen) / math.sqrt(H)).to(dtype)
    w_down = (torch.randn(E, Fw, H, device=dev, generator=gen) / math.sqrt(Fw)).to(dtype)
    if Fs:
        w_shared_gate = (torch.randn(H, device=dev, generator=gen) / math.sqrt(H)).to(dtype)
        w_shared_up = (torch.randn(H, 2 * Fs, device=dev, generator=gen) / math.sqrt(H)).to(dtype)
        w_shared_down = (torch.randn(Fs, H, device=dev, generator=gen) / math.sqrt(Fs)).to(dtype)

    def swiglu(rows, up, down, width):
        h = rows @ up
        return (F.silu(h[:, :width]) * h[:, width:]) @ down

    events = {}

    def mark(name):
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        events[name] = event

    def layer(timed):
        if timed:
            mark("start")
        logits = x @ w_router
        if full_softmax:
            weights, ids = torch.topk(torch.softmax(logits.float(), dim=-1), k, dim=-1)
        else:
            top, ids = torch.topk(logits.float(), k, dim=-1)
            weights = torch.softmax(top, dim=-1)
        if timed:
            mark("gate")
        flat = ids.reshape(-1)
        order = torch.argsort(flat, stable=True)
        token_of = order // k
        permuted = x[token_of]
        counts = torch.bincount(flat, minlength=E).tolist()  # group sizes on the host
        if timed:
            mark("permute")
        out = torch.empty_like(permuted)
        start = 0
        for e, count in enumerate(counts):
            if count:
                out[start:start + count] = swiglu(permuted[start:start + count], w_gate_up[e],
                                                  w_down[e], Fw)
            start += count
        if Fs:
            shared = swiglu(x, w_shared_up, w_shared_down, Fs)
        if timed:
            mark("expert")
        y = torch.zeros(T, H, device=dev, dtype=torch.float32)
        y.index_add_(0, token_of, out.float() * weights.reshape(-1)[order, None])
        if Fs:
            y += torch.sigmoid((x @ w_shared_gate).float())[:, None] * shared.float()
        if timed:
            mark("unpermute")
        return y, ids, weights

    # Check before timing: sampled tokens against a float64 per-token reference.
    y, ids, weights = layer(False)
    tolerance = 1e-4 if args.dtype == "fp32" else 3e-2
    worst = 0.0
    sample = torch.linspace(0, T - 1, steps=min(T, 32), device=dev).long()
    for t in sample.tolist():
        xt = x[t].double()
        want = torch.zeros(H, device=dev, dtype=torch.float64)
        for j in range(k):
            e = int(ids[t, j])
            h = xt @ w_gate_up[e].double()
            want += float(weights[t, j]) * ((F.silu(h[:Fw]) * h[Fw:]) @ w_down[e].double())
        if Fs:
            h = xt @ w_shared_up.double()
            want += torch.sigmoid(xt @ w_shared_gate.double()) * (
                (F.silu(h[:Fs]) * h[Fs:]) @ w_shared_down.double())
        worst = max(worst, float((y[t].double() - want).norm() / want.norm().clamp_min(1e-30)))
    check = {"checked": True, "worst_relative_error": worst, "wrong_rows": int(worst > tolerance),
             "rows": len(sample), "tolerance": tolerance}
    if worst > tolerance:
        print(f"torch_moe_layer.py: check failed (relative error {worst:.2e} > {tolerance})",
              file=sys.stderr)
        return 1

    samples = {name: [] for name in PHASES}
    for i in range(args.warmup + args.iters):
        layer(True)
        torch.cuda.synchronize()
        if i < args.warmup:
            continue
        previous = "start"
        for name in ("gate", "permute", "expert", "unpermute"):
            samples[name].append(events[previous].elapsed_time(events[name]) * 1e3)
            previous = name
        samples["layer"].append(events["start"].elapsed_time(events["unpermute"]) * 1e3)
    samples["dispatch"] = samples["combine"] = [0.0] * args.iters  # one GPU: no exchange
    versions = {"torch": torch.__version__, "cuda": torch.version.cuda,
                "device": torch.cuda.get_device_name()}
    report = make_report(args, model, samples, check, versions)
    medians = {name: report["results"][0]["phases"][name]["median_us"] for name in PHASES}
    print("# pytorch " + args.preset + f" {args.dtype}, {T} tokens: " +
          ", ".join(f"{name} {medians[name]:.1f} us" for name in PHASES))
    if args.out:
        write_new(args.out, json.dumps(report, indent=1) + "\n")
        print(f"# report: {args.out}")
    return 0


def self_check():
    """Statistics as c2rbench computes them, and a report its reader accepts (no torch needed)."""
    s = stats_json([4.0, 1.0, 3.0, 2.0])
    assert s["median_us"] == 2.5 and abs(s["p10_us"] - 1.3) < 1e-12 and s["n"] == 4, s
    assert s["min_us"] == 1.0 and s["max_us"] == 4.0 and s["mean_us"] == 2.5, s
    args = argparse.Namespace(preset="llama-moe-3.5b", dtype="fp32", tokens=8, seed=1, warmup=1,
                              iters=2)
    report = make_report(args, PRESETS[args.preset], {"layer": [1.0, 2.0]},
                         {"checked": True, "tolerance": 1e-4}, {})
    assert report["schema"] == "c2rbench.report" and report["schema_version"] == 1
    assert isinstance(report["context"], dict) and isinstance(report["config"], dict)
    (cell,) = report["results"]
    assert set(cell["phases"]) == set(PHASES) and cell["phases"]["layer"]["median_us"] == 1.5
    json.dumps(report)
    print("ok: statistics and report shape")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--preset", default="llama-moe-3.5b", choices=sorted(PRESETS))
    parser.add_argument("--tokens", type=int, default=16384)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="")
    parser.add_argument("--self-check", action="store_true")
    args = parser.parse_args()
    if args.self_check:
        return self_check()
    if args.tokens < 1 or args.iters < 1 or args.warmup < 0:
        parser.error("--tokens and --iters must be at least 1, --warmup at least 0")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
