#!/usr/bin/env python3
"""NAME     run_user_trace.py - a user's routing, from a PyTorch-style dump to c2rbench run and tune
PURPOSE  Writes the top-4-of-16 expert ids (and float64 weights) of 3 layers as one seeded
         [layers, tokens, k] .npy file, as numpy.save would (its own writer: numpy is not needed),
         converts it with tools/routing_to_trace.py (both layouts), then checks that
           - `c2rbench run --workload trace --trace FILE --check` at 2 ranks routes every token to
             exactly its trace row (token g takes row g mod tokens): trace_match 1 for vanilla,
             co-activation and per-expert loads equal to the trace's own, every cell checked;
           - C2R's Top-T comes from the trace's co-activation and keeps each token's first expert;
           - `c2rbench tune --trace FILE --validate` tunes every layer of the trace and predicts
             the traffic it measures to the byte, and `run --placement` runs its tuning file;
           - the converter and c2rbench refuse a bad trace with one message.
USAGE    run_user_trace.py C2RBENCH REPO_ROOT
"""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # importing tests/npy_files.py must leave no __pycache__
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from npy_files import npy  # noqa: E402 (tests/npy_files.py)

EXPERTS, TOP_K, LAYERS, TRACE_TOKENS = 16, 4, 3, 80
SIZES = ["--hidden", "64", "--ffn", "32", "--tokens", "64"]


def routing():
    """Seeded [layers][tokens][k] ids with structure (experts cluster in fours) and weights."""
    rng = random.Random(20240611)
    ids, weights = [], []
    for _ in range(LAYERS):
        layer_ids, layer_w = [], []
        for _ in range(TRACE_TOKENS):
            group = rng.randrange(EXPERTS // 4)
            row = rng.sample(range(4 * group, 4 * group + 4), 3) + [rng.randrange(EXPERTS)]
            while len(set(row)) < TOP_K:
                row[3] = rng.randrange(EXPERTS)
            raw = sorted((rng.random() for _ in range(TOP_K)), reverse=True)
            layer_ids.append(row)
            layer_w.append([w / sum(raw) for w in raw])
        ids.append(layer_ids)
        weights.append(layer_w)
    return ids, weights


def run(cmd, expect=0):
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=300)
    if done.returncode != expect:
        print(done.stdout, done.stderr, sep="\n")
        raise SystemExit(f"FAIL: exit {done.returncode} (expected {expect}): {' '.join(cmd)}")
    return done


def coactivation(rows):
    """E x E co-activation counts of rows of k experts, row-major, as a report's load."""
    counts = [0] * (EXPERTS * EXPERTS)
    for row in rows:
        for a in row:
            for b in row:
                if a != b:
                    counts[a * EXPERTS + b] += 1
    return counts


def main():
    c2rbench, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    mpirun = [os.path.join(root, "scripts", "mpirun.sh"), "--oversubscribe", "--bind-to", "none",
              "2", c2rbench]
    tool = [sys.executable, os.path.join(root, "tools", "routing_to_trace.py")]
    work = tempfile.mkdtemp(prefix="c2r-user-trace-")
    path = lambda name: os.path.join(work, name)  # noqa: E731

    ids, weights = routing()
    flat_ids = [e for layer in ids for row in layer for e in row]
    flat_w = [w for layer in weights for row in layer for w in row]
    shape = (LAYERS, TRACE_TOKENS, TOP_K)
    with open(path("ids.npy"), "wb") as f:
        f.write(npy(flat_ids, shape, "<i8", "q"))
    with open(path("weights.npy"), "wb") as f:
        f.write(npy(flat_w, shape, "<f8", "d"))

    # Both layouts: a manifest with one .npy file per layer and array, and inline JSON.
    run(tool + ["--experts", str(EXPERTS), "--ids", path("ids.npy"), "--weights",
                path("weights.npy"), "--model", "test-moe", "--layout", "npy", "--out",
                path("trace.json")])
    run(tool + ["--experts", str(EXPERTS), "--ids", path("ids.npy"), "--layout", "inline",
                "--out", path("inline.json")])
    manifest = json.load(open(path("trace.json")))
    assert manifest["schema"] == "c2rbench.trace" and manifest["top_k"] == TOP_K, manifest
    assert [l["layer"] for l in manifest["layers"]] == [0, 1, 2], manifest
    assert all(os.path.exists(path(l["expert_ids_npy"])) for l in manifest["layers"])
    inline = json.load(open(path("inline.json")))
    assert [l["expert_ids"] for l in inline["layers"]] == ids

    # The converter refuses what c2rbench would: an id outside 0..E-1, a file it would replace.
    bad = run(tool + ["--experts", "8", "--ids", path("ids.npy"), "--out", path("bad.json")], 2)
    assert "outside 0..7" in bad.stderr, bad.stderr
    run(tool + ["--experts", "16", "--ids", path("ids.npy"), "--out", path("inline.json")], 2)

    # run: every layer, vanilla and C2R, two exchanges, two placements, checked.
    run(mpirun + ["run", "--workload", "trace", "--trace", path("trace.json")] + SIZES +
        ["--layer", "all", "--routing", "vanilla,c2r", "--top-t", "3,8",
         "--strategy", "dropless,dedup", "--placement", "contiguous,collab", "--iters", "1",
         "--warmup", "1", "--check", "--quiet", "--out", path("run.json")])
    report = json.load(open(path("run.json")))
    config = report["config"]
    assert config["model"]["experts"] == EXPERTS and config["model"]["top_k"] == TOP_K
    assert config["model"]["preset"] == "custom", config["model"]
    assert config["workload"]["trace"] == path("trace.json"), config["workload"]
    assert config["layers"] == [0, 1, 2], config["layers"]
    tokens = 2 * 64  # global tokens 0..127 take trace rows g mod 80
    results = report["results"]
    assert len(results) == 3 * (4 + 2 * 4), len(results)
    for r in results:
        assert r["check"]["checked"] and r["check"]["wrong_rows"] == 0, r["check"]
        rows = [ids[r["layer"]][g % TRACE_TOKENS] for g in range(tokens)]
        load = r["load"]
        if r["routing"] == "vanilla":
            assert r["trace_match"] == 1.0, (r["layer"], r["trace_match"])
            assert load["coactivation"] == coactivation(rows), r["layer"]
            assert load["tokens_per_expert"] == [sum(row.count(e) for row in rows)
                                                 for e in range(EXPERTS)]
        else:
            # C2R keeps each token's first expert and constrains the rest to its Top-T lists,
            # profiled from this routing: T = 3 = k - 1 must move some tokens' experts.
            assert 0.0 <= r["trace_match"] <= 1.0, r["trace_match"]
            if r["top_t"] == 3:
                assert r["trace_match"] < 1.0, r["trace_match"]
            assert "profiled" in r["top_t_source"], r["top_t_source"]
            firsts = [row[0] for row in rows]
            assert load["tokens_per_expert"] != [] and sum(load["tokens_per_expert"]) == \
                TOP_K * tokens
            assert all(load["tokens_per_expert"][e] >= firsts.count(e) for e in range(EXPERTS))

    # tune: every layer of the trace by default, validated; its tuning file run and checked.
    run(mpirun + ["tune", "--trace", path("inline.json")] + SIZES +
        ["--validate", "--warmup", "1", "--iters", "1", "--quiet", "--out", path("tuned.json")])
    tuned = json.load(open(path("tuned.json")))
    assert tuned["experts"] == EXPERTS and [l["layer"] for l in tuned["layers"]] == [0, 1, 2]
    assert tuned["workload"]["trace"] == path("inline.json"), tuned["workload"]
    for p in tuned["validation"]["points"]:
        assert p["predicted"]["remote_bytes"] == p["measured"]["remote_bytes"], p
    routing_args = ["--routing", tuned["routing"]]
    if tuned["routing"] == "c2r":
        routing_args += ["--top-t", str(tuned["top_t"])]
    run(mpirun + ["run", "--trace", path("inline.json")] + SIZES +
        ["--layer", "all", "--strategy", tuned["strategy"], "--placement",
         "contiguous," + path("tuned.json"), "--iters", "1", "--warmup", "1", "--check",
         "--quiet", "--out", path("run-tuned.json")] + routing_args)

    # Refused, one message, both ranks stopped: another preset's shape, a layer the trace lacks.
    for extra, message in [(["--preset", "llama-moe-3.5b"], "has 16 experts and top-4; --preset"),
                           (["--layer", "7"], "--layer 7 is not in --trace")]:
        done = run(mpirun + ["run", "--trace", path("trace.json")] + SIZES + extra +
                   ["--quiet", "--out", path("refused.json")], 2)
        assert done.stderr.count("c2rbench: error") == 1 and message in done.stderr, done.stderr
        assert not os.path.exists(path("refused.json"))
    shutil.rmtree(work)  # kept when a check fails, to look at
    print("ok: user trace converted, run (trace_match 1), tuned and refused when bad")


if __name__ == "__main__":
    main()
