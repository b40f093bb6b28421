#!/usr/bin/env python3
"""NAME     validate_outputs.py - every file format c2rbench writes or reads, against schemas/*.json
PURPOSE  Produces real outputs of every command with small sizes and validates each against its
         JSON Schema (python3-jsonschema, the validator class the schema's $schema names):
           - c2rbench.report: `run` with --check, several layers (summary), padded/dropless/dedup,
             contiguous, collab, eplb --replicas 2 and placement files; a --sweep tokens=8,16 run
             with --min-time; --overlap 1,2 with --dtype fp32,bf16 run in sequence; a user's trace
             with --rank-tokens; the partial results a killed run leaves (FILE.partial);
             scripts/sweep_ranks.sh's merged report; the PyTorch peer's report shape
             (tools/torch_moe_layer.py, without torch);
           - c2rbench.tuning: `tune --validate --overlap 1,2` on this job's ranks, reusing the
             `topo` profile, and a simulated 64-GPU cluster with replicated experts;
           - c2rbench.cluster: `topo --out` (and the tuning file's embedded profile);
           - c2rbench.placement: version 1 and 2 files written here and run by `run --placement`;
           - c2rbench.cluster-spec: examples/clusters/*.json;
           - c2rbench.trace: tools/routing_to_trace.py's inline and .npy layouts of a generated
             .npy dump, and an inline trace written here, run by `run --trace`.
         Then breaks files on purpose (a negative median, a missing required field, a wrong schema
         name, ...) and checks that each fails its schema; where c2rbench's own reader refuses the
         same break, it checks that too (exit status 2, the file named), so the schemas and the
         readers agree.
USAGE    validate_outputs.py C2RBENCH REPO_ROOT
         Prints "SKIPPED: python3-jsonschema missing" and exits 0 where jsonschema is not installed
         (ctest reports the test skipped); scripts/setup.sh installs python3-jsonschema.
"""

import copy
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # importing tools/torch_moe_layer.py must leave no __pycache__
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from npy_files import npy  # noqa: E402 (tests/npy_files.py)

SMALL = ["--hidden", "64", "--ffn", "48", "--tokens", "16", "--iters", "1", "--warmup", "1",
         "--quiet"]
SCHEMAS = ["report", "tuning", "placement", "cluster-profile", "cluster-spec", "trace"]


def fail(message):
    raise SystemExit("FAIL: " + message)


def load_json(path):
    """JSON as c2rbench reads it: NaN and Infinity are malformed."""
    def refuse(name):
        raise ValueError(f"{path}: {name} is not JSON")
    with open(path) as f:
        return json.load(f, parse_constant=refuse)


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    return path


class Runner:
    def __init__(self, c2rbench, root):
        self.c2rbench, self.root = c2rbench, root

    def __call__(self, args, np=None, expect=0, timeout=300, env=None):
        """Runs c2rbench (under scripts/mpirun.sh with NP ranks when np is given)."""
        for _ in range(60):  # a rebuild relinks the binary: wait for it to come back
            if os.access(self.c2rbench, os.X_OK):
                break
            time.sleep(1)
        cmd = [self.c2rbench] + args
        if np is not None:
            cmd = [os.path.join(self.root, "scripts", "mpirun.sh"), "--oversubscribe", "--bind-to",
                   "none", str(np)] + cmd
        return self.command(cmd, expect, timeout, env)

    @staticmethod
    def command(cmd, expect=0, timeout=300, env=None):
        start = time.monotonic()
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout, env=env)
        # Each command's time, for the test's log: this test is one of the suite's longest.
        shown = [os.path.basename(c) if os.path.isabs(c) else c for c in cmd]
        print(f"{time.monotonic() - start:6.1f} s  {' '.join(shown)[:150]}")
        if expect == "failure" and done.returncode != 0:
            return done
        if done.returncode != expect:
            print(done.stdout[-4000:], done.stderr[-4000:], sep="\n")
            fail(f"exit {done.returncode} (expected {expect}): {' '.join(cmd)}")
        return done


def make_validators(root, jsonschema):
    from jsonschema.validators import validator_for
    validators = {}
    for name in SCHEMAS:
        path = os.path.join(root, "schemas", name + ".schema.json")
        schema = load_json(path)
        cls = validator_for(schema, default=None)
        if cls is None:
            fail(f"{path}: $schema {schema.get('$schema')!r} is not a draft this jsonschema knows")
        cls.check_schema(schema)
        validators[name] = cls(schema)
    try:
        from importlib.metadata import version
        release = version("jsonschema")
    except Exception:  # noqa: BLE001 - only for the message
        release = "?"
    print(f"schemas: {len(validators)} loaded and well-formed ({cls.__name__}, "
          f"jsonschema {release})")
    return validators


def errors_of(validators, schema, doc):
    return sorted(validators[schema].iter_errors(doc), key=lambda e: list(e.absolute_path))


def expect_valid(validators, schema, doc, label):
    errors = errors_of(validators, schema, doc)
    if errors:
        for e in errors[:20]:
            where = "/".join(map(str, e.absolute_path)) or "(top)"
            print(f"  {label}: {where}: {e.message[:300]}")
        fail(f"{label} does not validate against schemas/{schema}.schema.json "
             f"({len(errors)} errors)")
    print(f"ok: {label} is a valid {schema}")


# --- real outputs -------------------------------------------------------------------------------

def placement_files(work):
    """A version 1 file (every layer, and layer 1 of its own) and a version 2 file whose layer 0
    replicates experts 0 and 4 (5 slots per rank), for 8 experts on 2 ranks."""
    v1 = write_json(os.path.join(work, "placement-v1.json"), {
        "schema": "c2rbench.placement", "schema_version": 1, "experts": 8, "ranks": 2,
        "expert_rank": [0, 1, 0, 1, 0, 1, 0, 1],
        "layers": [{"layer": 1, "expert_rank": [0, 0, 1, 1, 0, 0, 1, 1]}]})
    v2 = write_json(os.path.join(work, "placement-v2.json"), {
        "schema": "c2rbench.placement", "schema_version": 2, "experts": 8, "ranks": 2,
        "expert_rank": [0, 0, 0, 0, 1, 1, 1, 1],
        "layers": [{"layer": 0, "rank_experts": [[0, 1, 2, 3, 4], [4, 5, 6, 7, 0]]}]})
    return v1, v2


def trace_files(work, root):
    """A seeded [layers, tokens, k] dump of top-4-of-16 ids (and float64 weights) as .npy,
    converted by tools/routing_to_trace.py to both layouts, and an inline trace written here."""
    experts, k, layers, tokens = 16, 4, 2, 24
    ids, weights = [], []
    for layer in range(layers):
        for t in range(tokens):
            first = (t * 5 + layer) % experts
            ids += [first, (first + 1) % experts, (first + 4) % experts, (first + 9) % experts]
            weights += [0.4, 0.3, 0.2, 0.1]
    with open(os.path.join(work, "ids.npy"), "wb") as f:
        f.write(npy(ids, (layers, tokens, k), "<i8", "q"))
    with open(os.path.join(work, "weights.npy"), "wb") as f:
        f.write(npy(weights, (layers, tokens, k), "<f8", "d"))
    tool = [sys.executable, os.path.join(root, "tools", "routing_to_trace.py"), "--experts",
            str(experts), "--ids", os.path.join(work, "ids.npy"), "--weights",
            os.path.join(work, "weights.npy"), "--model", "schema-test"]
    npy_trace = os.path.join(work, "trace-npy.json")
    inline_trace = os.path.join(work, "trace-inline.json")
    Runner.command(tool + ["--layout", "npy", "--out", npy_trace])
    Runner.command(tool + ["--layout", "inline", "--out", inline_trace])
    written = write_json(os.path.join(work, "trace-written.json"), {
        "schema": "c2rbench.trace", "schema_version": 1, "experts": 8, "top_k": 2,
        "source": "validate_outputs.py", "layers": [
            {"layer": 3, "expert_ids": [[3, 1], [0, 7], [5, 4], [2, 6]],
             "weights": [[0.6, 0.4], [0.5, 0.5], [0.7, 0.3], [0.9, 0.1]]},
            {"layer": 0, "expert_ids": [[1, 2], [6, 0]]}]})
    return npy_trace, inline_trace, written


def peer_report(root):
    """The PyTorch peer's report (tools/torch_moe_layer.py's make_report, as its run writes it)."""
    import argparse
    sys.path.insert(0, os.path.join(root, "tools"))
    try:
        import torch_moe_layer as peer
    finally:
        sys.path.pop(0)
    args = argparse.Namespace(preset="qwen1.5-moe-a2.7b", dtype="bf16", tokens=64, seed=1,
                              warmup=1, iters=3)
    samples = {name: [1.5, 2.0, 2.5] for name in peer.PHASES}
    samples["dispatch"] = samples["combine"] = [0.0] * 3  # one GPU: no exchange
    check = {"checked": True, "worst_relative_error": 1e-3, "wrong_rows": 0, "rows": 16,
             "tolerance": 2e-2}
    versions = {"torch": "2.3.0", "cuda": "12.1", "device": "NVIDIA H100 80GB HBM3"}
    return peer.make_report(args, peer.PRESETS[args.preset], samples, check, versions)


def produce(run, work, root):
    """Every command's output; returns [(schema, label, path or document)]."""
    out = lambda name: os.path.join(work, name)  # noqa: E731
    files = []
    v1, v2 = placement_files(work)
    files += [("placement", "placement file version 1", v1),
              ("placement", "placement file version 2 (rank_experts)", v2)]
    npy_trace, inline_trace, written_trace = trace_files(work, root)
    files += [("trace", "trace (.npy layout, routing_to_trace.py)", npy_trace),
              ("trace", "trace (inline layout, routing_to_trace.py)", inline_trace),
              ("trace", "trace (inline, written here)", written_trace)]
    for spec in sorted(glob.glob(os.path.join(root, "examples", "clusters", "*.json"))):
        files.append(("cluster-spec", os.path.relpath(spec, root), spec))

    run(["run"] + SMALL + ["--layer", "0,1", "--check", "--routing", "vanilla,c2r", "--top-t", "1",
                           "--strategy", "padded,dropless,dedup", "--placement", "contiguous,eplb",
                           "--replicas", "2", "--out", out("run.json")], np=2)
    files.append(("report", "run report (--check, 2 layers, eplb --replicas 2)", out("run.json")))
    run(["run"] + SMALL + ["--layer", "0,1", "--check", "--routing", "vanilla", "--strategy",
                           "dropless,dedup", "--placement", f"collab,{v1},{v2}",
                           "--out", out("run-placements.json")], np=2)
    files.append(("report", "run report (collab and placement files)",
                  out("run-placements.json")))
    run(["run"] + SMALL + ["--sweep", "tokens=8,16", "--min-time", "0.0005", "--max-iters", "3",
                           "--routing", "vanilla", "--strategy", "dropless,dedup",
                           "--placement", "contiguous", "--check", "--out", out("sweep.json")],
        np=2)
    files.append(("report", "run report (--sweep tokens=8,16, --min-time)", out("sweep.json")))
    run(["run"] + SMALL + ["--overlap", "1,2", "--dtype", "fp32,bf16", "--order", "sequential",
                           "--routing", "vanilla", "--strategy", "dropless,dedup",
                           "--placement", "contiguous", "--check", "--out", out("overlap.json")],
        np=2)
    files.append(("report", "run report (--overlap 1,2, --dtype fp32,bf16, sequential)",
                  out("overlap.json")))
    run(["run", "--trace", inline_trace, "--hidden", "64", "--ffn", "32", "--rank-tokens", "12,4",
         "--iters", "1", "--warmup", "1", "--quiet", "--routing", "vanilla,c2r", "--top-t", "8",
         "--strategy", "dedup", "--placement", "contiguous", "--check",
         "--out", out("trace-run.json")], np=2)
    files.append(("report", "run report (--trace, --rank-tokens)", out("trace-run.json")))
    # A job whose rank 1 dies in the second cell leaves the partial results of the first
    # (FILE.partial, marked incomplete) where c2rbench writes them.
    run(["run"] + SMALL + ["--routing", "vanilla", "--strategy", "dropless,dedup", "--placement",
                           "contiguous", "--order", "sequential", "--inject-fault",
                           "exit:1:dispatch:3", "--timeout", "60", "--out", out("killed.json")],
        np=2, expect="failure")
    if os.path.exists(out("killed.json.partial")):
        files.append(("report", "partial results of a killed run", out("killed.json.partial")))
    else:
        print("note: the killed run left no partial results (this c2rbench writes none)")
    env = dict(os.environ, C2RBENCH=run.c2rbench, MPIRUN_OPTIONS="--oversubscribe --bind-to none")
    Runner.command([os.path.join(root, "scripts", "sweep_ranks.sh"), "1 2", out("ranks"),
                    "--hidden", "64", "--ffn", "48", "--tokens", "16", "--iters", "1",
                    "--warmup", "1", "--routing", "vanilla", "--strategy", "dropless",
                    "--placement", "contiguous"], timeout=300, env=env)
    files.append(("report", "scripts/sweep_ranks.sh merged report", out("ranks/sweep.json")))
    files.append(("report", "PyTorch peer report (tools/torch_moe_layer.py)", peer_report(root)))

    run(["topo", "--repetitions", "3", "--out", out("cluster.json")], np=2)
    files.append(("cluster-profile", "topo --out profile", out("cluster.json")))
    run(["tune", "--cluster", out("cluster.json"), "--hidden", "64", "--ffn", "48", "--tokens",
         "16", "--layer", "0", "--validate", "--overlap", "1,2", "--warmup", "1", "--iters", "1",
         "--quiet", "--out", out("tuned.json")], np=2)
    files.append(("tuning", "tune --validate --overlap 1,2 (topo profile)", out("tuned.json")))
    run(["tune", "--cluster", os.path.join(root, "examples", "clusters", "dgx-h100-8x8.json"),
         "--experts", "64", "--top-k", "2", "--hidden", "64", "--ffn", "48", "--workload", "hot",
         "--hot-experts", "2", "--tokens", "256", "--sample-tokens", "2048", "--routing",
         "vanilla", "--strategy", "dropless", "--replicas", "0,64", "--search-seconds", "5",
         "--quiet", "--out", out("tuned-sim.json")], np=1)
    files.append(("tuning", "tune --cluster dgx-h100-8x8 --replicas 0,64 (simulated)",
                  out("tuned-sim.json")))
    return files


def check_coverage(docs):
    """The outputs hold what the schemas' optional parts describe, so those parts are exercised."""
    reports = [d for s, _, d in docs if s == "report"]
    cells = [c for r in reports for c in r["results"]]
    wanted = {
        "summary": any("summary" in r for r in reports),
        "contexts (merged sweep)": any("contexts" in r for r in reports),
        "config.sweep.tokens_per_rank": any("tokens_per_rank" in r["config"].get("sweep", {})
                                            for r in reports),
        "config.sweep.rounds": any("rounds" in r["config"].get("sweep", {}) for r in reports),
        "config.rank_tokens": any("rank_tokens" in r["config"] for r in reports),
        "config.workload.trace": any("trace" in r["config"].get("workload", {}) for r in reports),
        "rank_experts": any(c.get("rank_experts") for c in cells),
        "placement_search": any("placement_search" in c for c in cells),
        "speedup_vs_eplb": any("speedup_vs_eplb" in c for c in cells),
        "round_positions": any("round_positions" in c for c in cells),
        "overlap 2": any(c.get("overlap") == 2 for c in cells),
        "bf16": any(c.get("dtype") == "bf16" for c in cells),
        "checked": any(c.get("check", {}).get("checked") for c in cells),
        "top_t_source": any("top_t_source" in c for c in cells),
        "trace_match": any("trace_match" in c for c in cells),
    }
    tunings = [d for s, _, d in docs if s == "tuning"]
    wanted["tuning rank_experts"] = any(l.get("rank_experts") for t in tunings
                                        for l in t["layers"])
    wanted["tuning validation"] = any("validation" in t for t in tunings)
    wanted["tuning profile"] = any(t["profile"] for t in tunings)
    missing = [name for name, seen in wanted.items() if not seen]
    if missing:
        fail("the outputs no longer hold " + ", ".join(missing) + ": the test exercises less")
    print(f"ok: the outputs cover {len(wanted)} optional parts of the formats")


# --- broken files -------------------------------------------------------------------------------

def setter(path, value):
    """A mutation: set doc[path...] = value (value DELETE removes the key)."""
    def apply(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return apply


DELETE = object()


def in_a_result(path, value):
    """A mutation of the first result that holds path[:-1] (results differ in what they hold)."""
    def apply(doc):
        for cell in doc["results"]:
            target = cell
            try:
                for key in path[:-1]:
                    target = target[key]
            except (KeyError, IndexError):
                continue
            setter(path, value)(cell)
            return
        fail(f"no result holds {'.'.join(map(str, path[:-1]))}")
    return apply


def broken_cases(work, paths):
    """(schema, label, base file, mutation, how c2rbench reads the file or None)."""
    run_json, tuned, cluster, spec = (paths[k] for k in ("run", "tuned", "cluster", "spec"))
    v1, v2, trace = paths["v1"], paths["v2"], paths["trace"]
    first_phase = ("results", 0, "phases", "layer", "median_us")
    return [
        ("report", "a negative median", run_json, setter(first_phase, -1.0), "report"),
        ("report", "no results (required)", run_json, setter(("results",), DELETE), "report"),
        ("report", "no results (empty)", run_json, setter(("results",), []), "report"),
        ("report", "a result without phases", run_json,
         setter(("results", 0, "phases"), DELETE), "report"),
        ("report", "another schema name", run_json, setter(("schema",), "c2rbench.tuning"),
         "report"),
        ("report", "a newer schema_version", run_json, setter(("schema_version",), 2), "report"),
        ("report", "a dropped fraction above 1", run_json,
         setter(("results", 0, "load", "dropped_fraction"), 1.5), "report"),
        ("report", "an unknown payload type", run_json, setter(("results", 0, "dtype"), "fp16"),
         "report"),
        ("report", "a negative Top-T", run_json, setter(("results", 0, "top_t"), -1), "report"),
        ("report", "a string count", run_json,
         setter(("results", 0, "check", "wrong_rows"), "3"), "report"),
        ("report", "a confidence of 1", run_json,
         in_a_result(("speedup_interval", "confidence"), 1.0), "report"),
        ("report", "a negative byte count in a matrix", run_json,
         setter(("results", 0, "traffic", "dispatch_bytes", 0, 1), -2), "report"),
        ("report", "a workload without kind", run_json,
         setter(("config", "workload", "kind"), DELETE), None),
        ("report", "0 ranks", run_json, setter(("config", "ranks"), 0), "report"),
        ("report", "a negative summary ratio", run_json,
         setter(("summary", 0, "layer_time_ratio"), -1.0), "report"),
        ("report", "an unknown routing", run_json, setter(("results", 0, "routing"), "topk"),
         None),
        ("report", "a checked cell without wrong_rows", run_json,
         setter(("results", 0, "check", "wrong_rows"), DELETE), None),
        ("report", "a merged sweep without contexts", paths["ranks"],
         setter(("contexts",), DELETE), None),
        ("tuning", "a negative predicted layer time", tuned,
         setter(("layers", 0, "predicted", "tuned", "layer_us"), -5.0), "tuning"),
        ("tuning", "another schema name", tuned, setter(("schema",), "c2rbench.report"),
         "tuning"),
        ("tuning", "a Spearman correlation above 1", tuned,
         setter(("validation", "spearman_layer"), 1.5), "tuning"),
        ("tuning", "a dropped fraction above 1", tuned,
         setter(("capacity_table", 0, "max_dropped_fraction"), 2.0), "tuning"),
        ("tuning", "a validation point without measured", tuned,
         setter(("validation", "points", 0, "measured"), DELETE), "tuning"),
        ("tuning", "no layers (required)", tuned, setter(("layers",), DELETE), None),
        ("tuning", "no schema_version", tuned, setter(("schema_version",), DELETE), None),
        ("placement", "another schema name", v1, setter(("schema",), "c2rbench.cluster"),
         "placement"),
        ("placement", "no experts (required)", v1, setter(("experts",), DELETE), "placement"),
        ("placement", "a version 3 file", v2, setter(("schema_version",), 3), "placement"),
        ("placement", "rank_experts in a version 1 file", v2, setter(("schema_version",), 1),
         "placement"),
        ("placement", "a negative layer", v1, setter(("layers", 0, "layer"), -1), "placement"),
        ("placement", "a layer entry with both lists", v2,
         setter(("layers", 0, "expert_rank"), [0, 0, 0, 0, 1, 1, 1, 1]), "placement"),
        ("placement", "no placement at all", v1,
         lambda d: (d.pop("expert_rank"), d.pop("layers")), "placement"),
        ("cluster-profile", "a negative latency", cluster, setter(("latency_s", 1), -1e-6),
         "profile"),
        ("cluster-profile", "no alltoall (required)", cluster, setter(("alltoall",), DELETE),
         "profile"),
        ("cluster-profile", "no fitted bandwidth", cluster,
         setter(("alltoall", "fit_bandwidth_Bps"), 0.0), "profile"),
        ("cluster-profile", "another schema name", cluster,
         setter(("schema",), "c2rbench.cluster-spec"), "profile"),
        ("cluster-spec", "several nodes and no inter_node", spec,
         setter(("inter_node",), DELETE), "spec"),
        ("cluster-spec", "a negative bandwidth", spec,
         setter(("intra_node", "bandwidth_GBps"), -450.0), "spec"),
        ("cluster-spec", "no expert_gemm_tflops (required)", spec,
         setter(("expert_gemm_tflops",), DELETE), "spec"),
        ("cluster-spec", "schema_version 2", spec, setter(("schema_version",), 2), "spec"),
        ("trace", "another schema name", trace, setter(("schema",), "c2rbench.report"), "trace"),
        ("trace", "0 experts", trace, setter(("experts",), 0), "trace"),
        ("trace", "no layers (empty)", trace, setter(("layers",), []), "trace"),
        ("trace", "an expert twice in a row", trace,
         setter(("layers", 0, "expert_ids", 0), [5, 5, 1, 2]), "trace"),
        ("trace", "a negative id", trace, setter(("layers", 0, "expert_ids", 1, 0), -1), "trace"),
        ("trace", "both expert_ids and expert_ids_npy", trace,
         setter(("layers", 0, "expert_ids_npy"), "ids.npy"), "trace"),
        ("trace", "neither expert_ids nor expert_ids_npy", trace,
         setter(("layers", 0, "expert_ids"), DELETE), "trace"),
        ("trace", "both weights and weights_npy", trace,
         setter(("layers", 0, "weights_npy"), "w.npy"), "trace"),
    ]


def reader_command(kind, path, paths):
    """c2rbench reading `path` as the file kind (the base file of each kind passes it): the
    arguments, and the ranks under mpirun (None: one process without mpirun, which is quicker
    to stop on an error)."""
    work = paths["work"]
    out = os.path.join(work, "refused-output")
    if kind == "report":
        return ["report", path], None
    if kind == "tuning":
        return ["report", paths["run"], "--tuning", path, "--html", out + ".html"], None
    if kind == "placement":
        return ["run"] + SMALL + ["--layer", "0,1", "--routing", "vanilla", "--strategy",
                                  "dropless", "--placement", path, "--out", out + ".json"], 2
    if kind == "profile":
        return ["tune", "--cluster", path, "--hidden", "64", "--ffn", "48", "--tokens", "16",
                "--layer", "0", "--quiet", "--out", out + ".json"], 2
    if kind == "spec":
        return ["tune", "--cluster", path, "--experts", "64", "--top-k", "2", "--hidden", "64",
                "--ffn", "48", "--workload", "random", "--routing", "vanilla", "--strategy",
                "dropless", "--tokens", "64", "--sample-tokens", "1024", "--search-seconds", "5",
                "--quiet", "--out", out + ".json"], None
    if kind == "trace":
        return ["run", "--trace", path, "--hidden", "64", "--ffn", "32", "--tokens", "8",
                "--iters", "1", "--warmup", "1", "--quiet", "--routing", "vanilla", "--strategy",
                "dedup", "--placement", "contiguous", "--out", out + ".json"], None
    fail("unknown reader " + kind)


def read_with_c2rbench(run, kind, path, paths, expect):
    args, np = reader_command(kind, path, paths)
    done = run(args, np=np, expect=expect)
    for leftover in glob.glob(os.path.join(paths["work"], "refused-output*")):
        if expect != 0:
            fail(f"c2rbench refused {path} but wrote {leftover}")
        os.remove(leftover)
    return done


def check_broken(run, validators, work, paths):
    readers_checked = set()
    for i, (schema, label, base, mutate, reader) in enumerate(broken_cases(work, paths)):
        doc = copy.deepcopy(load_json(base))
        mutate(doc)
        if not errors_of(validators, schema, doc):
            fail(f"schemas/{schema}.schema.json accepts a broken {schema}: {label}")
        line = f"ok: {schema} with {label} fails its schema"
        if reader:
            # The unbroken file passes the same reader (once per reader), the broken one does not.
            if reader not in readers_checked:
                read_with_c2rbench(run, reader, base, paths, expect=0)
                readers_checked.add(reader)
            broken = write_json(os.path.join(work, f"broken-{i}-{os.path.basename(base)}"), doc)
            done = read_with_c2rbench(run, reader, broken, paths, expect=2)
            if os.path.basename(broken) not in done.stderr:
                print(done.stderr[-2000:])
                fail(f"c2rbench's refusal of {label} does not name {broken}")
            line += " and c2rbench refuses it"
        print(line)


def main():
    if len(sys.argv) != 3:
        fail("usage: validate_outputs.py C2RBENCH REPO_ROOT")
    try:
        import jsonschema
    except ImportError:
        print("SKIPPED: python3-jsonschema missing (scripts/setup.sh installs it)")
        return 0
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"  # for the python3 scripts run below
    c2rbench, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    validators = make_validators(root, jsonschema)
    run = Runner(c2rbench, root)
    work = tempfile.mkdtemp(prefix="c2r-schemas-")

    outputs = produce(run, work, root)
    docs = []
    for schema, label, source in outputs:
        doc = load_json(source) if isinstance(source, str) else source
        expect_valid(validators, schema, doc, label)
        docs.append((schema, label, doc))
        if schema == "tuning" and doc.get("profile") is not None:
            expect_valid(validators, "cluster-profile", doc["profile"],
                         label + ": its profile")
    check_coverage(docs)

    paths = {"work": work,
             "run": os.path.join(work, "run.json"), "ranks": os.path.join(work, "ranks",
                                                                          "sweep.json"),
             "tuned": os.path.join(work, "tuned.json"), "cluster": os.path.join(work,
                                                                                "cluster.json"),
             "spec": os.path.join(root, "examples", "clusters", "dgx-h100-8x8.json"),
             "v1": os.path.join(work, "placement-v1.json"),
             "v2": os.path.join(work, "placement-v2.json"),
             "trace": os.path.join(work, "trace-inline.json")}
    check_broken(run, validators, work, paths)
    shutil.rmtree(work)  # kept when a check fails, to look at
    print("ok: every output validates against its schema, and broken files fail")
    return 0


if __name__ == "__main__":
    sys.exit(main())
