#!/usr/bin/env python3
"""NAME     c2rbench_results.py - c2rbench reports and tuning files as rows (or pandas DataFrames)
PURPOSE  Loads what c2rbench writes into tables for analysis in a notebook or a script:
           load_report(path)      one row per (cell, phase): the columns of `c2rbench report --csv`
                                  (results/csv.hpp), the same values;
           load_reports(paths)    several reports (a sweep's passes, repeated runs) in one table;
           load_tuning(path)      one row per (layer, routing) of a tuning file with its tuned
                                  placement's predictions, and load_validation(path) one row per
                                  `tune --validate` point, predicted against measured;
           read_csv(path)         a CSV that c2rbench wrote, values typed as load_report's;
           frame(rows)            a pandas DataFrame when pandas is installed, else the rows.
         Rows are dicts of int, float, str, bool or None (an absent value); pandas is optional.
USAGE    import sys; sys.path.insert(0, "tools"); import c2rbench_results as cr
         df = cr.frame(cr.load_report("results/run.json"))
         python3 tools/c2rbench_results.py REPORT.json [--check-csv FILE.csv]
             prints the rows as CSV, or checks that FILE.csv (from `c2rbench report --csv`) holds
             exactly the report's values (exit 1 naming the first difference)
NOTES    Reads schema c2rbench.report and c2rbench.tuning, version 1, and ignores unknown fields,
         as c2rbench's readers do. Numbers are the report's own: nothing is recomputed.
"""

import csv
import io
import json
import sys

# The order c2rbench reports phases in (results/phase.hpp, kReportedPhases).
PHASES = ["gate", "permute", "dispatch", "expert", "combine", "unpermute", "layer"]

# The columns of `c2rbench report --csv`, in order (results/csv.cpp, report_csv_columns).
COLUMNS = [
    "report", "preset", "experts", "top_k", "hidden", "ffn", "shared_ffn", "workload", "backend",
    "ranks", "tokens_per_rank", "capacity_factor", "replicas", "iterations", "order",
    "layer", "routing", "top_t", "strategy", "placement", "dtype", "overlap", "baseline",
    "in_grid",
    "phase", "median_us", "mean_us", "min_us", "max_us", "p10_us", "p90_us", "p99_us", "n",
    "efficiency",
    "speedup_vs_baseline", "speedup_low", "speedup_high", "speedup_vs_eplb",
    "remote_bytes_total", "copies_per_token", "remote_copies_per_token", "rank_imbalance",
    "expert_imbalance", "dropped_fraction", "wrong_rows", "worst_relative_error",
]


def _load(path, schema):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or doc.get("schema") != schema:
        raise ValueError(f"{path}: not a {schema} file")
    if doc.get("schema_version", 0) > 1:
        raise ValueError(f"{path}: {schema} schema_version {doc['schema_version']} is newer than 1")
    return doc


def _efficiency(cell, phase):
    """The ceiling efficiency the report gives a phase (expert; serial dispatch and combine)."""
    eff = cell.get("efficiency") or {}
    if phase == "expert":
        return eff.get("expert")
    if cell.get("overlap", 1) != 1 or phase not in ("dispatch", "combine"):
        return None
    return eff.get(phase)


def load_report(path, name=None):
    """One row per (cell, reported phase) of the report at `path`; `name` fills the "report"
    column (default: the path, as `c2rbench report --csv` names it)."""
    doc = _load(path, "c2rbench.report")
    config = doc.get("config", {})
    model = config.get("model", {})
    rows = []
    for cell in doc.get("results", []):
        interval = cell.get("speedup_interval") or {}
        traffic = cell.get("traffic") or {}
        load = cell.get("load") or {}
        check = cell.get("check") or {}
        checked = check.get("checked", False)
        for phase in PHASES:
            stats = (cell.get("phases") or {}).get(phase)
            if stats is None:
                continue
            rows.append({
                "report": path if name is None else name,
                "preset": model.get("preset"), "experts": model.get("experts"),
                "top_k": model.get("top_k"), "hidden": model.get("hidden"),
                "ffn": model.get("ffn"), "shared_ffn": model.get("shared_ffn"),
                "workload": (config.get("workload") or {}).get("kind"),
                "backend": config.get("backend"),
                "ranks": cell.get("ranks", config.get("ranks")),
                "tokens_per_rank": cell.get("tokens_per_rank", config.get("tokens_per_rank")),
                "capacity_factor": config.get("capacity_factor"),
                "replicas": config.get("replicas"), "iterations": config.get("iterations"),
                "order": config.get("order"),
                "layer": cell.get("layer"), "routing": cell.get("routing", "?"),
                "top_t": cell.get("top_t"), "strategy": cell.get("strategy", "?"),
                "placement": cell.get("placement", "?"), "dtype": cell.get("dtype", "fp32"),
                "overlap": cell.get("overlap", 1), "baseline": cell.get("baseline", False),
                "in_grid": cell.get("in_grid", False),
                "phase": phase,
                **{key: stats.get(key) for key in
                   ("median_us", "mean_us", "min_us", "max_us", "p10_us", "p90_us", "p99_us", "n")},
                "efficiency": _efficiency(cell, phase),
                "speedup_vs_baseline": cell.get("speedup_vs_baseline"),
                "speedup_low": interval.get("low"), "speedup_high": interval.get("high"),
                "speedup_vs_eplb": cell.get("speedup_vs_eplb"),
                "remote_bytes_total": traffic.get("remote_bytes_total"),
                "copies_per_token": traffic.get("copies_per_token"),
                "remote_copies_per_token": traffic.get("remote_copies_per_token"),
                "rank_imbalance": load.get("rank_imbalance"),
                "expert_imbalance": load.get("expert_imbalance"),
                "dropped_fraction": load.get("dropped_fraction"),
                "wrong_rows": check.get("wrong_rows") if checked else None,
                "worst_relative_error": check.get("worst_relative_error") if checked else None,
            })
    return rows


def load_reports(paths):
    """Every report's rows, one table (the "report" column tells them apart)."""
    return [row for path in paths for row in load_report(path)]


def load_tuning(path):
    """One row per (layer, routing) of a tuning file: its tuned placement's predicted phases (us),
    remote bytes and rank imbalance, and whether it is the chosen routing."""
    doc = _load(path, "c2rbench.tuning")
    rows = []
    for layer in doc.get("layers", []):
        for routing in layer.get("routings", []):
            tuned = routing.get("tuned") or {}
            rows.append({
                "layer": layer.get("layer"), "routing": routing.get("routing"),
                "top_t": routing.get("top_t"), "method": routing.get("method"),
                "chosen": routing.get("routing") == doc.get("routing")
                and routing.get("top_t") == doc.get("top_t"),
                **{f"{phase}_us": tuned.get(f"{phase}_us") for phase in PHASES},
                "remote_bytes": tuned.get("remote_bytes"),
                "rank_imbalance": tuned.get("rank_imbalance"),
            })
    return rows


def load_validation(path):
    """One row per `tune --validate` point: predicted and measured phases (us)."""
    doc = _load(path, "c2rbench.tuning")
    rows = []
    for point in (doc.get("validation") or {}).get("points", []):
        row = {key: point.get(key) for key in
               ("layer", "routing", "top_t", "strategy", "placement", "overlap", "baseline")}
        for side in ("predicted", "measured"):
            for phase in PHASES:
                row[f"{side}_{phase}_us"] = (point.get(side) or {}).get(f"{phase}_us")
        rows.append(row)
    return rows


def _typed(text):
    if text == "":
        return None
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_csv(path_or_text):
    """The rows of a CSV c2rbench wrote (a path, or the text itself), values typed."""
    if "\n" in path_or_text:
        text = path_or_text
    else:
        with open(path_or_text, encoding="utf-8", newline="") as f:
            text = f.read()
    return [{key: _typed(value) for key, value in row.items()}
            for row in csv.DictReader(io.StringIO(text, newline=""))]


def frame(rows):
    """A pandas DataFrame of `rows` when pandas is installed, else the rows unchanged."""
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame(rows)


def first_difference(expected, actual):
    """Where two tables of rows differ (None when every value is equal)."""
    if len(expected) != len(actual):
        return f"{len(expected)} rows against {len(actual)}"
    for i, (a, b) in enumerate(zip(expected, actual)):
        if list(a) != list(b):
            return f"row {i}: columns {list(a)} against {list(b)}"
        for key in a:
            x, y = a[key], b[key]
            same = x == y and isinstance(x, bool) == isinstance(y, bool) \
                and (x is None) == (y is None)
            if not same:
                return f"row {i} ({a.get('strategy')} {a.get('placement')} {a.get('phase')}): " \
                       f"{key} {a[key]!r} against {b[key]!r}"
    return None


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--check-csv"):
        print(__doc__.split("NOTES")[0], file=sys.stderr)
        return 2
    rows = load_report(argv[1])
    if len(argv) == 4:
        difference = first_difference(rows, read_csv(argv[3]))
        if difference:
            print(f"{argv[3]} differs from {argv[1]}: {difference}", file=sys.stderr)
            return 1
        print(f"ok: {argv[3]} holds the {len(rows)} rows of {argv[1]}, every value equal")
        return 0
    out = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
    out.writeheader()
    out.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
