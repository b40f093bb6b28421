#!/usr/bin/env bash
# Runs `c2rbench run --check` under mpirun and fails unless it exits 0, every cell reports zero wrong
# rows, and the report is valid JSON with one result per expected cell. C2R_TEST_EXPECT names
# further load properties the report must show:
#   rank-tokens - --rank-tokens was honoured: the rows checked add up to every rank's tokens, and
#                 ranks without tokens send nothing (dropless, dedup)
#   one-expert  - expert 0 received every token (--workload hot --hot-experts 1)
#   one-rank    - rank 0 received every row under the contiguous placement (--hot-experts k)
#   dropless-traffic - every per-pair strategy's cell moved the same bytes between the same ranks
#                 as the dropless cell of its routing and placement
#   dtype-bytes - every cell's rows are as large as its payload type makes them (docs/METRICS.md:
#                 fp32 4H, bf16 2H, fp8 H + 4 ceil(H/128), padded to 4 bytes, plus dedup's 2k
#                 inline floats), and it moved the rows its fp32 twin moved
#   replicas    - every eplb cell holds (E + replicas) / R expert slots on each rank, every expert
#                 in some slot, counts every pair on some rank, and (on more than one rank) loads
#                 its busiest rank less than the contiguous cell of its routing and strategy
#   overlap-rows - every pipelined cell (--overlap N > 1) moved and computed the same rows between
#                 the same ranks as its serial twin (dropless, dedup: chunking moves no other row;
#                 padded sizes capacity per chunk), and every cell reports its exposed communication
# With --min-time, every cell's samples must add up to that much layer time, or number --max-iters.
# Usage: run_check.sh C2RBENCH NP EXPECTED_CELLS [c2rbench run options...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"; np="$2"; cells="$3"; shift 3
out="$(mktemp -d)/report.json"
timeout 300 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none "$np" "$bin" run --check --quiet --out "$out" "$@"
python3 - "$out" "$cells" "${C2R_TEST_EXPECT:-}" "$here/../../results/phase.hpp" <<'PY'
import json, re, sys
report = json.load(open(sys.argv[1]))
# The reported phases, from their one list (kReportedPhases: Phase::kGate is "gate").
listed = re.search(r"kReportedPhases\s*=\s*\{(.*?)\};", open(sys.argv[4]).read(), re.S)
assert listed, f"no kReportedPhases in {sys.argv[4]}"
phases = [name.lower() for name in re.findall(r"Phase::k(\w+)", listed.group(1))]
assert "layer" in phases and len(phases) > 1, f"kReportedPhases reads as {phases}"
assert report["schema"] == "c2rbench.report" and report["schema_version"] == 1
results = report["results"]
assert len(results) == int(sys.argv[2]), f"expected {sys.argv[2]} cells, got {len(results)}"
for r in results:
    c = r["check"]
    assert c["checked"] and c["wrong_rows"] == 0, f"wrong rows in {r['routing']} {r['strategy']} {r['placement']}"
    assert c["rows"] > 0
    missing = [p for p in phases if p not in r["phases"]]
    assert not missing, f"phases {missing} missing in {r['routing']} {r['strategy']} {r['placement']}"
config = report["config"]
# With --min-time the timed loop runs past --iters until every cell has that much layer time (the
# samples are per-iteration maxima over ranks, so they add up to at least what decided), or until
# --max-iters; interleaved, every cell runs every round.
min_time = config.get("min_time_s", 0)
iterations = config["iterations"]
if min_time > 0:
    cap = config["max_iterations"]
    if config["order"] == "interleaved":
        iterations = config["rounds"]
        assert config["iterations"] <= iterations <= cap, f"{iterations} rounds"
    for r in results:
        n = r["phases"]["layer"]["n"]
        if config["order"] == "sequential":
            assert config["iterations"] <= n <= cap, f"{n} iterations"
        else:
            assert n == iterations, f"{n} samples in {iterations} rounds"
        spent = sum(r["phases"]["layer"]["samples_us"]) / 1e6
        assert spent >= min_time or n == cap, f"{spent} s of layer time in {n} iterations"
        for phase, stats in r["phases"].items():
            assert stats["n"] == n, f"{phase}: {stats['n']} samples, layer {n}"
else:
    assert min_time == 0 and "max_iterations" not in config
    for r in results:
        for phase, stats in r["phases"].items():  # the reported ones and any other timed (sync)
            assert stats["n"] == iterations, f"{phase}: {stats['n']} samples"
# The schedule: interleaved rounds run every cell once each, in a shuffled order.
if config["order"] == "interleaved":
    assert config["rounds"] == iterations, "rounds are the timed iterations"
    for i in range(iterations):
        positions = sorted(r["round_positions"][i] for r in results)
        assert positions == list(range(len(results))), f"round {i} is no order of the cells"
else:
    assert config["order"] == "sequential" and "rounds" not in config
    assert not any("round_positions" in r for r in results)
for r in results:
    if r["baseline"]:
        continue
    interval = r["speedup_interval"]
    assert interval["paired"] == (config["order"] == "interleaved")
    assert 0 <= interval["low"] <= interval["high"], f"speedup interval {interval}"
ranks = config["ranks"]
rank_tokens = config.get("rank_tokens", [config["tokens_per_rank"]] * ranks)
total = sum(rank_tokens)
k = config["model"]["top_k"]
for r in results:
    cell = f"{r['routing']} {r['strategy']} {r['placement']}"
    assert r["check"]["rows"] == total, f"{cell}: checked {r['check']['rows']} rows, not {total}"
    sent = [sum(row) for row in r["traffic"]["dispatch_bytes"]]
    received = [sum(col) for col in zip(*r["traffic"]["dispatch_bytes"])]
    expect = sys.argv[3]
    if expect == "rank-tokens":
        assert "rank_tokens" in config, "the report does not record --rank-tokens"
        for rank, tokens in enumerate(rank_tokens):
            if tokens == 0 and r["strategy"] != "padded":
                assert sent[rank] == 0, f"{cell}: rank {rank} has no tokens but sent {sent[rank]} B"
    elif expect == "one-expert":
        per_expert = r["load"]["tokens_per_expert"]
        assert per_expert[0] == total, f"{cell}: expert 0 got {per_expert[0]} of {total} tokens"
        if r["strategy"] == "padded":
            assert r["load"]["dropped_pairs"] > 0, f"{cell}: the hot expert overflowed nothing"
    elif expect == "one-rank":
        if r["placement"] == "contiguous":
            assert r["load"]["tokens_per_rank"][0] == total * k, f"{cell}: rank 0 load"
            if r["strategy"] != "padded":
                assert received[0] == sum(received) > 0, f"{cell}: rows reached other ranks"
    elif expect == "dropless-traffic":
        twin = [d for d in results if d["strategy"] == "dropless" and d["routing"] == r["routing"]
                and d["top_t"] == r["top_t"] and d["placement"] == r["placement"]
                and d["layer"] == r["layer"] and d.get("dtype") == r.get("dtype")
                and d.get("overlap", 1) == r.get("overlap", 1)]
        assert len(twin) == 1, f"{cell}: no dropless cell to compare with"
        for key in ("dispatch_bytes", "combine_bytes", "dispatch_row_bytes"):
            assert r["traffic"][key] == twin[0]["traffic"][key], f"{cell}: {key} differs from dropless"
        assert r["load"]["rows_computed_per_rank"] == twin[0]["load"]["rows_computed_per_rank"]
    elif expect == "dtype-bytes":
        hidden = config["model"]["hidden"]
        pad = lambda n: (n + 3) // 4 * 4
        inline = 4 * 2 * k if r["strategy"] == "dedup" else 0
        dispatch = {"fp32": 4 * hidden, "bf16": pad(2 * hidden),
                    "fp8": pad(hidden) + 4 * ((hidden + 127) // 128)}[r["dtype"]] + inline
        combine = {"fp32": 4 * hidden, "bf16": pad(2 * hidden), "fp8": pad(2 * hidden)}[r["dtype"]]
        t = r["traffic"]
        assert (t["dispatch_row_bytes"], t["combine_row_bytes"]) == (dispatch, combine), \
            f"{cell} {r['dtype']}: rows of {t['dispatch_row_bytes']} and {t['combine_row_bytes']} B"
        twin = [d for d in results if d["dtype"] == "fp32" and d["strategy"] == r["strategy"]
                and d["routing"] == r["routing"] and d["top_t"] == r["top_t"]
                and d["placement"] == r["placement"] and d["layer"] == r["layer"]
                and d.get("overlap", 1) == r.get("overlap", 1)]
        assert len(twin) == 1, f"{cell} {r['dtype']}: no fp32 cell to compare with"
        for key, size in (("dispatch_bytes", "dispatch_row_bytes"),
                          ("combine_bytes", "combine_row_bytes")):
            mine = [b * twin[0]["traffic"][size] for row in t[key] for b in row]
            theirs = [b * t[size] for row in twin[0]["traffic"][key] for b in row]
            assert mine == theirs, f"{cell} {r['dtype']}: {key} are not the fp32 rows resized"
    elif expect == "replicas":
        if r["placement"] != "eplb":
            continue
        experts = config["model"]["experts"]
        slots = r["rank_experts"]
        assert len(slots) == ranks and not r.get("expert_rank"), cell
        assert all(len(s) == (experts + config["replicas"]) // ranks for s in slots), f"{cell}: {slots}"
        assert sorted({e for s in slots for e in s}) == list(range(experts)), f"{cell}: {slots}"
        assert sum(r["load"]["tokens_per_rank"]) == total * k, f"{cell}: {r['load']}"
        if ranks > 1 and r["routing"] == "vanilla":
            twin = [d for d in results if d["placement"] == "contiguous" and d["routing"] == r["routing"]
                    and d["strategy"] == r["strategy"] and d["overlap"] == r["overlap"]]
            assert len(twin) == 1, f"{cell}: no contiguous cell to compare with"
            assert r["load"]["rank_imbalance"] < twin[0]["load"]["rank_imbalance"], \
                f"{cell}: rank imbalance {r['load']['rank_imbalance']} against contiguous " \
                f"{twin[0]['load']['rank_imbalance']}"
    elif expect == "overlap-rows":
        m = r["overlap_metrics"]
        assert m["exposed_communication"]["n"] == iterations and "efficiency" in m, f"{cell}: {m}"
        assert m["compute"]["median_us"] <= r["phases"]["layer"]["max_us"] + 1e-6, f"{cell}: {m}"
        if r["overlap"] == 1 or r["strategy"] == "padded":
            continue
        twin = [d for d in results if d["overlap"] == 1 and d["strategy"] == r["strategy"]
                and d["routing"] == r["routing"] and d["top_t"] == r["top_t"]
                and d["placement"] == r["placement"] and d["dtype"] == r["dtype"]]
        assert len(twin) == 1, f"{cell} overlap {r['overlap']}: no serial cell to compare with"
        for key in ("dispatch_bytes", "combine_bytes"):
            assert r["traffic"][key] == twin[0]["traffic"][key], \
                f"{cell} overlap {r['overlap']}: {key} differ from the serial layer's"
        assert r["load"]["rows_computed_per_rank"] == twin[0]["load"]["rows_computed_per_rank"]
        assert "dispatch" not in r["efficiency"], f"{cell}: a pipelined dispatch has no efficiency"
    elif expect:
        sys.exit(f"unknown C2R_TEST_EXPECT '{expect}'")
print(f"ok: {len(results)} cells, worst relative error "
      f"{max(r['check']['worst_relative_error'] for r in results):.2e}")
PY
