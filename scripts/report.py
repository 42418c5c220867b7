#!/usr/bin/python3
"""The run report (`dhs report RUN_DIR`): figures and tables of a dhs run for the paper
"Selection Functions and Failure Modes of Real-Image Lens Finders in DR10", from the run's
HDF5 files, into RUN_DIR/report/ with an index.html that shows them with captions.

    /usr/bin/python3 scripts/report.py RUN_DIR [--out DIR]

Figures (PNG and PDF), after seed 001 section 7, each made when its inputs exist:
  1. the HEALPix split of the sample (sky positions by split)
  2. score distributions by stratum (evaluation.h5:/score_histograms)
  3. completeness C(theta_E, PSF) at the depths of the grid (/selection_function)
  4. failure gallery: the top false positives and false negatives as g, r, z colour composites
     (asinh stretch, as the Legacy Surveys viewer) from cutouts.h5 / injections.h5
  5. recall by Tier with Clopper-Pearson intervals (/recall)
  6. reliability diagrams (/calibration)
  7. ROC and precision-recall curves (/roc_*, /pr_*) and AUC per stratum (/auc_by_stratum)
  8. false-positive rate per contaminant category (/contaminant_fpr)
Tables (CSV, Markdown, LaTeX): TPR at FPR, AUC per stratum, Tier recall, contaminant FPR,
selection function, training history.
"""
import argparse
import csv
import html
import json
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def table(group):
    """An evaluation.h5 group as a dict of numpy columns (strings decoded)."""
    out = {}
    for k, ds in group.items():
        v = ds[:]
        out[k] = np.array([text(x) for x in v]) if v.dtype.kind == "S" else v
    return out


class Report:
    def __init__(self, run, out):
        self.run, self.out = run, out
        os.makedirs(out, exist_ok=True)
        self.items = []  # (kind, title, caption, files)

    def path(self, name):
        return os.path.join(self.run, name)

    def figure(self, fig, name, title, caption):
        for ext in ("png", "pdf"):
            fig.savefig(os.path.join(self.out, f"{name}.{ext}"), dpi=110, bbox_inches="tight")
        plt.close(fig)
        self.items.append(("figure", title, caption, f"{name}.png"))

    def table(self, name, title, caption, columns, rows):
        with open(os.path.join(self.out, f"{name}.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(columns)
            w.writerows(rows)
        fmt = lambda v: f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)
        with open(os.path.join(self.out, f"{name}.md"), "w") as f:
            f.write("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n")
            for r in rows:
                f.write("| " + " | ".join(fmt(v) for v in r) + " |\n")
        esc = lambda s: s.replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")
        with open(os.path.join(self.out, f"{name}.tex"), "w") as f:
            f.write("\\begin{tabular}{" + "l" * len(columns) + "}\n\\hline\n")
            f.write(" & ".join(esc(c) for c in columns) + " \\\\\n\\hline\n")
            for r in rows:
                f.write(" & ".join(esc(fmt(v)) for v in r) + " \\\\\n")
            f.write("\\hline\n\\end{tabular}\n")
        self.items.append(("table", title, caption, (name, columns, rows)))

    def write_index(self):
        parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
                 f"<title>dhs report: {html.escape(self.run)}</title>",
                 "<style>body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
                 "figure{margin:2em 0}img{max-width:100%;border:1px solid #ccc}"
                 "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #bbb;padding:2px 6px}"
                 "figcaption,p.caption{color:#333}</style></head><body>",
                 "<h1>Dark Halo Scope run report</h1>",
                 f"<p>Run directory <code>{html.escape(os.path.abspath(self.run))}</code>.</p>"]
        for kind, title, caption, what in self.items:
            parts.append(f"<h2>{html.escape(title)}</h2>")
            if kind == "figure":
                parts.append(f'<figure><img src="{what}" alt="{html.escape(title)}">'
                             f"<figcaption>{html.escape(caption)} (<a href=\"{what[:-4]}.pdf\">PDF</a>)</figcaption></figure>")
            else:
                name, columns, rows = what
                parts.append(f'<p class="caption">{html.escape(caption)} (<a href="{name}.csv">CSV</a>, '
                             f'<a href="{name}.md">Markdown</a>, <a href="{name}.tex">LaTeX</a>)</p><table><tr>')
                parts.append("".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr>")
                for r in rows[:200]:
                    cells = (f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v) for v in r)
                    parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
                parts.append("</table>")
        # For headless-browser checks: how many images the page has and how many rendered.
        parts.append("<script>window.addEventListener('load', () => { const im = [...document.images]; "
                     "document.body.dataset.images = im.length; "
                     "document.body.dataset.rendered = im.filter(i => i.complete && i.naturalWidth > 0).length; });"
                     "</script>")
        parts.append("</body></html>")
        with open(os.path.join(self.out, "index.html"), "w") as f:
            f.write("\n".join(parts))


def fig_split(r):
    if not os.path.exists(r.path("sample.h5")):
        return
    with h5py.File(r.path("sample.h5")) as f:
        if "pool" not in f:
            return
        pool = f["pool"]
        ra, dec, split = pool["ra"][:], pool["dec"][:], np.array([text(x) for x in pool["split"][:]])
    fig, ax = plt.subplots(figsize=(6, 4))
    for s, c in (("train", "tab:blue"), ("val", "tab:orange"), ("test", "tab:green")):
        m = split == s
        ax.scatter(ra[m], dec[m], s=2, c=c, label=f"{s} ({m.sum()})")
    ax.set_xlabel("RA [deg]"), ax.set_ylabel("Dec [deg]"), ax.invert_xaxis(), ax.legend(markerscale=4)
    r.figure(fig, "fig1_split", "Figure 1: the HEALPix split",
             "Pool galaxies by split: train / val / test are whole HEALPix cells (nside 128), so no galaxy's "
             "neighbourhood is shared between them.")


def fig_scores(r, ev):
    if "score_histograms" not in ev:
        return
    h = table(ev["score_histograms"])
    strata = [s for s in dict.fromkeys(h["stratum"]) if s != "all"][:3]
    fig, axes = plt.subplots(1, 1 + len(strata), figsize=(4 * (1 + len(strata)), 3.2), squeeze=False)
    for ax, stratum in zip(axes[0], ["all"] + strata):
        m = h["stratum"] == stratum
        for (comp, value, label) in sorted(set(zip(h["comparison"][m], h["value"][m], h["label"][m]))):
            k = m & (h["comparison"] == comp) & (h["value"] == value) & (h["label"] == label)
            ax.step(h["p_lens_lo"][k], h["count"][k] / max(1, h["count"][k].sum()), where="post",
                    label=f"{comp} {'pos' if label else 'neg'} {value if stratum != 'all' else ''}".strip())
        ax.set_title(stratum), ax.set_xlabel("p_lens"), ax.set_yscale("log"), ax.legend(fontsize=6)
    r.figure(fig, "fig2_scores", "Figure 2: score distributions",
             "Normalised p_lens histograms of positives and negatives, overall and by stratum.")


def fig_completeness(r, ev):
    if "selection_function" not in ev:
        return
    t = table(ev["selection_function"])
    target = max(t["target_fpr"])
    m = t["target_fpr"] == target
    depths = sorted(set(zip(t["depth_lo"][m], t["depth_hi"][m])))[:3]
    fig, axes = plt.subplots(1, len(depths), figsize=(4.5 * len(depths), 3.8), squeeze=False)
    te = np.arange(0.375, 3.2, 0.25)
    ps = np.arange(0.825, 1.9, 0.15)
    for ax, (dlo, dhi) in zip(axes[0], depths):
        grid = np.full((len(ps) - 1, len(te) - 1), np.nan)
        k = m & (t["depth_lo"] == dlo)
        for tlo, plo, c in zip(t["theta_e_lo"][k], t["psf_lo"][k], t["fraction"][k]):
            grid[int(round((plo - ps[0]) / 0.15)), int(round((tlo - te[0]) / 0.25))] = c
        im = ax.pcolormesh(te, ps, grid, vmin=0, vmax=1, cmap="viridis")
        ax.set_title(f"depth r {dlo:.2f}-{dhi:.2f}"), ax.set_xlabel("theta_E [arcsec]"), ax.set_ylabel("PSF FWHM [arcsec]")
    fig.colorbar(im, ax=axes[0].tolist(), label="completeness")
    r.figure(fig, "fig3_completeness", "Figure 3: the selection function C(theta_E, PSF)",
             f"Completeness per cell at the threshold of FPR {target:g} (blank: no injection in the cell).")
    rows = [(int(a), b, c, d, e, f_, g, int(n), int(k_), fr, lo, hi) for a, b, c, d, e, f_, g, n, k_, fr, lo, hi in zip(
        t["cell_id"], t["theta_e_lo"], t["theta_e_hi"], t["psf_lo"], t["psf_hi"], t["depth_lo"], t["target_fpr"],
        t["n"], t["k"], t["fraction"], t["cp_lower"], t["cp_upper"])]
    r.table("table6_selection_function", "Table 6: the selection function (lookup table)",
            "Per cell and operating threshold: injections, detections, completeness, Clopper-Pearson interval "
            "(full table: selection_function.ecsv).",
            ["cell_id", "theta_e_lo", "theta_e_hi", "psf_lo", "psf_hi", "depth_lo", "target_fpr", "n", "k",
             "completeness", "ci_lower", "ci_upper"], rows)


def stretch(rgb):
    """g, r, z -> an RGB image with an asinh stretch (Lupton et al. 2004), as the viewer shows stamps:
    every band scaled by asinh(I / s) / I of the mean intensity I (0 where I <= 0), s the sky noise."""
    x = np.nan_to_num(np.asarray(rgb, dtype=np.float64))
    i = x.mean(axis=0)
    soft = max(1e-6, 1.4826 * np.median(np.abs(i - np.median(i))))
    scale = np.where(i > 0, np.arcsinh(i / soft) / np.where(i > 0, i, 1.0), 0.0)
    out = np.clip(np.stack([x[2], x[1], x[0]], axis=-1) * scale[..., None], 0, None)
    return np.clip(out / max(1e-9, np.percentile(out, 99.9)), 0, 1)


def fig_gallery(r, ev):
    if "failure_modes" not in ev:
        return
    fm = table(ev["failure_modes"])
    panels = []
    for kind in ("false_positive", "false_negative"):
        m = fm["kind"] == kind
        for src, row, p, gid in list(zip(fm["source"][m], fm["source_row"][m], fm["p_lens"][m], fm["galaxy_id"][m]))[:8]:
            f = r.path("cutouts.h5" if src == "cutouts" else "injections.h5")
            if not os.path.exists(f):
                continue
            with h5py.File(f) as h:
                key = "stamps/image" if src == "cutouts" else "injections/image"
                if key not in h:
                    continue
                img = h[key][int(row)]
            panels.append((kind, p, gid, img))
    if not panels:
        return
    fig, axes = plt.subplots(4, 4, figsize=(8, 8.6))
    for ax in axes.flat:
        ax.axis("off")
    for ax, (kind, p, gid, img) in zip(axes.flat, panels):
        ax.imshow(stretch(img), origin="lower")
        ax.set_title(f"{'FP' if kind == 'false_positive' else 'FN'} p={p:.2f}\n{gid}", fontsize=7)
    r.figure(fig, "fig4_gallery", "Figure 4: failure gallery",
             "The most confident false positives (FP: highest-scored negatives) and false negatives (FN: "
             "lowest-scored positives), g, r, z with an asinh stretch.")


def fig_recall(r, ev):
    if "recall" not in ev:
        return
    t = table(ev["recall"])
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for tier in dict.fromkeys(t["tier"]):
        m = t["tier"] == tier
        x, y = t["target_fpr"][m], t["fraction"][m]
        ax.errorbar(x, y, yerr=[y - t["cp_lower"][m], t["cp_upper"][m] - y], marker="o", capsize=3, label=f"Tier {tier}")
    ax.set_xscale("log"), ax.set_xlabel("FPR of the threshold"), ax.set_ylabel("recall"), ax.legend()
    r.figure(fig, "fig5_recall", "Figure 5: recall of the real lenses by Tier",
             "Recall at the operating thresholds with Clopper-Pearson intervals.")
    rows = list(zip(t["tier"], t["target_fpr"], t["threshold"], t["n"], t["k"], t["fraction"], t["cp_lower"], t["cp_upper"]))
    r.table("table3_recall", "Table 3: Tier-A / Tier-B recall", "Recall at each operating threshold.",
            ["tier", "target_fpr", "threshold", "n", "k", "recall", "ci_lower", "ci_upper"], rows)


def fig_calibration(r, ev):
    if "calibration" not in ev:
        return
    t = table(ev["calibration"])
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    for comp, strat in dict.fromkeys(zip(t["comparison"], t["strategy"])):
        m = (t["comparison"] == comp) & (t["strategy"] == strat)
        ax.plot(t["prob_pred"][m], t["prob_true"][m], marker="o", ms=3, label=f"{comp}, {strat}")
    ax.set_xlabel("mean p_lens"), ax.set_ylabel("fraction of lenses"), ax.legend(fontsize=7)
    r.figure(fig, "fig6_reliability", "Figure 6: reliability diagrams",
             "Fraction of positives against the mean p_lens per bin (uniform and quantile bins; after temperature "
             "scaling where fitted).")


def fig_roc(r, ev):
    comps = [k[4:] for k in ev if k.startswith("roc_")]
    if not comps:
        return
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for c in comps:
        axes[0].plot(ev[f"roc_{c}/fpr"][:], ev[f"roc_{c}/tpr"][:], label=c)
        axes[1].plot(ev[f"pr_{c}/recall"][:], ev[f"pr_{c}/precision"][:], label=c)
    axes[0].set_xscale("log"), axes[0].set_xlabel("FPR"), axes[0].set_ylabel("TPR"), axes[0].legend()
    axes[1].set_xlabel("recall"), axes[1].set_ylabel("precision"), axes[1].legend()
    r.figure(fig, "fig7_roc_pr", "Figure 7: ROC and precision-recall curves",
             "ROC (log FPR) and precision-recall curves of p_lens for each comparison.")
    if "tpr_at_fpr" in ev:
        t = table(ev["tpr_at_fpr"])
        rows = [(c, f, bool(res), tp, th, n1, n0) for c, f, res, tp, th, n1, n0 in zip(
            t["comparison"], t["target_fpr"], t["resolvable"], t["tpr"], t["threshold"], t["n_positive"], t["n_negative"])]
        r.table("table1_tpr_at_fpr", "Table 1: TPR at fixed FPR",
                "TPR at each target FPR with the threshold on p_lens; not resolvable when the target is below 1/N_neg.",
                ["comparison", "target_fpr", "resolvable", "tpr", "threshold", "n_pos", "n_neg"], rows)
    if "auc_by_stratum" in ev:
        t = table(ev["auc_by_stratum"])
        rows = list(zip(t["comparison"], t["stratum"], t["value"], t["n_positive"], t["n_negative"], t["auc"],
                        t["auc_lower"], t["auc_upper"], t["few"].astype(bool)))
        r.table("table2_auc_by_stratum", "Table 2: AUC by stratum",
                "AUC with a bootstrap interval per stratum; 'few' flags strata with fewer than 10 of a class.",
                ["comparison", "stratum", "value", "n_pos", "n_neg", "auc", "lower", "upper", "few"], rows)


def fig_contaminants(r, ev):
    if "contaminant_fpr" not in ev:
        return
    t = table(ev["contaminant_fpr"])
    target = max(t["target_fpr"])
    m = t["target_fpr"] == target
    fig, ax = plt.subplots(figsize=(6, 3.6))
    y = t["fraction"][m]
    ax.bar(t["category"][m], y, yerr=[y - t["cp_lower"][m], t["cp_upper"][m] - y], capsize=3)
    ax.set_ylabel(f"FPR at the threshold of FPR {target:g}")
    r.figure(fig, "fig8_contaminants", "Figure 8: false positives by contaminant category",
             "False-positive rate of the real negatives per N2 contaminant category, Clopper-Pearson intervals.")
    rows = list(zip(t["category"], t["target_fpr"], t["threshold"], t["n"], t["k"], t["fraction"], t["cp_lower"], t["cp_upper"]))
    r.table("table4_contaminant_fpr", "Table 4: FPR per contaminant category",
            "False positives per category at each operating threshold.",
            ["category", "target_fpr", "threshold", "n", "k", "fpr", "ci_lower", "ci_upper"], rows)


def table_history(r):
    if not os.path.exists(r.path("train.h5")):
        return
    with h5py.File(r.path("train.h5")) as f:
        h = table(f["history"])
    rows = list(zip(h["epoch"], h["train_loss"], h["val_loss"], h["val_auc"], h["images_per_s"], h["data_wait_fraction"]))
    r.table("table5_training", "Table 5: training history", "Per epoch: losses, val AUC, throughput, data wait.",
            ["epoch", "train_loss", "val_loss", "val_auc", "images_per_s", "data_wait"], rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--out", help="report folder (default RUN_DIR/report)")
    a = ap.parse_args()
    if not os.path.isdir(a.run_dir):
        sys.exit(f"report: '{a.run_dir}' is not a run directory")
    r = Report(a.run_dir, a.out or os.path.join(a.run_dir, "report"))
    fig_split(r)
    ev_path = r.path("evaluation.h5")
    if os.path.exists(ev_path):
        with h5py.File(ev_path) as ev:
            for step in (fig_scores, fig_completeness, fig_gallery, fig_recall, fig_calibration, fig_roc, fig_contaminants):
                step(r, ev)
    table_history(r)
    r.write_index()
    print(f"report: {sum(1 for i in r.items if i[0] == 'figure')} figures and "
          f"{sum(1 for i in r.items if i[0] == 'table')} tables in {os.path.join(r.out, 'index.html')}")


if __name__ == "__main__":
    main()
