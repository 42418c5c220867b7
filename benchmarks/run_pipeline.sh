#!/usr/bin/env bash
# The whole demo pipeline, stage by stage, as a user runs it, at 1 rank and at 2 ranks, on a
# mock footprint of BRICKS_RA x BRICKS_DEC bricks (default 4 x 4 = 16, 3600^2 pixels each):
#   dhs run configs/demo.yaml --stages STAGE [--resume]       (1 rank: no mpirun)
#   mpirun -n 2 dhs run configs/demo.yaml --stages STAGE ...  (2 ranks)
# One table: per stage, the wall time of the whole command at each rank count, the work it did
# (sweep rows, stamps, injections, images) per second, the 2-rank speed-up, and the engine's
# share of the wall time: process start + spool + gather + reduce, from the stage's closing
# log line ("in T (process P [plan, spool S], gather G, reduce R)"); start = wall - T. The
# per-item costs go to bench-out/results/pipeline_<time>.json, which scripts/project_dr10.py
# turns into the wall time of full DR10 on N nodes.
#
#   benchmarks/run_pipeline.sh [BUILD_DIR]      (BUILD_DIR defaults to $REPO/build)
# Environment: BRICKS_RA, BRICKS_DEC (4, 4); RANKS ("1 2"); STAGES (default: sample cutouts
# inject validate train score evaluate); QUIET_WAIT (seconds to wait for a >= 80% idle
# machine before each rank count; default 60).
set -euo pipefail

# shellcheck source=benchmarks/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "${1:-}"  # REPO SHARED BUILD PY PYREF OUT RES, wait_quiet
DHS=$BUILD/apps/dhs/dhs
BRICKS_RA=${BRICKS_RA:-4}
BRICKS_DEC=${BRICKS_DEC:-4}
RANKS=${RANKS:-1 2}
STAGES=${STAGES:-sample cutouts inject validate train score evaluate}
DATA=$OUT/pipeline/mock-${BRICKS_RA}x${BRICKS_DEC}
STAMP=$(date +%Y%m%dT%H%M%S)
LOG=$RES/pipeline_$STAMP.log
JSON=$RES/pipeline_$STAMP.json
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
[ -x "$DHS" ] || { echo "no $DHS: build dhs in $BUILD first" >&2; exit 2; }
mkdir -p "$DATA" "$RES"

# The mock footprint and the template bank, once (2 ranks).
if [ ! -f "$DATA/mock/survey-bricks.fits.gz" ]; then
  echo "== mock sky of ${BRICKS_RA} x ${BRICKS_DEC} bricks in $DATA/mock (once)"
  rm -rf "$DATA/mock"
  mpirun -n 2 --oversubscribe --bind-to none "$DHS" --log-level warn mock-sky --out "$DATA/mock" \
    --config "$REPO/configs/mock_sky.yaml" --set "mock_sky.bricks_ra=$BRICKS_RA" --set "mock_sky.bricks_dec=$BRICKS_DEC"
fi
[ -f "$DATA/templates.h5" ] || "$DHS" --log-level warn make-template-bank --out "$DATA/templates.h5" --n 200 > /dev/null

echo "== machine: $(nproc) cores; footprint $BRICKS_RA x $BRICKS_DEC bricks ($DATA/mock); dhs $("$DHS" --version)" | tee "$LOG"
for n in $RANKS; do
  run=$OUT/pipeline/run-n$n
  rm -rf "$run"
  launch=()
  [ "$n" -gt 1 ] && launch=(mpirun -n "$n" --oversubscribe --bind-to none)
  echo "== $n rank(s) [$(wait_quiet)]" | tee -a "$LOG"
  resume=()
  for st in $STAGES; do
    t0=$(date +%s.%N)
    rc=0
    "${launch[@]}" "$DHS" run "$REPO/configs/demo.yaml" --out "$run" --stages "$st" "${resume[@]}" \
      --set "survey.root=$DATA/mock" --set "inject.template_bank=$DATA/templates.h5" > "$run-$st.log" 2>&1 || rc=$?
    t1=$(date +%s.%N)
    [ $rc = 0 ] || [ $rc = 3 ] || { echo "stage $st failed (rc $rc): $run-$st.log" >&2; tail -5 "$run-$st.log" >&2; exit 1; }
    wall=$("$PY" -c "print(f'{$t1 - $t0:.3f}')")
    echo "  $st: wall ${wall}s; $(grep -o "stage $st: wrote .*" "$run-$st.log" | sed 's/(rows:[^)]*) //' | head -1)" | tee -a "$LOG"
    echo "$n $st $wall" >> "$run.walls"
    resume=(--resume)
  done
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$LOG"

"$PY" - "$OUT/pipeline" "$JSON" "$BRICKS_RA" "$BRICKS_DEC" "$(nproc)" $RANKS <<'EOF' 2>&1 | tee -a "$LOG"
import json, os, re, sys
import h5py
import numpy as np
import fitsio

base, out_json, bra, bdec, cores = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
ranks = [int(x) for x in sys.argv[6:]]
LINE = re.compile(r"stage (\w+): wrote \S+ .*?in (\S+) \(process (\S+) \[plan (\S+), spool (\S+)\], gather (\S+), reduce (\S+)\)")
COLLECTIVE = re.compile(r"stage (\w+): wrote \S+ in (\S+)$", re.M)

def secs(t):  # "0.123s", "2m05s", "1h02m03s"
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?", t)
    h, mi, s = (float(x) if x else 0.0 for x in m.groups())
    return 3600 * h + 60 * mi + s

def nrows(run, name, group):  # rows of a table: the length of its first dataset
    with h5py.File(os.path.join(run, name), "r") as h:
        g = h[group]
        return g[next(iter(g))].shape[0]

def work(run, stage):  # (what, count) the stage did, from its output file
    if stage == "sample":
        with h5py.File(os.path.join(run, "sample.h5"), "r") as h:
            paths = h["/sweep_files/path"].asstr()[...]
        return "sweep rows", sum(fitsio.FITS(p)[1].get_nrows() for p in paths)
    if stage == "train":
        with h5py.File(os.path.join(run, "train.h5"), "r") as h:
            hist = h["/history"]
            return "images trained", int(round(float(np.sum(hist["images_per_s"][...] * hist["seconds"][...]))))
    table = {"cutouts": ("stamps", "cutouts.h5", "/stamps"), "inject": ("injections", "injections.h5", "/injections"),
             "validate": ("stamps", "validation.h5", "/metrics"), "score": ("stamps scored", "scores.h5", "/scores"),
             "evaluate": ("scores", "scores.h5", "/scores")}
    if stage not in table: return "", 0
    what, name, group = table[stage]
    return what, nrows(run, name, group)

rows = {}
for n in ranks:
    run = os.path.join(base, f"run-n{n}")
    for line in open(run + ".walls"):
        _, stage, wall = line.split()
        wall = float(wall)
        text = open(f"{run}-{stage}.log").read()
        m = [x for x in LINE.finditer(text) if x.group(1) == stage]
        if m:
            _, total, process, plan, spool, gather, reduce = m[-1].groups()
            total, spool, gather, reduce = secs(total), secs(spool), secs(gather), secs(reduce)
            engine = (wall - total) + spool + gather + reduce
            fixed = (wall - total) + secs(plan) + reduce
        else:  # a collective stage: no units, spool or gather
            c = [x for x in COLLECTIVE.finditer(text) if x.group(1) == stage]
            total = secs(c[-1].group(2)) if c else wall
            engine = max(0.0, wall - total)  # its log gives whole seconds
            fixed = engine
        what, count = work(run, stage)
        # fixed: what does not grow with the work (process start, plan, reduce), for the projection
        rows.setdefault(stage, {})[n] = dict(wall=wall, stage_seconds=total, engine_seconds=engine, fixed_seconds=fixed,
                                             what=what, count=count)

print(f"\n== the demo pipeline on a {bra} x {bdec}-brick mock footprint, per stage (wall: the whole `dhs run --stages S` command)")
hdr = f"{'stage':<9} {'work':>22}"
for n in ranks: hdr += f" {f'wall {n}r':>9} {f'/s {n}r':>9} {f'engine {n}r':>9}"
hdr += f" {'2r/1r':>6}"
print(hdr)
for stage, r in rows.items():
    first = r[ranks[0]]
    work_text = f"{first['count']:,} {first['what']}"
    s = f"{stage:<9} {work_text:>22}"
    for n in ranks:
        x = r[n]
        s += f" {x['wall']:8.2f}s {x['count'] / x['wall']:9.4g} {100 * x['engine_seconds'] / x['wall']:8.0f}%"
    if 1 in r and 2 in r: s += f" {r[1]['wall'] / r[2]['wall']:5.2f}x"
    print(s)
tot = {n: sum(r[n]["wall"] for r in rows.values() if n in r) for n in ranks}
print("total    " + " " * 23 + "".join(f" {tot[n]:8.2f}s {'':>9} {'':>9}" for n in ranks) +
      (f" {tot[1] / tot[2]:5.2f}x" if 1 in tot and 2 in tot else ""))
print("engine = (process start + spool + gather + reduce) / wall; /s = work per second of wall time")
json.dump({"footprint_bricks": bra * bdec, "cores": cores, "stages": rows}, open(out_json, "w"), indent=1)
print(f"per-item costs: {out_json} (scripts/project_dr10.py {out_json})")
EOF
echo "== log: $LOG"
