#!/usr/bin/env bash
# The bad-input matrix (issue #18), one case per ctest test: bad_input_test.sh CASE.
# Each case writes a small mock sky, breaks one input (astropy or plain bytes: nothing binary is
# committed), runs dhs under mpirun -n 2 and checks that the message names the file and the
# field, HDU, row or key; that only the affected unit is quarantined (exit 3) and everything
# else finished, or that the command stops before any work; and that nothing crashes, aborts
# through MPI_ABORT or hangs (every run under `timeout`).
#   zero_cd           one band's coadd header with CD1_1..CD2_2 = 0
#   lenscat_not_utf8  \xff\xfe in a name of lenses/lenscat.csv
#   random_sweep      100 kB of random bytes listed as a sweep file beside the good ones (+ --resume)
#   huge_naxis2       sweep headers claiming NAXIS2 = 9e18 and 1e9 rows
#   nonfinite_flux    NaN / inf fluxes in a sweep: counted, reported, kept out of /hosts
#   sweep_not_ascii   a \xff byte in one row's TYPE of one sweep file
set -uo pipefail
case_name="${1:?usage: bad_input_test.sh CASE}"
dhs="${DHS_EXE:?}"
src="${DHS_SOURCE_DIR:?}"
py=/usr/bin/python3
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_support.sh"

mock="$tmp/mock"
"$dhs" mock-sky --out "$mock" --config "$src/configs/mock_sky_test.yaml" > "$tmp/mock.log" 2>&1 ||
  { cat "$tmp/mock.log"; echo "FAIL: mock sky"; exit 1; }

run_dhs() {  # run_dhs NAME ARGS...: dhs run of the demo config on the mock sky, 2 ranks, at most 240 s; sets rc
  local name="$1"; shift
  timeout -k 5 240 "${MPIEXEC_EXECUTABLE:-mpiexec}" "${MPIEXEC_NUMPROC_FLAG:--n}" 2 ${DHS_MPIEXEC_PREFLAGS//;/ } \
    "$dhs" run "$src/configs/demo.yaml" --out "$tmp/$name" --set survey.root="$mock" --set inject.source=sersic \
    --set run.log_level=info "$@" > "$tmp/$name.log" 2>&1
  rc=$?
  echo "--- dhs run $name: exit $rc; its last lines:"
  grep -v '^-----' "$tmp/$name.log" | tail -n 8
}
has() { grep -qF -- "$2" "$1" || { echo "  '$2' not in $1"; return 1; }; }
hasnt() { ! grep -qF -- "$2" "$1" || { echo "  '$2' found in $1"; return 1; }; }
pycheck() { "$py" -c "$@"; }  # pycheck SCRIPT ARGS...: a Python check (h5py, astropy)

# set_cards FILE KEY=VALUE...: rewrites header cards in place, in every HDU's header, as plain
# bytes (a compressed coadd's data stay untouched); prints the 1-based HDUs changed.
set_cards() {
  "$py" - "$@" <<'PY'
import sys
path, pairs = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
data = bytearray(open(path, "rb").read())
hdus, hdu, pos, in_header = set(), 0, 0, False
while pos + 80 <= len(data):
    card = data[pos:pos + 80].decode("ascii", "replace")
    if not in_header:
        if card.startswith("SIMPLE  =") or card.startswith("XTENSION="):
            in_header, hdu = True, hdu + 1
        else:
            pos += 2880 - pos % 2880 if pos % 2880 else 2880
            continue
    key = card[:8].strip()
    if key in pairs:
        data[pos:pos + 80] = f"{key:<8}= {pairs[key]:>20}".ljust(80).encode("ascii")
        hdus.add(hdu)
    if key == "END":
        in_header = False
        pos += 80
        pos += (2880 - pos % 2880) % 2880
        # skip the data: the next header starts on a block boundary with XTENSION
        while pos + 80 <= len(data) and not data[pos:pos + 9] == b"XTENSION=":
            pos += 2880
        continue
    pos += 80
open(path, "wb").write(data)
print(",".join(str(h) for h in sorted(hdus)))
PY
}

case "$case_name" in
zero_cd)
  # 1. One band's coadd header with CD1_1..CD2_2 = 0: before, exit 0 and every stamp of that
  # brick cut from the image centre with status ok. Now that brick's unit is quarantined,
  # naming the file, the HDU and the CD keys; the other brick is cut.
  bricks=($(ls "$mock/coadd"/*/ | grep -v / | sort))
  bad="${bricks[0]}" good="${bricks[1]}"
  file="$(ls "$mock/coadd"/*/"$bad"/legacysurvey-"$bad"-image-r.fits.fz)"
  hdu=$(set_cards "$file" CD1_1=0.0 CD1_2=0.0 CD2_1=0.0 CD2_2=0.0)
  check "CD cards zeroed in HDU $hdu of $(basename "$file")" [ -n "$hdu" ]
  run_dhs cut --stages sample,cutouts --set cutouts.unit_targets=1
  check "exit 3 (a quarantined unit)" [ "$rc" = 3 ]
  check "log names the file" has "$tmp/cut.log" "legacysurvey-$bad-image-r.fits.fz"
  check "log names the HDU" has "$tmp/cut.log" "HDU $hdu"
  check "log names the CD keys" has "$tmp/cut.log" "CD1_1 = 0"
  check "log says degenerate WCS" has "$tmp/cut.log" "degenerate WCS"
  check "no MPI_ABORT" hasnt "$tmp/cut.log" "MPI_ABORT"
  check "only the broken brick's unit quarantined, the other brick cut" pycheck '
import sys, h5py
f = h5py.File(sys.argv[1], "r")
ids = list(f["/failures/unit_id"].asstr()[...]); msgs = list(f["/failures/message"].asstr()[...])
print(ids, msgs)
assert ids == [sys.argv[2]], ids
assert "CD2_2" in msgs[0] and "image-r.fits.fz" in msgs[0], msgs
src = set(f["/stamps/brickname"].asstr()[...]); status = set(f["/stamps/status"].asstr()[...])
print("stamps", f["/stamps/brickname"].shape[0], src, status)
assert f["/stamps/brickname"].shape[0] > 0 and src <= {sys.argv[3], ""}, src
assert list(f["/bricks/brickname"].asstr()[...]) == [sys.argv[3]]
' "$tmp/cut/cutouts.h5" "$bad" "$good"
  ;;
lenscat_not_utf8)
  # 2. \xff\xfe in a name: before, written raw into UTF-8-tagged HDF5 strings (h5py's .asstr()
  # raised). Now the sample stage stops at planning (exit 1: bad data, not a bad config),
  # naming the file, the line and the column; nothing is written.
  cat="$mock/lenses/lenscat.csv"
  "$py" - "$cat" <<'PY'
import sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
lines[2] = b"\xff\xfe" + lines[2]          # line 3 of the file: its name field
open(sys.argv[1], "wb").write(b"\n".join(lines))
PY
  run_dhs bad --stages sample
  check "exit 1 (an error stopped the command)" [ "$rc" = 1 ]
  check "message names the file" has "$tmp/bad.log" "lenscat.csv"
  check "message names line and column" has "$tmp/bad.log" "line 3, column 'name'"
  check "message says why" has "$tmp/bad.log" "byte 0xFF at offset 0 of the field is not valid UTF-8"
  check "nothing written" [ ! -e "$tmp/bad/sample.h5" ]
  check "no crash" hasnt "$tmp/bad.log" "terminate called"
  check "no MPI_ABORT (every rank stops alike)" hasnt "$tmp/bad.log" "MPI_ABORT"
  # Valid UTF-8 beyond ASCII is fine and reads back as text.
  "$py" - "$cat" <<'PY'
import sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
lines[2] = "Ž-".encode() + lines[2][2:]
open(sys.argv[1], "wb").write(b"\n".join(lines))
PY
  run_dhs good --stages sample
  check "a UTF-8 name runs (exit 0)" [ "$rc" = 0 ]
  check "the UTF-8 name reads back as text" pycheck '
import sys, h5py
f = h5py.File(sys.argv[1], "r")
names = [n for g in ("/lenses", "/positives") if g in f for k in ("name", "lens_name", "all_names") if k in f[g] for n in f[g][k].asstr()[...]]
print([n for n in names if n.startswith("Ž")])
assert any(n.startswith("Ž-") for n in names), names
' "$tmp/good/sample.h5"
  ;;
random_sweep)
  # 3. Random bytes listed as a sweep file: before, the unit was quarantined, then the JSON dump
  # of its message (cfitsio quotes the bytes) threw and MPI_ABORT ended the job, --resume too.
  # Now that unit is quarantined with a message made valid UTF-8, the good files finish.
  mkdir -p "$mock/junk"
  "$py" -c 'import random; open("'"$mock"'/junk/x.fits", "wb").write(random.Random(18).randbytes(100000))'
  sweeps=(--set "sample.sweep_files=[sweep/10.1/sweep-*.fits,junk/x.fits]")
  run_dhs rnd --stages sample "${sweeps[@]}"
  check "exit 3 (a quarantined unit)" [ "$rc" = 3 ]
  check "no MPI_ABORT" hasnt "$tmp/rnd.log" "MPI_ABORT"
  check "log names the file" has "$tmp/rnd.log" "x.fits"
  check "console and rank logs are UTF-8 text" pycheck '
import sys
for p in sys.argv[1:]:
    open(p, "rb").read().decode("utf-8")
' "$tmp/rnd.log" "$tmp"/rnd/logs/rank-*.log
  failures='
import sys, h5py
f = h5py.File(sys.argv[1], "r")
ids = list(f["/failures/unit_id"].asstr()[...]); msgs = list(f["/failures/message"].asstr()[...])
print(ids, [m[:200] for m in msgs])
assert len(ids) == 1 and "x.fits" in ids[0] and "x.fits" in msgs[0], ids
names = f["/sweep_files/sweep_file"].asstr()[...]
assert f["/pool/sweep_file_id"].shape[0] > 0 and "x.fits" not in set(names[f["/pool/sweep_file_id"][...]])
'
  check "one unit quarantined, its message readable as text, the good files done" pycheck "$failures" "$tmp/rnd/sample.h5"
  run_dhs rnd --stages sample "${sweeps[@]}" --resume
  check "--resume: exit 3 again" [ "$rc" = 3 ]
  check "--resume: no MPI_ABORT" hasnt "$tmp/rnd.log" "MPI_ABORT"
  check "--resume: the same one failure" pycheck "$failures" "$tmp/rnd/sample.h5"
  ;;
huge_naxis2)
  # 4. A sweep header claiming more rows than the file holds: before, NAXIS2 = 9e18 planned
  # units until rank 0 ran out of memory (nothing logged), NAXIS2 = 1e9 planned 2,001 units
  # and quarantined 2,000. Now each such file is refused once at open (one quarantined unit)
  # with a DataError naming the file, the HDU and NAXIS2; the good files finish.
  mkdir -p "$mock/junk"
  good_sweep="$(ls "$mock"/sweep/10.1/sweep-*.fits | head -1)"
  cp "$good_sweep" "$mock/junk/huge.fits"
  cp "$good_sweep" "$mock/junk/big.fits"
  hdu=$(set_cards "$mock/junk/huge.fits" NAXIS2=9000000000000000000)
  set_cards "$mock/junk/big.fits" NAXIS2=1000000000 > /dev/null
  check "NAXIS2 rewritten in HDU $hdu" [ "$hdu" = 2 ]
  # An 8 GB address-space limit catches a blow-up; AddressSanitizer reserves terabytes of shadow
  # address space at start, so under it (scripts/sanitize.sh) its own allocation limit does.
  limit=8000000
  [ -z "${ASAN_OPTIONS:-}" ] || limit=unlimited
  ( ulimit -v "$limit"; run_dhs big --stages sample --set "sample.sweep_files=[sweep/10.1/sweep-*.fits,junk/huge.fits,junk/big.fits]"; exit $rc )
  rc=$?
  check "exit 3 (quarantined units), no hang, no memory blow-up" [ "$rc" = 3 ]
  check "log names the file, HDU and NAXIS2" has "$tmp/big.log" "huge.fits' (HDU 2, keyword NAXIS2)"
  check "log gives the rows claimed" has "$tmp/big.log" "claims 9000000000000000000 rows"
  check "no MPI_ABORT" hasnt "$tmp/big.log" "MPI_ABORT"
  check "one quarantined unit per bad file, the good files done" pycheck '
import sys, h5py
f = h5py.File(sys.argv[1], "r")
ids = list(f["/failures/unit_id"].asstr()[...]); msgs = list(f["/failures/message"].asstr()[...])
print(ids, msgs, "units_planned", f.attrs["units_planned"])
assert len(ids) == 2 and "big.fits" in ids[0] and "huge.fits" in ids[1], ids
assert all("NAXIS2" in m for m in msgs), msgs
assert "claims 1000000000 rows" in msgs[0], msgs
assert f.attrs["units_planned"] < 10
assert f["/pool/sweep_file_id"].shape[0] > 0
' "$tmp/big/sample.h5"
  ;;
nonfinite_flux)
  # Weak list: NaN / inf fluxes. Before, they passed silently into /pool and /hosts. Now the
  # sample stage counts them per band (log line and summary) and keeps them out of /hosts.
  good_sweep="$(ls "$mock"/sweep/10.1/sweep-*.fits | head -1)"
  "$py" - "$good_sweep" <<'PY'
import sys, numpy as np
from astropy.io import fits
with fits.open(sys.argv[1], mode="update") as h:
    d = h[1].data
    lrg = np.flatnonzero((d["TYPE"] != "PSF") & (d["FLUX_Z"] > 10))[:6]
    d["FLUX_Z"][lrg[:3]] = np.nan
    d["FLUX_R"][lrg[3:]] = np.inf
    print("broken rows", lrg)
PY
  run_dhs nf --stages sample
  check "exit 0" [ "$rc" = 0 ]
  check "the log reports the non-finite fluxes" has "$tmp/nf.log" "non-finite flux"
  check "the log names the columns and counts" has "$tmp/nf.log" "FLUX_R: 3 rows, FLUX_Z: 3 rows (in $(basename "$good_sweep"))"
  check "counted in sample.h5, none in /hosts" pycheck '
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
note = f["/pool"].attrs["nonfinite_flux"]
note = note.decode() if isinstance(note, bytes) else note
cols = f["/nonfinite_flux/column"].asstr()[...]; rows = f["/nonfinite_flux/rows"][...]
tot = {c: int(rows[cols == c].sum()) for c in set(cols)}
print(note, tot)
assert tot == {"FLUX_Z": 3, "FLUX_R": 3}, tot
assert "FLUX_R: 3 rows" in note
for b in ("g", "r", "z", "w1"):
    assert np.isfinite(f["/hosts/flux_" + b][...]).all(), b
assert f["/hosts/flux_r"].shape[0] > 0
' "$tmp/nf/sample.h5"
  ;;
sweep_not_ascii)
  # A byte outside ASCII in a sweep's character column: before, it went raw into /pool (a
  # UTF-8 dataset that h5py's .asstr() then fails on). Now the reader refuses it, naming the
  # file, column and row; that unit is quarantined and the file's other units finish.
  bad_sweep="$(ls "$mock"/sweep/10.1/sweep-*.fits | head -1)"
  row=$("$py" - "$bad_sweep" <<'PY'
import sys
from astropy.io import fits
path = sys.argv[1]
with fits.open(path) as h:
    hdu = h[1]
    start = hdu.fileinfo()["datLoc"]
    width = hdu.data.dtype.itemsize
    offset = hdu.data.dtype.fields["TYPE"][1]
    row = min(3, len(hdu.data) - 1)
data = bytearray(open(path, "rb").read())
data[start + row * width + offset] = 0xFF
open(path, "wb").write(data)
print(row)
PY
)
  run_dhs asc --stages sample --set sample.rows_per_unit=100  # the mock's one sweep file in 3 units
  check "exit 3 (a quarantined unit)" [ "$rc" = 3 ]
  check "no MPI_ABORT" hasnt "$tmp/asc.log" "MPI_ABORT"
  check "the log names the file, column and row" has "$tmp/asc.log" "column TYPE row $row"
  check "... and the byte" has "$tmp/asc.log" "byte 0xFF is not ASCII"
  check "one unit quarantined (the first rows), the others done, every string readable" pycheck '
import re, sys, h5py
f = h5py.File(sys.argv[1], "r")
ids = list(f["/failures/unit_id"].asstr()[...])
assert len(ids) == 1 and sys.argv[2] in ids[0], ids
end = int(re.search(r"\[0:(\d+)\]", ids[0]).group(1))
rows = f["/pool/sweep_row"][...]
assert len(rows) > 0 and rows.min() >= end, (end, len(rows), rows.min() if len(rows) else None)
for name in ("/pool/type", "/pool/brickname", "/pool/galaxy_id", "/sweep_files/sweep_file"):
    f[name].asstr()[...]
' "$tmp/asc/sample.h5" "$(basename "$bad_sweep")"
  ;;
*)
  echo "unknown case '$case_name'"; exit 2 ;;
esac
finish
