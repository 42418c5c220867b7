#!/usr/bin/python3
"""The Python baseline of benchmarks/run_cutouts.sh for image + invvar stamps.

Runs shared/bench/pyref/stage_b_cutouts.py's own functions (full decode with fitsio + numpy
slicing; fitsio subset reads that decode only the touched tiles) on 3 files (image g, r, z) and on
6 files (image and invvar), and prints, per occupancy k = 1, 10, 100, 1000 stamps per brick, the
per-brick rates stage_b_cutouts.py reports (files opened once for all subset reads) and the same
with each brick's files opened for its k stamps (what a brick-by-brick pipeline pays), both by
wall time and by CPU time of this one-thread process.

  PERF_DATA=DIR /usr/bin/python3 cutouts_pyref.py PYREF_DIR
Output lines start with "PYRESULT" (key=value).
"""
import os
import sys
import time

import fitsio
import numpy as np

sys.path.insert(0, sys.argv[1])
import stage_b_cutouts as sb  # noqa: E402  (the shared baseline's functions)
from common import DATA  # noqa: E402


def best_of(fn, reps):
    """Best wall and best CPU (process) seconds of reps calls; the last result."""
    wall = cpu = float("inf")
    res = None
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        res = fn()
        wall, cpu = min(wall, time.perf_counter() - w0), min(cpu, time.process_time() - c0)
    return (wall, cpu), res

H = sb.H


def files(kind):
    return [os.path.join(DATA, f"brick-{kind}-{b}.fits.fz") for b in sb.BANDS]


def full_decode(paths):
    return [fitsio.read(p, ext=1) for p in paths]


def slice_all(imgs, pos):  # stage_b_cutouts.slice_all for any number of planes
    out = np.empty((len(pos), sb.CUT, sb.CUT, len(imgs)), np.float32)
    for k, (x, y) in enumerate(pos):
        for b in range(len(imgs)):
            out[k, :, :, b] = imgs[b][y - H:y + H + 1, x - H:x + H + 1]
    return out


def subsets(paths, pos, reopen):
    """fitsio subset reads as stage_b_cutouts.fitsio_subsets; reopen: open the files per stamp."""
    out = np.empty((len(pos), sb.CUT, sb.CUT, len(paths)), np.float32)
    fs = None if reopen else [fitsio.FITS(p) for p in paths]
    for k, (x, y) in enumerate(pos):
        cur = [fitsio.FITS(p) for p in paths] if reopen else fs
        for b in range(len(paths)):
            out[k, :, :, b] = cur[b][1][y - H:y + H + 1, x - H:x + H + 1]
        if reopen:
            for f in cur:
                f.close()
    if not reopen:
        for f in fs:
            f.close()
    return out


def main():
    pos = np.load(os.path.join(DATA, "cutout-positions.npy"))
    load = os.getloadavg()[0]
    for mode, paths in (("image", files("image")), ("image+invvar", files("image") + files("invvar"))):
        t_full, imgs = best_of(lambda: full_decode(paths), 3)
        t_slice, _ = best_of(lambda: slice_all(imgs, pos), 3)
        nsub = 100
        t_sub, _ = best_of(lambda: subsets(paths, pos[:nsub], False), 2)
        t_reopen, _ = best_of(lambda: subsets(paths, pos[:nsub], True), 2)
        for basis, j in (("wall", 0), ("cpu", 1)):
            slice1 = t_slice[j] / len(pos)
            sub1 = t_sub[j] / nsub
            open1 = max(t_reopen[j] / nsub - sub1, 0.0)  # opening a brick's files once
            for k in (1, 10, 100, 1000):
                full = k / (t_full[j] + k * slice1)  # fitsio.read opens the files itself
                sub = k / (k * sub1)
                sub_open = k / (open1 + k * sub1)
                print(f"PYRESULT mode={mode} basis={basis} k={k} full_decode_slice={full:.2f} subset_reads={sub:.2f} "
                      f"best={max(full, sub):.2f} best_with_open={max(full, sub_open):.2f} load1={load:.2f}", flush=True)
        print(f"PYRESULT mode={mode} full_decode_seconds={t_full[0]:.4f} subset_seconds_per_stamp={t_sub[0] / nsub:.5f}",
              flush=True)


if __name__ == "__main__":
    t0 = time.time()
    main()
    print(f"PYRESULT wall={time.time() - t0:.1f}")
