#!/usr/bin/env bash
# The skeleton stage (the template a new stage copies) end to end: the random catalogue is the
# same for 1 and 2 ranks and for another unit size; its points are where numpy puts them
# (injection::uniform01's splitmix64 streams) and in the cells healpy would give (checked here against the
# reduce's counts per base cell, which must add up and pass a chi^2 test of uniformity); a bad
# nside is refused naming the key.
set -uo pipefail
dhs="${DHS_EXE:?}"
src="${DHS_SOURCE_DIR:?}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
source "$here/../../support/script_support.sh"

cfg=(--set skeleton.randoms=30000 --set skeleton.per_unit=4000 --set skeleton.nside=16)
"$dhs" run "$src/configs/skeleton.yaml" --out "$tmp/n1" "${cfg[@]}" > "$tmp/n1.log" 2>&1
check "1 rank: exit 0" [ $? = 0 ]
mpi 2 "$dhs" run "$src/configs/skeleton.yaml" --out "$tmp/n2" "${cfg[@]}" > "$tmp/n2.log" 2>&1
check "2 ranks: exit 0" [ $? = 0 ]
check "1 and 2 ranks: identical skeleton.h5" same "$tmp/n1/skeleton.h5" "$tmp/n2/skeleton.h5"
"$dhs" run "$src/configs/skeleton.yaml" --out "$tmp/u" "${cfg[@]}" --set skeleton.per_unit=777 > "$tmp/u.log" 2>&1
check "another unit size: the same /randoms" same_group "$tmp/n1/skeleton.h5" "$tmp/u/skeleton.h5" randoms
check "the reduce logs its chi^2" grep -q "skeleton: 30000 randoms; per base cell chi^2" "$tmp/n1.log"

check "points = splitmix64 streams in numpy, cells nest, counts and chi^2 add up" "$py" - "$tmp/n1/skeleton.h5" <<'PY'
import sys
import h5py
import numpy as np
f = h5py.File(sys.argv[1], "r")
r = f["randoms"]
ids = r["random_id"][:]
assert (ids == np.arange(30000)).all(), "ids not in order"
M = (1 << 64) - 1
def mix(x):
    x = (x + 0x9E3779B97F4A7C15) & M
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M
    return x ^ (x >> 31)
def u01(seed, task, stream):  # kernels::injection::uniform01
    h = mix(seed ^ mix((task + 0x632BE59BD9B4E019) & M))
    h = mix((h + mix((stream * 0xD1B54A32D192ED03 + 1) & M)) & M)
    return (h >> 11) * 2.0 ** -53
for k in (0, 1, 12345, 29999):
    ra, dec = 360 * u01(42, k, 0), np.degrees(np.arcsin(2 * u01(42, k, 1) - 1))
    assert abs(ra - r["ra"][k]) < 1e-9 and abs(dec - r["dec"][k]) < 1e-9, (k, ra, dec, r["ra"][k], r["dec"][k])
cells = r["healpix"][:]
assert cells.min() >= 0 and cells.max() < 12 * 16 * 16
# NESTED at nside 16: the base cell is cell >> 8; the reduce's counts are those.
base = f["base_cells"]
counts = np.bincount(cells >> 8, minlength=12)
assert (base["count"][:] == counts).all(), (base["count"][:], counts)
exp = 30000 / 12
chi2 = ((counts - exp) ** 2 / exp).sum()
assert abs(base.attrs["chi2"] - chi2) < 1e-9 * max(1, chi2)
assert chi2 < 31.3, f"chi^2 {chi2} for 11 dof: not uniform (p < 0.001)"
# Equal-area: the mean of sin(dec) is 0 and the fraction with |dec| < 30 deg is 1/2.
d = r["dec"][:]
assert abs(np.mean(np.abs(d) < 30) - 0.5) < 0.02
PY
# If healpy is installed, the cells are healpy's too.
if "$py" -c "import healpy" 2>/dev/null; then
  check "cells = healpy.ang2pix(nest=True)" "$py" - "$tmp/n1/skeleton.h5" <<'PY'
import sys
import h5py, healpy, numpy as np
r = h5py.File(sys.argv[1], "r")["randoms"]
c = healpy.ang2pix(16, np.radians(90 - r["dec"][:]), np.radians(r["ra"][:]), nest=True)
assert (c == r["healpix"][:]).all()
PY
fi

"$dhs" run "$src/configs/skeleton.yaml" --out "$tmp/bad" --set skeleton.nside=12 > "$tmp/bad.log" 2>&1
check "nside 12: exit 2" [ $? = 2 ]
check "... naming the key" grep -q "skeleton.nside.*not a power of 2" "$tmp/bad.log"
check "... nothing written" [ ! -e "$tmp/bad/skeleton.h5" ]
finish
