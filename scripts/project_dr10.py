#!/usr/bin/env python3
"""Projects the wall time of the whole pipeline over full DR10 from measured per-item costs.

Reads the JSON that benchmarks/run_pipeline.sh writes (per stage: wall time of the whole
command at 1 and 2 ranks, and the work done: sweep rows, stamps, injections, images) and
prints, for each stage and in all, the wall time on N nodes of C cores each (one rank per
core) for DR10's sizes:

  sample    114M sweep rows in 1,436 sweep files   (units: sample.rows_per_unit rows, >= 1 per file)
  cutouts   421K stamps                            (units: cutouts.unit_targets stamps)
  inject    77K injections                         (units: inject.batch_size injections)
  validate  421K + 77K stamps                      (units: validate.batch_size stamps)
  train     the measured images trained x (DR10 training stamps / benchmark training stamps)
  score     421K + 77K stamps                      (units: score.unit_stamps stamps)
  evaluate  421K + 77K scores                      (one collective step)

The model, per stage (Amdahl): fixed seconds f that do not grow with the work (process start,
plan, reduce; from the 1-rank run) and core-seconds per item c = (wall - f) / items (units,
spool, gather); the parallel efficiency e = c x items / (2 x (wall_2 - f_2)) of the 2-rank
run, applied to every rank count (the only scaling point measured: an estimate); ranks that
can work at once R = min(N x C, units); wall = f + c x items / (R x e), and never less than
f + one unit's time. Train is a CPU figure: on GPU learner ranks it is the device's rate, not
modelled here. Fixed costs measured on a small footprint are charged once, as at full scale a
stage's plan and reduce grow too (the sampling reduce draws from the whole pool): the
projection is a lower bound there.

  scripts/project_dr10.py bench-out/results/pipeline_<time>.json [--nodes 1 8 64] [--cores 32]
"""
import argparse
import json
import math

DR10 = {  # work items of full DR10 and items per work unit (the defaults of configs/demo.yaml)
    "sample": (114_000_000, 500_000, 1436),   # rows, rows_per_unit, at least one unit per file
    "cutouts": (421_000, 1000, 0),
    "inject": (77_000, 32, 0),
    "validate": (498_000, 256, 0),
    "score": (498_000, 2048, 0),
    "evaluate": (498_000, 498_000, 0),        # one collective step on rank 0's data
}


def fmt_time(s):
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def project(stages, nodes, cores, train_scale):
    out = {}
    for stage, runs in stages.items():
        r1 = runs.get("1")
        if r1 is None or r1["count"] <= 0:
            continue
        f = max(0.0, r1.get("fixed_seconds", 0.0))
        c = max(r1["wall"] - f, 1e-9) / r1["count"]        # core-seconds per item, 1 rank
        e = 1.0
        if "2" in runs:
            r2 = runs["2"]
            e = min(1.0, c * r2["count"] / (2 * max(r2["wall"] - r2.get("fixed_seconds", 0.0), 1e-9)))
        if stage == "train":
            items = r1["count"] * train_scale
            ranks = units = nodes * cores                  # data-parallel learners: every rank a learner
        else:
            items, per_unit, min_units = DR10[stage]
            units = max(math.ceil(items / per_unit), min_units)
            ranks = min(nodes * cores, units)
        if stage == "evaluate":
            ranks = 1
        wall = f + max(c * items / (ranks * e), c * items / max(units, 1))
        out[stage] = dict(items=items, core_s_per_item=c, fixed=f, efficiency=e, ranks=ranks, wall=wall)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json", help="benchmarks/run_pipeline.sh output (bench-out/results/pipeline_*.json)")
    ap.add_argument("--nodes", type=int, nargs="+", default=[1, 8, 64])
    ap.add_argument("--cores", type=int, default=32, help="cores (ranks) per node")
    ap.add_argument("--train-scale", type=float, default=None,
                    help="DR10 training images / benchmark training images (default: DR10 stamps 498K / the "
                         "benchmark's validated stamps)")
    args = ap.parse_args()
    bench = json.load(open(args.json))
    stages = bench["stages"]
    scale = args.train_scale
    if scale is None:
        v = stages.get("validate", {}).get("1")
        scale = 498_000 / v["count"] if v and v["count"] > 0 else 1.0

    print(f"DR10 projection from {args.json} ({bench['footprint_bricks']}-brick mock footprint, measured on "
          f"{bench['cores']} cores); {args.cores} ranks per node")
    head = f"{'stage':<9} {'DR10 items':>12} {'core-s/item':>12} {'fixed':>7} {'eff':>5}"
    for n in args.nodes:
        head += f" {f'{n} node' + ('s' if n > 1 else ''):>10}"
    print(head)
    per_nodes = {n: project(stages, n, args.cores, scale) for n in args.nodes}
    first = per_nodes[args.nodes[0]]
    for stage in first:
        p = first[stage]
        row = f"{stage:<9} {p['items']:>12,.0f} {p['core_s_per_item']:>12.3g} {p['fixed']:>6.1f}s {p['efficiency']:>5.2f}"
        for n in args.nodes:
            row += f" {fmt_time(per_nodes[n][stage]['wall']):>10}"
        print(row)
    total = f"{'total':<9} {'':>12} {'':>12} {'':>7} {'':>5}"
    for n in args.nodes:
        total += f" {fmt_time(sum(x['wall'] for x in per_nodes[n].values())):>10}"
    print(total)
    print("core-s/item: (1-rank wall - fixed) / items; fixed: start + plan + reduce; eff: 2-rank parallel "
          "efficiency of the rest; train on CPU "
          f"(x{scale:.0f} the benchmark's images)")


if __name__ == "__main__":
    main()
