#!/usr/bin/env python3
"""tools/nccl_tests_to_profile.py on nccl-tests JSON output written for this test (the shape of
nccl-tests 2.19's -J output: config.devices, results[].size and out_of_place.time in us):

  - 4 ranks on 2 hosts: every pair gets its kind's sendrecv figures (one host: the intra run's
    smallest-size time and largest size / time; two hosts: the inter run's), the all2all sizes
    and times are kept, and the fit equals c2rbench's least squares;
  - the profile validates against schemas/cluster-profile.schema.json (where python3-jsonschema
    is), and `c2rbench tune --cluster` accepts it: 2 ranks on this machine's host, tuned;
  - bad input (no results, a rank missing, wrong elements, one size, no inter-host run, an
    existing --out) exits 2 with one message naming the file, writing nothing.

Usage: run_nccl_tests_to_profile.py C2RBENCH
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOL = os.path.join(ROOT, "tools", "nccl_tests_to_profile.py")


def nccl_tests_output(hosts, points, op):
    """A run's JSON as nccl-tests writes it: one device per rank, results of (bytes, us)."""
    return {
        "version": 1, "start_time": "2026-12-06 12:00:00", "args": [f"{op}_perf", "-J", "x.json"],
        "env": [], "nccl_version": 22809,
        "config": {"nthreads": 1, "ngpus": 1, "minimum_bytes": points[0][0],
                   "maximum_bytes": points[-1][0], "step_factor": 2, "warmup_iters": 1,
                   "iterations": 20,
                   "devices": [{"rank": r, "group": 0, "pid": 100 + r, "hostname": h,
                                "device": r % 8, "device_hex": f"0000:{0x19 + r:02x}:00",
                                "device_info": "NVIDIA H100 80GB HBM3"}
                               for r, h in enumerate(hosts)]},
        "results": [{"size": b, "count": b // 4, "type": "float", "redop": "none", "root": "-1",
                     "out_of_place": {"time": us, "alg_bw": b / us / 1e3, "bus_bw": 0.0, "nwrong": 0},
                     "in_place": {"time": us * 1.01, "alg_bw": 0.0, "bus_bw": 0.0, "nwrong": 0},
                     "actual_iterations": 20, "experiment_name": ""}
                    for b, us in points],
    }


def write(directory, name, doc):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def convert(*args):
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True)


def main():
    d = tempfile.mkdtemp(prefix="c2r-nccl-tests-")
    try:
        check(sys.argv[1], d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def check(c2rbench, d):
    # all2all: 20 us + bytes / 40 GB/s exactly, so the fit must return those.
    a2a_points = [(b, 20.0 + b / 40e3) for b in (1 << 10, 1 << 16, 1 << 20, 1 << 24)]
    a2a = write(d, "a2a.json", nccl_tests_output(["a", "a", "b", "b"], a2a_points, "alltoall"))
    intra = write(d, "intra.json", nccl_tests_output(["a", "a"], [(8, 5.0), (1 << 26, 200.0)], "sendrecv"))
    inter = write(d, "inter.json", nccl_tests_output(["a", "b"], [(8, 12.0), (1 << 26, 1400.0)], "sendrecv"))

    out = os.path.join(d, "profile.json")
    done = convert("--alltoall", a2a, "--sendrecv", intra, "--sendrecv", inter, "--out", out)
    assert done.returncode == 0, done.stderr
    p = json.load(open(out))
    assert p["schema"] == "c2rbench.cluster" and p["ranks"] == 4, p
    assert [pl["host"] for pl in p["places"]] == ["a", "a", "b", "b"]
    assert [pl["node"] for pl in p["places"]] == [0, 0, 1, 1]
    lat, bw = p["latency_s"], p["bandwidth_Bps"]
    for i in range(4):
        for j in range(4):
            if i == j:
                assert lat[i * 4 + j] == 0 and bw[i * 4 + j] == 0
            elif (i < 2) == (j < 2):
                assert abs(lat[i * 4 + j] - 5e-6) < 1e-12 and abs(bw[i * 4 + j] - (1 << 26) / 200e-6) < 1
            else:
                assert abs(lat[i * 4 + j] - 12e-6) < 1e-12 and abs(bw[i * 4 + j] - (1 << 26) / 1400e-6) < 1
    a = p["alltoall"]
    assert a["bytes"] == [b for b, _ in a2a_points]
    assert abs(a["fit_latency_s"] - 20e-6) < 1e-9, a["fit_latency_s"]
    assert abs(a["fit_bandwidth_Bps"] - 40e9) / 40e9 < 1e-6, a["fit_bandwidth_Bps"]
    try:
        import jsonschema
        schema = json.load(open(os.path.join(ROOT, "schemas", "cluster-profile.schema.json")))
        jsonschema.validate(p, schema)
        print("ok: the profile validates against schemas/cluster-profile.schema.json")
    except ImportError:
        print("note: python3-jsonschema missing, schema not checked")

    # c2rbench tune reads such a profile: 2 ranks on this machine's host.
    host = socket.gethostname()
    local_a2a = write(d, "local-a2a.json", nccl_tests_output([host, host], a2a_points, "alltoall"))
    local = os.path.join(d, "local.json")
    done = convert("--alltoall", local_a2a, "--sendrecv", intra, "--out", local)
    assert done.returncode == 0, done.stderr
    tuned = os.path.join(d, "tuned.json")
    run = subprocess.run([os.path.join(ROOT, "scripts", "mpirun.sh"), "--oversubscribe", "--bind-to",
                          "none", "2", c2rbench, "tune", "--cluster", local, "--hidden", "64",
                          "--ffn", "48", "--tokens", "32", "--layer", "0", "--top-t", "1,2",
                          "--search-seconds", "0.5", "--quiet", "--out", tuned],
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr
    t = json.load(open(tuned))
    assert t["schema"] == "c2rbench.tuning" and t["ranks"] == 2, t.get("ranks")
    print(f"ok: c2rbench tune --cluster read the converted profile ({len(t['layers'])} layer tuned)")

    # Bad input: one message naming the file, exit 2, nothing written.
    bad_cases = {
        "no-results.json": ({"version": 1}, "no \"results\" list"),
        "rank-missing.json": (dict(nccl_tests_output(["a", "a"], a2a_points, "alltoall"),
                                   config={"devices": [{"rank": 1, "hostname": "a"}]}),
                              "not 0..0 once each"),
        "wrong.json": (nccl_tests_output(["a", "a"], a2a_points, "alltoall"), "wrong elements"),
        "one-size.json": (nccl_tests_output(["a", "a"], a2a_points[:1], "alltoall"), "at least two sizes"),
        "truncated.json": ('{"results": [', "not valid JSON"),
    }
    bad_cases["wrong.json"][0]["results"][1]["out_of_place"]["nwrong"] = 3
    for name, (doc, expected) in bad_cases.items():
        path = write(d, name, doc)
        target = os.path.join(d, "bad-out.json")
        done = convert("--alltoall", path, "--sendrecv", intra, "--out", target)
        assert done.returncode == 2, (name, done.returncode, done.stderr)
        assert name in done.stderr and expected in done.stderr, (name, done.stderr)
        assert done.stderr.count("error:") == 1, done.stderr
        assert not os.path.exists(target), name
    done = convert("--alltoall", a2a, "--sendrecv", intra, "--out", os.path.join(d, "x.json"))
    assert done.returncode == 2 and "ranks on different hosts" in done.stderr, done.stderr
    done = convert("--alltoall", a2a, "--sendrecv", intra, "--sendrecv", inter, "--out", out)
    assert done.returncode == 2 and "never overwritten" in done.stderr, done.stderr
    leftovers = [f for f in os.listdir(d) if f.startswith(".profile.")]
    assert not leftovers, leftovers
    print("ok: nccl-tests output converted, checked, read by tune; bad input refused")


if __name__ == "__main__":
    main()
