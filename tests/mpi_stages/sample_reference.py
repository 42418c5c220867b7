#!/usr/bin/python3
"""Independent recomputation of the sampling stage's healpix_64, healpix_128 and split, the
way the predecessor's Python did it (seed 001 section 3): healpy.ang2pix(nside,
radians(90 - dec), radians(ra), nest=True) and assign_split() on SHA-256 of
"{healpix_128}_{seed}" with hashlib. Used by tests/mpi_stages/sample_test.cpp.

  sample_reference.py fits SEED FILE...     every row of each FITS table: "file row hp64 hp128 split"
  sample_reference.py h5 SEED FILE.h5 GROUP...  checks the stored columns of every row of each
                                            group; prints "GROUP rows mismatches"
"""
import hashlib
import os
import sys

import healpy as hp
import numpy as np


def assign_split(healpix_idx, allocations, seed=42):
    hash_input = f"{healpix_idx}_{seed}"
    hash_bytes = hashlib.sha256(hash_input.encode()).digest()
    hash_value = int.from_bytes(hash_bytes[:4], "big") / (2**32)
    cumulative = 0.0
    for split, proportion in sorted(allocations.items()):
        cumulative += proportion
        if hash_value < cumulative:
            return split
    return "train"


ALLOC = {"train": 0.70, "val": 0.15, "test": 0.15}


def compute(ra, dec, seed):
    ra = np.asarray(ra, dtype=np.float64)
    dec = np.asarray(dec, dtype=np.float64)
    theta = np.radians(90.0 - dec)
    phi = np.radians(ra)
    h64 = hp.ang2pix(64, theta, phi, nest=True)
    h128 = hp.ang2pix(128, theta, phi, nest=True)
    cache = {}
    split = []
    for c in h128.tolist():
        if c not in cache:
            cache[c] = assign_split(c, ALLOC, seed)
        split.append(cache[c])
    return h64, h128, split


def main():
    mode, seed = sys.argv[1], int(sys.argv[2])
    if mode == "fits":
        import fitsio
        for path in sys.argv[3:]:
            d = fitsio.read(path, columns=["RA", "DEC"], ext=1)
            h64, h128, split = compute(d["RA"], d["DEC"], seed)
            name = os.path.basename(path)
            for i in range(len(d)):
                print(name, i, int(h64[i]), int(h128[i]), split[i])
    elif mode == "h5":
        import h5py
        with h5py.File(sys.argv[3], "r") as f:
            for g in sys.argv[4:]:
                grp = f[g]
                h64, h128, split = compute(grp["ra"][:], grp["dec"][:], seed)
                stored = [s.decode() if isinstance(s, bytes) else s for s in grp["split"][:]]
                bad = int(np.sum(grp["healpix_64"][:] != h64) + np.sum(grp["healpix_128"][:] != h128)
                          + sum(a != b for a, b in zip(stored, split)))
                print(g, len(h128), bad)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
