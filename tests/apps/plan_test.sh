#!/usr/bin/env bash
# `dhs plan` over a whole pipeline before anything has run: every unit stage planned or
# estimated (marked ~) from the earlier stages' figures, never "not plannable"; the estimates
# checked against what the stages then write on a small mock sky (the sample's pool and hosts
# within 25%, the positives and the stamps within a factor 2, the injections at most the
# estimate); and a DR10-sized survey on paper: 1,436 sweep files (links to one mock sweep,
# named as the DR10 blocks of Dec -70..+30) and the real lenscat catalog, planned with the
# memory per rank reported.
set -uo pipefail
dhs="${DHS_EXE:?}"
src="${DHS_SOURCE_DIR:?}"
shared="${DHS_SHARED_DIR:?}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
check() {  # check NAME CONDITION-COMMAND...
  local name="$1"; shift
  if "$@"; then echo "ok: $name"; else echo "FAIL: $name"; fails=$((fails + 1)); fi
}
py=/usr/bin/python3

"$dhs" --log-level warn mock-sky --out "$tmp/mock" --config "$src/configs/mock_sky_test.yaml" >"$tmp/mock.log" 2>&1 ||
  { cat "$tmp/mock.log"; echo "FAIL: mock sky"; exit 1; }
# Few negatives per positive: the regime of DR10 (510k negatives drawn from a 114M pool), where
# the pool of a positive's stratum never runs short (the 2-brick sky's does at 100 a positive).
opts=(--stages sample,cutouts,inject,validate --set "survey.root=$tmp/mock" --set inject.source=sersic
      --set inject.per_cell=4 --set inject.batch_size=4 --set sample.negatives_per_positive=5)

# The plan before any stage has run.
"$dhs" --log-level warn plan "$src/configs/demo.yaml" --out "$tmp/run" "${opts[@]}" --json "$tmp/plan.json" \
  >"$tmp/plan.txt" 2>&1
check "dhs plan exits 0" [ $? = 0 ]
cat "$tmp/plan.txt"
check "no stage unplannable" bash -c "! grep -q 'not plannable' '$tmp/plan.txt'"
check "later stages marked estimated" grep -q '^cutouts *~' "$tmp/plan.txt"
check "the run directory is not created" [ ! -e "$tmp/run" ]

"$dhs" --log-level warn run "$src/configs/demo.yaml" --out "$tmp/run" "${opts[@]}" >"$tmp/run.log" 2>&1 ||
  { tail -20 "$tmp/run.log"; echo "FAIL: the run"; exit 1; }

# Estimated rows against the rows written.
"$py" - "$tmp/plan.json" "$tmp/run" <<'PY' || fails=$((fails + 1))
import json, sys, h5py
plan = {s["stage"]: s for s in json.load(open(sys.argv[1]))["stages"]}
run = sys.argv[2]
def rows(f, g):
    with h5py.File(f"{run}/{f}", "r") as h:
        return next(iter(h[g].values())).shape[0]
checks = [  # stage, group, file, dataset group, low, high (actual / estimate)
    ("sample", "pool", "sample.h5", "pool", 0.75, 1.25),
    ("sample", "hosts", "sample.h5", "hosts", 0.75, 1.25),
    ("sample", "positives", "sample.h5", "positives", 0.5, 2.0),
    ("sample", "negatives", "sample.h5", "negatives", 0.5, 2.0),
    ("cutouts", "stamps", "cutouts.h5", "stamps", 0.5, 2.0),
    ("inject", "injections", "injections.h5", "injections", 0.0, 1.0),
]
bad = 0
for stage, group, f, g, lo, hi in checks:
    est, got = plan[stage]["rows"][group], rows(f, g)
    ratio = got / est if est > 0 else float("inf")
    ok = lo <= ratio <= hi
    bad += not ok
    print(f"{'ok' if ok else 'FAIL'}: {stage} {group}: estimated {est:.0f}, written {got} (ratio {ratio:.2f}, allowed {lo}..{hi})")
print("status:", {s: plan[s]["status"] for s in plan})
bad += plan["sample"]["status"] != "planned" or plan["cutouts"]["status"] != "estimated"
sys.exit(1 if bad else 0)
PY

# DR10 on paper: 1,436 sweep files.
mkdir -p "$tmp/dr10/sweep/10.1"
one="$(ls "$tmp"/mock/sweep/*/sweep-*.fits | head -1)"
"$py" - "$shared/data/real/reference/dr10_sweep_filenames.txt" "$one" "$tmp/dr10/sweep/10.1" <<'PY'
import os, re, sys
names = [l.strip() for l in open(sys.argv[1]) if l.strip().startswith("sweep-")]
def dec_min(n):
    m = re.match(r"sweep-\d{3}([mp])(\d{3})-", n)
    return (-1 if m.group(1) == "m" else 1) * int(m.group(2))
chosen = [n for n in names if -70 <= dec_min(n) < 30][:1436]
for n in chosen:
    os.symlink(sys.argv[2], os.path.join(sys.argv[3], n))
print(len(chosen), "sweep files")
PY
check "1,436 sweep links" [ "$(ls "$tmp/dr10/sweep/10.1" | wc -l)" = 1436 ]
start=$(date +%s.%N)
"$dhs" --log-level warn plan "$src/configs/demo.yaml" --out "$tmp/dr10run" --stages sample,cutouts,inject,validate \
  --set "survey.root=$tmp/dr10" --set "sample.lens_catalog=$shared/data/real/lens_catalogs/lenscat/catalog.csv" \
  --set "sample.n2_catalog=''" --set "sample.n2_selection=[edge_on,large_blue]" --json "$tmp/dr10.json" >"$tmp/dr10.txt" 2>&1
check "DR10 plan exits 0" [ $? = 0 ]
end=$(date +%s.%N)
cat "$tmp/dr10.txt"
echo "DR10 plan took $(echo "$end - $start" | bc) s"
"$py" - "$tmp/dr10.json" "$tmp/plan.json" <<'PY' || fails=$((fails + 1))
import json, sys
dr10 = {s["stage"]: s for s in json.load(open(sys.argv[1]))["stages"]}
small = {s["stage"]: s for s in json.load(open(sys.argv[2]))["stages"]}
bad = 0
def need(cond, what):
    global bad
    print(("ok: " if cond else "FAIL: ") + what)
    bad += not cond
need(dr10["sample"]["units"] >= 1436, f"sample units {dr10['sample']['units']:.0f} >= 1436")
# The mock sky has one sweep file per block of its footprint; 1,436 links to one of them.
need(dr10["sample"]["rows"]["pool"] > 100 * small["sample"]["rows"]["pool"] / 2, "pool rows scale with the files")
need(dr10["sample"]["rows"]["positives"] > 1000, f"positives {dr10['sample']['rows']['positives']:.0f}: lenscat lenses in the blocks")
need(dr10["cutouts"]["rows"]["bricks"] > 10000, f"bricks {dr10['cutouts']['rows']['bricks']:.0f} of the footprint")
for s in ("sample", "cutouts", "inject", "validate"):
    need(dr10[s]["memory_per_rank"] > 0, f"{s} memory per rank {dr10[s]['memory_per_rank'] / 2**20:.0f} MiB")
sys.exit(1 if bad else 0)
PY

[ "$fails" = 0 ] && echo "plan test: all checks passed" || echo "plan test: $fails failed"
[ "$fails" = 0 ]
