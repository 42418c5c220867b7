#!/usr/bin/env bash
# The search stage on a mock sky (configs/mock_sky_test.yaml with 8 bricks and more galaxies): the sample's
# pool and positives cut, prepared and scored on the fly. Checks: the same search.h5 for 1, 2
# and 3 ranks and with a learner rank; every searched stamp that also went through cutouts +
# score has the identical logit; the candidates are the top search.top_fraction by p_lens with
# the cutout stage's stamps, and the catalogued lenses among them are flagged with their tier;
# the true lenses' ranks and top-fraction counts = numpy; the magnitude cut = numpy; SIGKILL
# + --resume gives the same search.h5.
set -uo pipefail
dhs="${DHS_EXE:?}"
src="${DHS_SOURCE_DIR:?}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
source "$here/../../support/script_support.sh"

sed -e 's/bricks_ra: 2/bricks_ra: 4/' -e 's/bricks_dec: 1/bricks_dec: 2/' -e 's/blue_galaxies: 60/blue_galaxies: 300/' \
  -e 's/lrgs: 20/lrgs: 30/' -e 's/lenses: 2/lenses: 3/' \
  "$src/configs/mock_sky_test.yaml" > "$tmp/mock.yaml"
"$dhs" mock-sky --out "$tmp/mock" --config "$tmp/mock.yaml" > "$tmp/mock.log" 2>&1 || { cat "$tmp/mock.log"; exit 1; }

# A small model (simple_cnn, crop 48) trained on the rings fixture: any model will do here.
"$py" "$here/../train/make_fixture.py" "$tmp/rings.h5" > /dev/null || exit 1
common=(--set "survey.root=$tmp/mock" --set run.log_level=info --set cutouts.target_sets=[positives,negatives]
        --set search.unit_targets=60 --set search.batch_size=32 --set search.threads=1 --set search.top_fraction=0.02
        --set score.sources=[cutouts] --set score.batch_size=32 --set score.threads=1)
"$dhs" run "$src/configs/demo.yaml" --out "$tmp/model" --stages train --set "train.injections_file=$tmp/rings.h5" \
  --set train.arch=simple_cnn --set train.width=8 --set train.crop=48 --set train.epochs=1 --set train.learners=1 \
  --set train.threads=1 --set train.batch_size=32 --set train.meta_columns=[] > "$tmp/model.log" 2>&1 \
  || { tail -5 "$tmp/model.log"; exit 1; }
common+=(--set "score.model=$tmp/model/model" --set "search.model=$tmp/model/model")

mpi 2 "$dhs" run "$src/configs/demo.yaml" --out "$tmp/r1" --stages sample,cutouts,score,search "${common[@]}" \
  > "$tmp/r1.log" 2>&1
check "sample, cutouts, score and search run" test -s "$tmp/r1/search.h5"
for spec in "1 0" "3 0" "3 1"; do
  set -- $spec
  out="$tmp/s$1-$2"
  mkdir -p "$out"
  cp "$tmp/r1/sample.h5" "$out/"
  mpi "$1" "$dhs" run "$src/configs/demo.yaml" --out "$out" --stages search "${common[@]}" --set search.learners="$2" \
    > "$out.log" 2>&1
  check "$1 ranks, $2 learner ranks: search.h5 identical to 2 ranks" same_group "$tmp/r1/search.h5" "$out/search.h5" /targets
  check "$1 ranks, $2 learner ranks: the candidates identical too" same_group "$tmp/r1/search.h5" "$out/search.h5" /candidates
done

contents() {
  "$py" - "$tmp/r1" "$tmp/mock" <<'PY'
import csv, json, math, sys
import h5py, numpy as np
run, mock = sys.argv[1:3]
t = h5py.File(run + "/search.h5")["targets"]
sample = h5py.File(run + "/sample.h5")
n_pool, n_pos = len(sample["pool"]["ra"]), len(sample["positives"]["ra"])
sets = t["target_set"][:]
assert (sets == b"pool").sum() == n_pool and (sets == b"positives").sum() == n_pos, "every pool galaxy and lens once"
# The logits of stamps that went through cutouts + score are identical.
sc = h5py.File(run + "/scores.h5")["scores"]
cu = h5py.File(run + "/cutouts.h5")["stamps"]
score_of = dict(zip(cu["galaxy_id"][:], sc["logit"][:]))  # negatives are pool galaxies
both = [(score_of[g], l) for g, l in zip(t["galaxy_id"][:], t["logit"][:]) if g in score_of]
a, b = np.array(both).T
assert len(both) == len(score_of) and np.array_equal(a, b), (len(both), len(score_of), np.abs(a - b).max())
# Candidates: the top 2% by p_lens (ties by row), stamps as the cutout stage cuts them.
p = t["p_lens"][:]
order = sorted(range(len(p)), key=lambda i: (-p[i], i))
k = max(1, math.ceil(0.02 * len(p) - 1e-9))
c = h5py.File(run + "/search.h5")["candidates"]
assert list(c["target_row"][:]) == order[:k], "the top fraction, highest first"
assert list(c["rank"][:]) == list(range(1, k + 1))
key = lambda s, r: (s, int(r))
cu_row = {key(s, r): i for i, (s, r) in enumerate(zip(cu["target_set"][:], cu["sample_row"][:]))}
same_stamps = 0
for i in range(k):
    j = cu_row.get(key(c["target_set"][i], c["sample_row"][i]))
    if j is None:
        continue
    for d in ("image", "invvar", "maskbits"):
        assert np.array_equal(c[d][i], cu[d][j], equal_nan=True), (i, d)
    same_stamps += 1
# Known lenses: every positives candidate is a catalogued lens with its tier; no pool one is
# (the sample excludes pool galaxies within 11" of a lens; the radius is 5").
pos = c["target_set"][:] == b"positives"
assert (c["known_lens"][:] == pos).all()
tiers = dict(zip(sample["lenses"]["name"][:], sample["lenses"]["tier"][:]))
for i in np.flatnonzero(pos):
    assert c["lens_tier"][i] == tiers[c["lens_name"][i]] and c["lens_sep_arcsec"][i] < 1.0
# The true lenses' ranks and the top-fraction counts.
truth = {f"{r['brickname']}_{r['objid']}" for r in csv.DictReader(open(mock + "/truth/lenses.csv"))}
tl = h5py.File(run + "/search.h5")["true_lenses"]
rank = {i: n + 1 for n, i in enumerate(order)}
gid = t["galaxy_id"][:]
mine = [i for i in range(len(gid)) if gid[i].decode() in truth]
assert sorted(tl["target_row"][:]) == mine and all(tl["rank"][j] == rank[tl["target_row"][j]] for j in range(len(mine)))
s = json.load(open(run + "/search_summary.json"))
for row in s["truth"]["by_top_fraction"]:
    top = max(1, math.ceil(row["top_fraction"] * len(p) - 1e-9))
    assert row["in_top"] == sum(rank[i] <= top for i in mine), row
print(f"{len(p)} targets ({n_pool} pool, {n_pos} lenses); {len(both)} logits = score's; {k} candidates "
      f"({int(pos.sum())} known lenses, {same_stamps} stamps = cutouts'); {len(mine)} true lenses, ranks = numpy")
PY
}
check "targets, logits = score's, candidates, stamps, known lenses, true-lens ranks" contents

# A magnitude cut: exactly the targets with mag_z < 21 (numpy on the sample).
mkdir -p "$tmp/cut"; cp "$tmp/r1/sample.h5" "$tmp/cut/"
"$dhs" run "$src/configs/demo.yaml" --out "$tmp/cut" --stages search "${common[@]}" --set search.max_mag_z=21 \
  > "$tmp/cut.log" 2>&1
mag_cut() {
  "$py" - "$tmp/cut" <<'PY'
import sys, h5py, numpy as np
d = sys.argv[1]
s, t = h5py.File(d + "/sample.h5"), h5py.File(d + "/search.h5")["targets"]
want = sum(int((s[g]["mag_z"][:] < 21).sum()) for g in ("pool", "positives"))
assert len(t["ra"]) == want and want > 0, (len(t["ra"]), want)
print(f"search.max_mag_z 21: {want} targets")
PY
}
check "search.max_mag_z keeps exactly the brighter targets" mag_cut

# SIGKILL of the whole job once some units are durable, then --resume: the same search.h5 as an
# uninterrupted run with the same (smaller) units.
common+=(--set search.unit_targets=8)
mkdir -p "$tmp/ref"; cp "$tmp/r1/sample.h5" "$tmp/ref/"
mpi 2 "$dhs" run "$src/configs/demo.yaml" --out "$tmp/ref" --stages search "${common[@]}" > "$tmp/ref.log" 2>&1
spooled() { [ "$(ls "$1"/journal/search/spool/*.spool 2>/dev/null | wc -l)" -ge "$2" ]; }
dir="$tmp/kill"; mkdir -p "$dir"; cp "$tmp/r1/sample.h5" "$dir/"
setsid bash -c "exec ${MPIEXEC_EXECUTABLE:-mpiexec} ${MPIEXEC_NUMPROC_FLAG:--n} 2 ${DHS_MPIEXEC_PREFLAGS//;/ } \"$dhs\" run \"$src/configs/demo.yaml\" --out \"$dir\" --stages search ${common[*]}" \
  > "$dir.log" 2>&1 &
pg=$!
for _ in $(seq 1500); do spooled "$dir" 5 && break; sleep 0.02; done
kill -9 -- "-$pg" 2>/dev/null; pkill -9 -f -- "--out $dir" 2>/dev/null; sleep 0.3
check "killed with some units durable and the stage unfinished" bash -c "[ ! -f '$dir/journal/search/COMPLETE' ]"
mpi 2 "$dhs" run "$src/configs/demo.yaml" --out "$dir" --stages search "${common[@]}" --resume >> "$dir.log" 2>&1
check "--resume used the journal" grep -qE 'stage search: .* already done \(journal\)' "$dir.log"
check "kill -9 + --resume: the same search.h5" same_group "$tmp/ref/search.h5" "$dir/search.h5" /targets
check "kill -9 + --resume: the same candidates" same_group "$tmp/ref/search.h5" "$dir/search.h5" /candidates
check "the units did not change the targets' rows" same_group "$tmp/r1/search.h5" "$dir/search.h5" /targets

# The report of a run with search.h5 but no evaluation.h5: dhs report writes the candidates page
# (gallery + table) linked from index.html; a real headless browser loads it, every image renders,
# and the console shows no error.
"$dhs" report "$tmp/r1" > "$tmp/report.log" 2>&1 || tail -20 "$tmp/report.log"
check "dhs report without evaluation.h5 writes candidates.html, the gallery (PNG + PDF) and the candidates table" \
  test -s "$tmp/r1/report/candidates.html" -a -s "$tmp/r1/report/fig11_search_candidates.png" \
       -a -s "$tmp/r1/report/fig11_search_candidates.pdf" -a -s "$tmp/r1/report/table8_search_candidates.csv" \
       -a -s "$tmp/r1/report/table8_search_candidates.tex" -a -s "$tmp/r1/report/table8_search_candidates.md"
check "index.html has the Search section and links the candidates page" \
  grep -q '<h2>Search</h2>.*href="candidates.html"' "$tmp/r1/report/index.html"
candidates_table() {
  "$py" - "$tmp/r1" <<'PY'
import csv, sys, h5py
run = sys.argv[1]
c = h5py.File(run + "/search.h5")["candidates"]
rows = list(csv.DictReader(open(run + "/report/table8_search_candidates.csv")))
assert [int(r["rank"]) for r in rows] == list(c["rank"][:]), "every candidate, by rank"
assert [r["galaxy_id"] for r in rows] == [g.decode() for g in c["galaxy_id"][:]]
assert [r["known_lens"] == "True" for r in rows] == list(c["known_lens"][:].astype(bool))
print(f"table 8: {len(rows)} candidates, {sum(r['known_lens'] == 'True' for r in rows)} known lenses")
PY
}
check "table 8 lists every candidate by rank with its known-lens flag" candidates_table
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$browser" ]; then
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --virtual-time-budget=5000 --enable-logging=stderr \
    --v=0 --dump-dom "file://$tmp/r1/report/candidates.html" > "$tmp/dom.html" 2> "$tmp/browser.log"
  rendered() {
    local n r
    n=$(grep -o 'data-images="[0-9]*"' "$tmp/dom.html" | grep -o '[0-9]*')
    r=$(grep -o 'data-rendered="[0-9]*"' "$tmp/dom.html" | grep -o '[0-9]*')
    echo "headless $(basename "$browser"): $r of $n images rendered"
    [ -n "$n" ] && [ "$n" -ge 1 ] && [ "$n" = "$r" ] && grep -q 'fig11_search_candidates.png' "$tmp/dom.html" \
      && ! grep -qi "uncaught\|console.*error" "$tmp/browser.log"
  }
  check "the candidates page loads in headless Chromium: every image renders, no console error" rendered
else
  echo "SKIP: no chromium for the browser check (scripts/setup.sh installs it)"
fi

finish
