#!/usr/bin/python3
"""A small injection-stage-like file for the training stage's tests: /injections with image and
invvar stamps (N, 3, S, S) float32, is_control, split, theta_e_arcsec, psf_fwhm_r, arc_snr,
physics_valid, bad_pixel_frac, host_galaxy_id, cell_id and its bins. Injections are a smooth galaxy plus a ring (an Einstein ring at
8-12 px), controls the galaxy alone; noise sigma 1 (invvar 1). Deterministic in --seed.

    make_fixture.py OUT.h5 [--n 384] [--size 65] [--nan-injections] [--no-val-injections]
"""
import argparse

import h5py
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=384)
    ap.add_argument("--size", type=int, default=65)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--nan-injections", action="store_true", help="every injection's pixels NaN (bad input)")
    ap.add_argument("--no-val-injections", action="store_true", help="the val split holds controls only")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    n, s = a.n, a.size
    c = (s - 1) / 2
    y, x = np.mgrid[0:s, 0:s] - c
    r = np.hypot(x, y)
    control = np.arange(n) % 2 == 1
    # Splits 70/15/15 by row, interleaved so every split holds both labels.
    split = np.array(["train"] * n, dtype=object)
    k = np.arange(n) // 2
    split[(k % 20) >= 14] = "val"
    split[(k % 20) >= 17] = "test"
    if a.no_val_injections:
        split[(split == "val") & ~control] = "train"
    image = np.empty((n, 3, s, s), np.float32)
    for i in range(n):
        q, phi = rng.uniform(0.6, 1.0), rng.uniform(0, np.pi)
        xr, yr = x * np.cos(phi) + y * np.sin(phi), -x * np.sin(phi) + y * np.cos(phi)
        galaxy = 20.0 * np.exp(-0.5 * (xr**2 + (yr / q) ** 2) / 3.0**2)
        ring = 0.0
        if not control[i]:
            r0 = rng.uniform(8, 12)
            ring = rng.uniform(2.0, 4.0) * np.exp(-0.5 * ((r - r0) / 1.5) ** 2)
        for b, colour in enumerate((1.0, 0.8, 0.6)):
            image[i, b] = galaxy * (1.3 - colour) + ring * colour + rng.normal(0, 1, (s, s))
    if a.nan_injections:
        image[~control] = np.nan
    with h5py.File(a.out, "w") as f:
        g = f.create_group("injections")
        g["image"] = image
        g["image"].attrs["bands"] = np.bytes_("g,r,z")  # fixed-length, as dhs writes attributes
        g["invvar"] = np.ones_like(image)
        g["is_control"] = control
        # Selection-function cells: injections spread over 4 cells of the SPEC grid, controls -1.
        cell = np.where(control, -1, (np.arange(n) // 2) % 4)
        g["cell_id"] = cell.astype(np.int32)
        g["cell_theta_e"] = np.where(control, -1, 4 + cell % 2).astype(np.int32)
        g["cell_psf"] = np.where(control, -1, 2 + cell // 2).astype(np.int32)
        g["cell_depth"] = np.where(control, -1, 1).astype(np.int32)
        g["host_galaxy_id"] = np.array([f"fx{i // 2:06d}".encode() for i in range(n)], dtype="S8")
        g["split"] = np.array([t.encode() for t in split], dtype="S5")
        g["theta_e_arcsec"] = np.where(control, np.nan, 2.5).astype(np.float64)
        g["psf_fwhm_r"] = np.full(n, 1.2)
        g["arc_snr"] = np.where(control, np.nan, 30.0)
        g["physics_valid"] = ~control
        g["bad_pixel_frac"] = np.where(~control & a.nan_injections, 1.0, 0.0).astype(np.float32)


if __name__ == "__main__":
    main()
