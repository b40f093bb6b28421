#!/usr/bin/env python3
"""NAME     plot_phases.py - one figure from a c2rbench report, notebook style
PURPOSE  Stacked bars of each cell's phase medians (gate, permute, dispatch, expert, combine,
         unpermute), one bar per (strategy, placement), the way a notebook would draw them from
         tools/c2rbench_results.py's rows (a pandas DataFrame when pandas is installed).
USAGE    python3 examples/analysis/plot_phases.py results/run.json [--layer 0] [--out phases.png]
NOTES    Needs matplotlib (Debian: python3-matplotlib); pandas is optional.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import c2rbench_results as cr  # noqa: E402

PHASES = ["gate", "permute", "dispatch", "expert", "combine", "unpermute"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("USAGE")[0])
    parser.add_argument("report")
    parser.add_argument("--layer", type=int, default=0)
    parser.add_argument("--out", default="phases.png")
    args = parser.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_phases.py needs matplotlib (Debian: apt install python3-matplotlib)")

    rows = [r for r in cr.load_report(args.report) if r["layer"] in (None, args.layer)]
    # cell -> phase -> median us
    cells = {}
    for r in rows:
        name = f"{r['routing']}{'' if r['top_t'] is None else ' T=' + str(r['top_t'])}\n" \
               f"{r['strategy']}\n{os.path.basename(r['placement'])}"
        cells.setdefault(name, {})[r["phase"]] = r["median_us"] / 1e3
    names = list(cells)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(names)), 4.5))
    bottom = [0.0] * len(names)
    for phase in PHASES:
        heights = [cells[n].get(phase, 0.0) for n in names]
        ax.bar(names, heights, bottom=bottom, label=phase)
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.set_ylabel("median per phase (ms, max over ranks)")
    ax.set_title(f"{os.path.basename(args.report)}, layer {args.layer}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
