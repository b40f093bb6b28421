#!/usr/bin/env python3
"""Build a c2rbench cluster profile (schema "c2rbench.cluster") from nccl-tests' JSON output.

For users who already measured their GPUs with NVIDIA's nccl-tests: `tune --cluster PROFILE` then
places experts with those figures instead of measuring again.

    mpirun -np 16 alltoall_perf -b 8 -e 1G -f 2 -g 1 -J a2a.json
    mpirun -np 2 --host a,a sendrecv_perf -b 8 -e 1G -f 2 -g 1 -J intra.json   # two GPUs, one node
    mpirun -np 2 --host a,b sendrecv_perf -b 8 -e 1G -f 2 -g 1 -J inter.json   # two nodes
    python3 tools/nccl_tests_to_profile.py --alltoall a2a.json \\
        --sendrecv intra.json --sendrecv inter.json --out cluster.json

What each part of the profile comes from:
  - places: the alltoall run's ranks (`config.devices`: rank, host name, device); the profile has
    as many ranks as that run, numbered as it numbered them, each rank's GPU (its PCI id and name)
    in `nearby_devices`. CPU bindings are not in nccl-tests' output ("unknown", 0 cores).
  - alltoall: every size of the alltoall run (`size` is each rank's total send, as c2rbench's
    `alltoall.bytes`), its out-of-place time, and the same least-squares latency + bytes /
    bandwidth fit as `c2rbench topo`.
  - latency_s / bandwidth_Bps (rank pairs): from the sendrecv runs. A run whose ranks all sit on one
    host gives the figures of every pair of ranks that share a host; a run that crosses hosts gives
    those of every pair on different hosts (its ring is as slow as its slowest link). Latency is the
    time at the run's smallest size, bandwidth its largest size over its time. A kind of pair no
    run measured is refused, naming it, unless --allow-missing copies the other kind's figures.

Host names must be those c2rbench's ranks will see (`tune --cluster` checks each rank's host); note
that nccl-tests cuts a host name at its first dot. Errors name the file and what is wrong, and exit
with status 2; nothing is written then.
"""

import argparse
import json
import os
import sys
import tempfile


class InputError(Exception):
    pass


def load(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}")
    except ValueError as e:
        raise InputError(f"{path}: not valid JSON ({e}); nccl-tests writes it with -J FILE")
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise InputError(f"{path}: not nccl-tests JSON output (no \"results\" list)")
    return doc


def devices(doc, path):
    """[(rank, host, device label)] of a run, from config.devices."""
    listed = doc.get("config", {}).get("devices") if isinstance(doc.get("config"), dict) else None
    if not isinstance(listed, list) or not listed:
        raise InputError(f"{path}: no \"config\".\"devices\" (written by nccl-tests before 2.17?)")
    out = []
    for i, d in enumerate(listed):
        if not isinstance(d, dict) or not isinstance(d.get("rank"), int) \
                or not isinstance(d.get("hostname"), str) or not d["hostname"]:
            raise InputError(f"{path}: config.devices[{i}] needs an integer rank and a hostname")
        label = " ".join(str(d[k]) for k in ("device_hex", "device_info") if d.get(k))
        out.append((d["rank"], d["hostname"], label or f"device {d.get('device', '?')}"))
    ranks = sorted(r for r, _, _ in out)
    if ranks != list(range(len(out))):
        raise InputError(f"{path}: config.devices lists ranks {ranks}, not 0..{len(out) - 1} once each")
    return sorted(out)


def timings(doc, path):
    """[(bytes, seconds)] of a run's results, ascending by size (out-of-place times)."""
    points = []
    for i, r in enumerate(doc["results"]):
        where = f"{path}: results[{i}]"
        if not isinstance(r, dict) or not isinstance(r.get("size"), int) or r["size"] < 0:
            raise InputError(f"{where} needs a non-negative integer \"size\"")
        timed = r.get("out_of_place") or r.get("in_place")
        t = timed.get("time", timed.get("cpu_time")) if isinstance(timed, dict) else None
        if not isinstance(t, (int, float)) or not t > 0:
            raise InputError(f"{where} needs a positive out_of_place (or in_place) \"time\" in us")
        if isinstance(timed.get("nwrong"), (int, float)) and timed["nwrong"] > 0:
            raise InputError(f"{where}: nccl-tests found {timed['nwrong']:g} wrong elements; "
                             "a run that moved wrong data is no measurement")
        points.append((r["size"], t * 1e-6))
    if len(points) < 2:
        raise InputError(f"{path}: needs at least two sizes (nccl-tests -b MIN -e MAX)")
    return sorted(points)


def fit_latency_bandwidth(points):
    """c2rbench topo's fit: least squares of seconds = latency + bytes / bandwidth."""
    n = len(points)
    mean_x = sum(b for b, _ in points) / n
    mean_y = sum(s for _, s in points) / n
    cov = sum((b - mean_x) * (s - mean_y) for b, s in points)
    var = sum((b - mean_x) ** 2 for b, _ in points)
    slope = cov / var if var > 0 else 0.0
    return mean_y - slope * mean_x, (1.0 / slope if slope > 0 else 0.0)


def convert(alltoall_path, sendrecv_paths, allow_missing=False):
    a2a = load(alltoall_path)
    places = devices(a2a, alltoall_path)
    a2a_points = timings(a2a, alltoall_path)
    latency, bandwidth = fit_latency_bandwidth(a2a_points)
    if bandwidth <= 0:
        raise InputError(f"{alltoall_path}: time does not grow with size: no bandwidth to fit "
                         "(run larger sizes, e.g. -e 1G)")

    pair_figures = {}  # "intra" / "inter" -> (latency s, bandwidth B/s, file)
    for path in sendrecv_paths:
        run = load(path)
        hosts = {h for _, h, _ in devices(run, path)}
        points = timings(run, path)
        kind = "intra" if len(hosts) == 1 else "inter"
        if kind in pair_figures:
            raise InputError(f"{path}: a second sendrecv run {'within one host' if kind == 'intra' else 'across hosts'} "
                             f"(the first was {pair_figures[kind][2]})")
        (small_bytes, small_s), (large_bytes, large_s) = points[0], points[-1]
        pair_figures[kind] = (small_s, large_bytes / large_s, path)

    host_of = [h for _, h, _ in places]
    kinds_needed = {"intra" if host_of[i] == host_of[j] else "inter"
                    for i in range(len(places)) for j in range(len(places)) if i != j}
    for kind in sorted(kinds_needed - pair_figures.keys()):
        what = "ranks on one host" if kind == "intra" else "ranks on different hosts"
        if allow_missing and pair_figures:
            pair_figures[kind] = next(iter(pair_figures.values()))
        else:
            raise InputError(f"no sendrecv run measured {what} (give --sendrecv FILE of such a run, "
                             "or --allow-missing to use the other kind's figures)")

    ranks = len(places)
    node_of_host = {}
    for h in host_of:
        node_of_host.setdefault(h, len(node_of_host))
    lat, bw = [], []
    for i in range(ranks):
        for j in range(ranks):
            if i == j:
                lat.append(0.0)
                bw.append(0.0)
            else:
                figures = pair_figures["intra" if host_of[i] == host_of[j] else "inter"]
                lat.append(figures[0])
                bw.append(figures[1])
    return {
        "schema": "c2rbench.cluster",
        "schema_version": 1,
        "ranks": ranks,
        "places": [{"rank": r, "host": h, "node": node_of_host[h], "cpuset": "unknown",
                    "packages": [], "numa_nodes": [], "cores": 0, "nearby_devices": [label]}
                   for r, h, label in places],
        "latency_s": lat,
        "bandwidth_Bps": bw,
        "alltoall": {"bytes": [b for b, _ in a2a_points],
                     "seconds": [s for _, s in a2a_points],
                     "fit_latency_s": latency,
                     "fit_bandwidth_Bps": bandwidth},
        "source": {"tool": "nccl-tests", "alltoall": os.path.basename(alltoall_path),
                   "sendrecv": [os.path.basename(p) for p in sendrecv_paths],
                   "nccl_version": a2a.get("nccl_version")},
    }


def write_new(path, text):
    """Writes `path` through a temporary file and a link: never over an existing file."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.lexists(path):
        raise InputError(f"--out {path}: exists (never overwritten)")
    fd, tmp = tempfile.mkstemp(prefix=".profile.", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.link(tmp, path)
    except FileExistsError:
        raise InputError(f"--out {path}: exists (never overwritten)")
    finally:
        os.unlink(tmp)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Build a c2rbench cluster profile from nccl-tests JSON output (-J).",
        epilog="See the module's docstring (head of this file) for what each field comes from.")
    parser.add_argument("--alltoall", required=True, help="alltoall_perf -J output: ranks and all2all times")
    parser.add_argument("--sendrecv", action="append", default=[],
                        help="sendrecv_perf -J output: rank-pair latency and bandwidth (one run within "
                             "a host, one across hosts; repeatable)")
    parser.add_argument("--allow-missing", action="store_true",
                        help="use one kind of pair's figures for the other kind where no run measured it")
    parser.add_argument("--out", required=True, help="the profile to write (never overwritten)")
    args = parser.parse_args(argv)
    try:
        if not args.sendrecv:
            raise InputError("give at least one --sendrecv FILE (sendrecv_perf -J output)")
        profile = convert(args.alltoall, args.sendrecv, args.allow_missing)
        write_new(args.out, json.dumps(profile, indent=1) + "\n")
    except InputError as e:
        print(f"nccl_tests_to_profile: error: {e}", file=sys.stderr)
        return 2
    print(f"nccl_tests_to_profile: {args.out}: {profile['ranks']} ranks on "
          f"{len(set(p['host'] for p in profile['places']))} host(s); all2all fit "
          f"{profile['alltoall']['fit_latency_s'] * 1e6:.1f} us + bytes / "
          f"{profile['alltoall']['fit_bandwidth_Bps'] / 1e9:.1f} GB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
