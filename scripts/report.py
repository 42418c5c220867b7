#!/usr/bin/python3
"""The run report (`dhs report RUN_DIR`): figures and tables of a dhs run for the paper
"Selection Functions and Failure Modes of Real-Image Lens Finders in DR10", from the run's
HDF5 files, into RUN_DIR/report/ with an index.html that shows them with captions.

    /usr/bin/python3 scripts/report.py RUN_DIR [--out DIR]

Figures (PNG and PDF), after seed 001 section 7, each made when its inputs exist:
  1. the HEALPix split: pool sky positions by split, and what goes where (objects of each
     target set per split: pool, positives, negatives, hosts from sample.h5; injections and
     controls from injections.h5)
  2. score distributions by stratum (evaluation.h5:/score_histograms)
  3. completeness C(theta_E, PSF) at the depths of the grid (/selection_function)
  4. failure gallery: the top false positives and false negatives as g, r, z colour composites
     (asinh stretch, as the Legacy Surveys viewer) from cutouts.h5 / injections.h5
  5. recall by Tier with Clopper-Pearson intervals (/recall)
  6. reliability diagrams (/calibration)
  7. ROC and precision-recall curves (/roc_*, /pr_*), overall and by stratum (/roc_by_stratum,
     /pr_by_stratum: a row per comparison and stratum with more than one value)
  8. false-positive rate per contaminant category (/contaminant_fpr)
  9. 2-D marginals of the completeness (theta_E-PSF, theta_E-depth, PSF-depth) at the loosest
     operating threshold (/completeness_marginals_2d)
 10. the truth check: the mock sky's true lenses' recall per theta_E bin beside the recall the
     selection function predicts for them, at the loosest threshold (/truth_check)
Tables (CSV, Markdown, LaTeX): 1 TPR at FPR, 2 AUC per stratum, 3 Tier recall, 4 contaminant FPR,
5 training history, 6 selection function, 7 truth check (every threshold).
When the run has search.h5, a candidates page (candidates.html, linked from index.html's Search section
with search_summary.json's numbers) shows:
 11. the top candidates by rank as g, r, z colour composites (the Legacy Surveys viewer's stretch), each
     with rank, galaxy_id, p_lens, target set and, for a catalogued lens, its name, tier, grading and
     separation (search.h5:/candidates)
  and tables 8, every candidate without its stamps, and 9, on a mock sky, the true lenses in the top
  fractions beside the selection function's prediction (search_summary.json: truth.by_top_fraction).
The evaluation's figures and tables are made when evaluation.h5 exists, the others when their inputs do.
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
        self.pages = {"index.html": []}  # page -> [(kind, title, caption, files)]
        self.page = "index.html"  # the page that figure() and table() add to
        self.search = ""  # the HTML of index.html's Search section (empty: no search.h5)

    @property
    def items(self):
        return [i for items in self.pages.values() for i in items]

    def path(self, name):
        return os.path.join(self.run, name)

    def figure(self, fig, name, title, caption):
        for ext in ("png", "pdf"):
            fig.savefig(os.path.join(self.out, f"{name}.{ext}"), dpi=110, bbox_inches="tight")
        plt.close(fig)
        self.pages[self.page].append(("figure", title, caption, f"{name}.png"))

    def table(self, name, title, caption, columns, rows, formats=None):
        """CSV (values as they are), Markdown, LaTeX and the page's table of rows; floats shown with
        formats[column] (a format spec, default .4g)."""
        spec = [(formats or {}).get(c, ".4g") for c in columns]
        fmt_row = lambda r: [format(v, f) if isinstance(v, (float, np.floating)) else str(v) for v, f in zip(r, spec)]
        with open(os.path.join(self.out, f"{name}.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(columns)
            w.writerows(rows)
        shown = [fmt_row(r) for r in rows]
        with open(os.path.join(self.out, f"{name}.md"), "w") as f:
            f.write("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n")
            for r in shown:
                f.write("| " + " | ".join(r) + " |\n")
        esc = lambda s: s.replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")
        with open(os.path.join(self.out, f"{name}.tex"), "w") as f:
            f.write("\\begin{tabular}{" + "l" * len(columns) + "}\n\\hline\n")
            f.write(" & ".join(esc(c) for c in columns) + " \\\\\n\\hline\n")
            for r in shown:
                f.write(" & ".join(esc(v) for v in r) + " \\\\\n")
            f.write("\\hline\n\\end{tabular}\n")
        self.pages[self.page].append(("table", title, caption, (name, columns, shown)))

    def write_page(self, name, title, heading, intro, outro="", width=1100):
        """One HTML page (at most width pixels wide): the heading, the intro HTML, the page's figures
        and tables with their captions, the outro HTML, and the image counts for headless-browser checks."""
        parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
                 f"<title>{html.escape(title)}</title>",
                 "<style>body{font-family:sans-serif;max-width:%dpx;margin:auto;padding:1em}" % width +
                 "figure{margin:2em 0}img{max-width:100%;border:1px solid #ccc}div.table{overflow-x:auto}"
                 "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #bbb;padding:2px 6px;white-space:nowrap}"
                 "figcaption,p.caption{color:#333}</style></head><body>",
                 f"<h1>{html.escape(heading)}</h1>", intro]
        for kind, title, caption, what in self.pages.get(name, []):
            parts.append(f"<h2>{html.escape(title)}</h2>")
            if kind == "figure":
                parts.append(f'<figure><img src="{what}" alt="{html.escape(title)}">'
                             f"<figcaption>{html.escape(caption)} (<a href=\"{what[:-4]}.pdf\">PDF</a>)</figcaption></figure>")
            else:
                tname, columns, rows = what
                parts.append(f'<p class="caption">{html.escape(caption)} (<a href="{tname}.csv">CSV</a>, '
                             f'<a href="{tname}.md">Markdown</a>, <a href="{tname}.tex">LaTeX</a>)</p><div class="table"><table><tr>')
                parts.append("".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr>")
                for r in rows[:200]:
                    parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>")
                parts.append("</table></div>")
        if outro:
            parts.append(outro)
        # For headless-browser checks: how many images the page has and how many rendered.
        parts.append("<script>window.addEventListener('load', () => { const im = [...document.images]; "
                     "document.body.dataset.images = im.length; "
                     "document.body.dataset.rendered = im.filter(i => i.complete && i.naturalWidth > 0).length; });"
                     "</script>")
        parts.append("</body></html>")
        with open(os.path.join(self.out, name), "w") as f:
            f.write("\n".join(parts))

    def write_index(self):
        """index.html: the figures and tables of the run, and the Search section when there is one."""
        self.write_page("index.html", f"dhs report: {self.run}", "Dark Halo Scope run report",
                        f"<p>Run directory <code>{html.escape(os.path.abspath(self.run))}</code>.</p>", self.search)


SPLITS = ("train", "val", "test")


def split_counts(r):
    """Objects per split of each target set: the sample's pool, positives, negatives and hosts
    (sample.h5), the injections and their controls (injections.h5); sets without a split column
    are left out. Returns [(set, {split: count})]."""
    out = []
    if os.path.exists(r.path("sample.h5")):
        with h5py.File(r.path("sample.h5")) as f:
            for g in ("pool", "positives", "negatives", "hosts"):
                if g in f and isinstance(f[g], h5py.Group) and "split" in f[g]:
                    s, n = np.unique([text(x) for x in f[g]["split"][:]], return_counts=True)
                    out.append((g, dict(zip(s, n))))
    if os.path.exists(r.path("injections.h5")):
        with h5py.File(r.path("injections.h5")) as f:
            if "injections/split" in f:
                split = np.array([text(x) for x in f["injections/split"][:]])
                sets = [("injections", np.ones(len(split), bool))]
                if "injections/is_control" in f:
                    ctrl = f["injections/is_control"][:].astype(bool)
                    sets = [("injections", ~ctrl), ("controls", ctrl)]
                for name, m in sets:
                    s, n = np.unique(split[m], return_counts=True)
                    out.append((name, dict(zip(s, n))))
    return out


def fig_split(r):
    pool = None
    if os.path.exists(r.path("sample.h5")):
        with h5py.File(r.path("sample.h5")) as f:
            if "pool" in f and "split" in f["pool"]:
                pool = f["pool/ra"][:], f["pool/dec"][:], np.array([text(x) for x in f["pool/split"][:]])
    counts = split_counts(r)
    if pool is None and not counts:
        return
    ncols = (pool is not None) + bool(counts)
    fig, axes = plt.subplots(1, ncols, figsize=(5.5 * ncols + 1, 4.2), squeeze=False)
    axes = list(axes[0])
    colours = {"train": "tab:blue", "val": "tab:orange", "test": "tab:green"}
    if pool is not None:
        ax, ra, dec, split = axes.pop(0), *pool
        for s in SPLITS:
            m = split == s
            ax.scatter(ra[m], dec[m], s=2, c=colours[s], label=f"{s} ({m.sum()})")
        ax.set_xlabel("RA [deg]"), ax.set_ylabel("Dec [deg]"), ax.invert_xaxis()
        ax.xaxis.set_major_locator(plt.MaxNLocator(5))
        ax.legend(markerscale=4, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14))
        ax.set_title("pool galaxies on the sky")
    if counts:
        ax = axes.pop(0)
        splits = list(SPLITS) + sorted({s for _, c in counts for s in c} - set(SPLITS))
        width = 0.8 / len(splits)
        x = np.arange(len(counts))
        for i, s in enumerate(splits):
            n = np.array([c.get(s, 0) for _, c in counts])
            bars = ax.bar(x + (i - (len(splits) - 1) / 2) * width, np.where(n > 0, n, np.nan), width,
                          color=colours.get(s, "tab:gray"), label=s)
            for b, v in zip(bars, n):
                if v > 0:
                    ax.text(b.get_x() + b.get_width() / 2, v * 1.08, str(v), ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, [name for name, _ in counts])
        ax.set_yscale("log"), ax.set_ylabel("objects"), ax.legend(title="split", fontsize=8)
        ax.set_ylim(0.7, 4 * max(max(c.values()) for _, c in counts))
        ax.set_title("what goes where: objects per split")
    sky = ("pool galaxies by split; train / val / test are whole HEALPix cells (nside 128), so no galaxy's "
           "neighbourhood is shared between them")
    bars = ("the objects of each target set per split (the sample's pool, real positives, negatives and injection "
            "hosts; the injections and their controls, in their hosts' split), log scale, counts above the bars")
    parts = ([sky] if pool is not None else []) + ([bars] if counts else [])
    caption = (f"Left: {parts[0]}. Right: {parts[1]}." if len(parts) == 2 else parts[0][0].upper() + parts[0][1:] + ".")
    r.figure(fig, "fig1_split", "Figure 1: the HEALPix split and what goes where", caption)


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


MAX_STRATUM_ROWS = 6  # per-stratum rows of figure 7, to keep it legible


def curves_by_stratum(ev):
    """{(comparison, stratum): [(value, fpr, tpr, precision, recall)]} from /roc_by_stratum and
    /pr_by_stratum, strata with a single value left out (nothing to compare)."""
    if "roc_by_stratum" not in ev or "pr_by_stratum" not in ev:
        return {}
    roc, pr = table(ev["roc_by_stratum"]), table(ev["pr_by_stratum"])
    out = {}
    for key in dict.fromkeys(zip(roc["comparison"], roc["stratum"])):
        rows = []
        for v in dict.fromkeys(roc["value"][(roc["comparison"] == key[0]) & (roc["stratum"] == key[1])]):
            a = (roc["comparison"] == key[0]) & (roc["stratum"] == key[1]) & (roc["value"] == v)
            b = (pr["comparison"] == key[0]) & (pr["stratum"] == key[1]) & (pr["value"] == v)
            rows.append((v, roc["fpr"][a], roc["tpr"][a], pr["precision"][b], pr["recall"][b]))
        if len(rows) > 1:
            out[key] = rows
    return out


def roc_pr_panels(ax_roc, ax_pr, curves, title):
    """ROC (log FPR, with the chance line) and PR curves of [(label, fpr, tpr, precision, recall)]."""
    low = 1.0
    for label, fpr, tpr, prec, rec in curves:
        ax_roc.plot(fpr, tpr, label=label, lw=1.2)
        ax_pr.plot(rec, prec, label=label, lw=1.2)
        if (fpr > 0).any():
            low = min(low, fpr[fpr > 0].min())
    x = np.logspace(np.log10(low), 0, 50)
    ax_roc.plot(x, x, "k:", lw=0.8)
    ax_roc.set_xscale("log"), ax_roc.set_xlabel("FPR"), ax_roc.set_ylabel("TPR"), ax_roc.set_ylim(-0.02, 1.02)
    ax_pr.set_xlabel("recall"), ax_pr.set_ylabel("precision"), ax_pr.set_xlim(-0.02, 1.02), ax_pr.set_ylim(-0.02, 1.02)
    ax_roc.set_title(f"ROC: {title}", fontsize=10), ax_pr.set_title(f"precision-recall: {title}", fontsize=10)
    ax_roc.legend(fontsize=7, loc="lower right"), ax_pr.legend(fontsize=7, loc="upper right")


def fig_roc(r, ev):
    comps = [k[4:] for k in ev if k.startswith("roc_") and k != "roc_by_stratum" and f"pr_{k[4:]}" in ev]
    if not comps:
        return
    all_strata = curves_by_stratum(ev)
    strata = list(all_strata.items())[:MAX_STRATUM_ROWS]
    counts = {}
    if "auc_by_stratum" in ev:
        t = table(ev["auc_by_stratum"])
        counts = {(c, s, v): (p, n) for c, s, v, p, n in zip(t["comparison"], t["stratum"], t["value"],
                                                              t["n_positive"], t["n_negative"])}
    fig, axes = plt.subplots(1 + len(strata), 2, figsize=(10, 3.6 + 3.1 * len(strata)), squeeze=False)
    roc_pr_panels(axes[0, 0], axes[0, 1], [(c, ev[f"roc_{c}/fpr"][:], ev[f"roc_{c}/tpr"][:], ev[f"pr_{c}/precision"][:],
                                           ev[f"pr_{c}/recall"][:]) for c in comps], "all, each comparison")
    for (ax_roc, ax_pr), ((comp, stratum), rows) in zip(axes[1:], strata):
        n = lambda v: " ({}/{})".format(*counts[(comp, stratum, v)]) if (comp, stratum, v) in counts else ""
        roc_pr_panels(ax_roc, ax_pr, [(v + n(v), *c) for v, *c in rows], f"{comp}, {stratum}")
    fig.tight_layout()
    r.figure(fig, "fig7_roc_pr", "Figure 7: ROC and precision-recall curves by stratum",
             "Top: ROC (log FPR; dotted: chance) and precision-recall curves of p_lens for each comparison. "
             "Below: the same per stratum, one row per comparison and stratum with more than one value, a curve "
             "per value (legend: value (positives/negatives)); a theta_E stratum's injections are compared "
             "with all the controls." + (f" The first {MAX_STRATUM_ROWS} strata are shown." if
                                          len(all_strata) > MAX_STRATUM_ROWS else ""))
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


AXIS_LABELS = {"theta_e": "theta_E [arcsec]", "psf": "PSF FWHM [arcsec]", "depth": "depth r [mag]"}


def edges(lo, hi):
    """The sorted bin edges of cells [lo, hi) (rounded, so that float noise does not split an edge)."""
    return np.unique(np.round(np.concatenate([lo, hi]), 6))


def fig_completeness_2d(r, ev):
    if "completeness_marginals_2d" not in ev:
        return
    t = table(ev["completeness_marginals_2d"])
    if not len(t["target_fpr"]):
        return
    target = max(t["target_fpr"])
    m = t["target_fpr"] == target
    planes = [p for p in ("theta_e-psf", "theta_e-depth", "psf-depth") if (m & (t["plane"] == p)).any()]
    if not planes:
        return
    grids = [(p, edges(t["x_lo"][m & (t["plane"] == p)], t["x_hi"][m & (t["plane"] == p)]),
              edges(t["y_lo"][m & (t["plane"] == p)], t["y_hi"][m & (t["plane"] == p)])) for p in planes]
    widths = [max(5, len(xe) - 1) for _, xe, _ in grids]  # panel widths follow the number of columns
    fig, axes = plt.subplots(1, len(planes), figsize=(min(15, 2 + 0.42 * sum(widths)), 4.2), squeeze=False,
                             layout="constrained", gridspec_kw={"width_ratios": widths})
    for ax, (plane, xe, ye) in zip(axes[0], grids):
        k = m & (t["plane"] == plane)
        grid = np.full((len(ye) - 1, len(xe) - 1), np.nan)
        for xlo, xhi, ylo, yhi, c in zip(t["x_lo"][k], t["x_hi"][k], t["y_lo"][k], t["y_hi"][k], t["fraction"][k]):
            grid[np.searchsorted(ye, round(ylo, 6)):np.searchsorted(ye, round(yhi, 6)),
                 np.searchsorted(xe, round(xlo, 6)):np.searchsorted(xe, round(xhi, 6))] = c
        im = ax.pcolormesh(xe, ye, grid, vmin=0, vmax=1, cmap="viridis")
        if grid.size <= 60:
            for xlo, xhi, ylo, yhi, n, k_, c in zip(t["x_lo"][k], t["x_hi"][k], t["y_lo"][k], t["y_hi"][k],
                                                   t["n"][k], t["k"][k], t["fraction"][k]):
                ax.text((xlo + xhi) / 2, (ylo + yhi) / 2, f"{k_}/{n}", ha="center", va="center", fontsize=7.5,
                        rotation=90 if len(xe) > 13 else 0, color="white" if c < 0.5 else "black")
        xa, ya = plane.split("-")
        ax.set_xlabel(AXIS_LABELS.get(xa, xa)), ax.set_ylabel(AXIS_LABELS.get(ya, ya))
        ax.set_title(f"{plane} (threshold {t['threshold'][k][0]:.3g})", fontsize=10)
    fig.colorbar(im, ax=axes[0].tolist(), label="completeness")
    r.figure(fig, "fig9_completeness_2d", "Figure 9: 2-D marginals of the completeness",
             f"Completeness of the injections per pair of bins (theta_E and PSF, theta_E and depth, PSF and depth; "
             f"the third variable summed over) at the threshold of FPR {target:g}, the loosest resolvable operating "
             f"point; numbers: detected / injected (k/n); blank: no injection.")


def fig_truth_check(r, ev):
    if "truth_check" not in ev:
        return
    t = table(ev["truth_check"])
    ok = np.isfinite(t["threshold"])
    if not ok.any():
        return
    target = max(t["target_fpr"][ok])
    m = ok & (t["target_fpr"] == target)
    bins = m & (t["theta_e_bin"] != "all") & (t["n_compared"] > 0)
    fig, ax = plt.subplots(figsize=(8, 4.2))
    first = True
    for lo, hi, p, plo, phi in zip(t["theta_e_lo"][bins], t["theta_e_hi"][bins], t["predicted"][bins],
                                   t["predicted_lower"][bins], t["predicted_upper"][bins]):
        if np.isfinite(p):
            ax.fill_between([lo, hi], plo, phi, color="tab:orange", alpha=0.3, lw=0,
                            label="predicted by the selection function" if first else None)
            ax.plot([lo, hi], [p, p], color="tab:orange", lw=1.5)
            first = False
    colours = {"consistent": "tab:blue", "inconsistent": "tab:red"}
    for verdict in dict.fromkeys(t["verdict"][bins]):
        v = bins & (t["verdict"] == verdict)
        x, y = (t["theta_e_lo"][v] + t["theta_e_hi"][v]) / 2, t["recall"][v]
        ax.errorbar(x, y, yerr=[y - t["recall_lower"][v], t["recall_upper"][v] - y], fmt="o", capsize=3,
                    color=colours.get(verdict, "tab:gray"), label=f"measured (true lenses): {verdict}")
        for xi, yi, k, n in zip(x, y, t["n_detected"][v], t["n_compared"][v]):
            ax.annotate(f"{k}/{n}", (xi, yi), xytext=(4, 4), textcoords="offset points", fontsize=7)
    title = f"truth check at the threshold of FPR {target:g} ({t['threshold'][m][0]:.3g})"
    a = m & (t["theta_e_bin"] == "all")
    if a.any():
        i = np.flatnonzero(a)[0]
        title += (f"\nall lenses: recall {t['recall'][i]:.2f} [{t['recall_lower'][i]:.2f}, {t['recall_upper'][i]:.2f}], "
                  f"predicted {t['predicted'][i]:.2f} [{t['predicted_lower'][i]:.2f}, {t['predicted_upper'][i]:.2f}]: "
                  f"{t['verdict'][i]}")
    ax.set_title(title, fontsize=10), ax.set_xlabel("theta_E [arcsec]"), ax.set_ylabel("recall")
    ax.set_ylim(-0.03, 1.28), ax.legend(fontsize=8, loc="upper center", ncol=2)
    rule, interval = "consistent when the two intervals overlap", "Clopper-Pearson (measured)"
    if os.path.exists(r.path("evaluation_summary.json")):
        with open(r.path("evaluation_summary.json")) as f:
            tc = json.load(f).get("truth_check", {})
        rule, interval = tc.get("verdict_rule", rule), tc.get("interval", interval)
    r.figure(fig, "fig10_truth_check", "Figure 10: the truth check",
             "Recall of the mock sky's own true lenses (the truth catalogue's lenses in the split, on the selection "
             "function's grid) per theta_E bin, measured (points: detected / compared, with intervals) beside the "
             "recall that the injection-calibrated selection function predicts for the same lenses from their cells "
             f"(shaded band: interval, line: prediction), at the loosest resolvable operating threshold. Intervals: "
             f"{interval}; verdict: {rule}.")
    cols = ["theta_e_bin", "target_fpr", "threshold", "n_lenses", "n_compared", "n_detected", "recall", "recall_lower",
            "recall_upper", "predicted", "predicted_lower", "predicted_upper", "verdict"]
    rows = list(zip(*(t[c] for c in cols)))
    r.table("table7_truth_check", "Table 7: the truth check",
            "Per theta_E bin (and all lenses) and operating threshold: the mock sky's true lenses, those compared "
            "(on the grid), detected, the measured recall with its interval and the selection function's "
            f"prediction with its interval; verdict: {rule}.", cols, rows)


def table_history(r):
    if not os.path.exists(r.path("train.h5")):
        return
    with h5py.File(r.path("train.h5")) as f:
        h = table(f["history"])
    rows = list(zip(h["epoch"], h["train_loss"], h["val_loss"], h["val_auc"], h["images_per_s"], h["data_wait_fraction"]))
    r.table("table5_training", "Table 5: training history", "Per epoch: losses, val AUC, throughput, data wait.",
            ["epoch", "train_loss", "val_loss", "val_auc", "images_per_s", "data_wait"], rows)


VIEWER_SCALES = (6.0, 3.4, 2.2)  # g, r, z: the Legacy Surveys viewer's DR10 band scales (per nanomaggy)


def viewer_rgb(img, q=20.0, m=0.03):
    """g, r, z (nanomaggies) -> an RGB image as the Legacy Surveys viewer shows stamps (legacypipe's
    sdss_rgb): z -> red, r -> green, g -> blue, each band scaled by VIEWER_SCALES and offset by m, all
    three stretched by the common factor asinh(Q I) / (sqrt(Q) I) of their mean I (Lupton et al.
    2004), clipped to [0, 1]; pixels NaN in any band black."""
    x = np.asarray(img, dtype=np.float64)
    bad = ~np.isfinite(x).all(axis=0)
    y = np.nan_to_num(x) * np.array(VIEWER_SCALES)[:, None, None] + m
    i = np.maximum(y, 0).mean(axis=0)
    scale = np.arcsinh(q * i) / np.sqrt(q) / np.where(i > 0, i, 1e-6)
    out = np.clip(np.stack([y[2], y[1], y[0]], axis=-1) * scale[..., None], 0, 1)
    out[bad] = 0
    return out


GALLERY_CANDIDATES = 48  # tiles of figure 11
GALLERY_COLUMNS = 6


def search_candidates(r):
    """search.h5:/candidates by rank: the columns without the stamps (strings decoded), and the g, r, z
    stamps of the first GALLERY_CANDIDATES; None when the run has no search candidates."""
    if not os.path.exists(r.path("search.h5")):
        return None
    with h5py.File(r.path("search.h5")) as f:
        if "candidates" not in f:
            return None
        g = f["candidates"]
        c = {k: (np.array([text(x) for x in ds[:]]) if ds.dtype.kind == "S" else ds[:])
             for k, ds in g.items() if ds.ndim == 1}
        order = np.argsort(c["rank"], kind="stable")
        c = {k: v[order] for k, v in c.items()}
        c["known_lens"] = c["known_lens"].astype(bool)
        c["stamps"] = [g["image"][int(i)] for i in order[:GALLERY_CANDIDATES]] if "image" in g else []
    return c


def search_summary(r):
    """search_summary.json as a dict ({} when absent)."""
    if not os.path.exists(r.path("search_summary.json")):
        return {}
    with open(r.path("search_summary.json")) as f:
        return json.load(f)


def lens_flag(c, i):
    """The known-lens flag of candidate i: its catalogued lens's name, tier, grading and separation."""
    sep = c["lens_sep_arcsec"][i]
    return (f"known lens: {c['lens_name'][i]} (tier {c['lens_tier'][i]}, grading {c['lens_grading'][i]}"
            + (f', {sep:.2f}")' if np.isfinite(sep) else ")"))


def fig_search_gallery(r, c):
    """Figure 11: the top candidates as colour stamps with their captions."""
    n = len(c["stamps"])
    if not n:
        return
    ncol = min(GALLERY_COLUMNS, n)
    nrow = -(-n // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.0 * ncol, 2.85 * nrow), squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for i, (ax, img) in enumerate(zip(axes.flat, c["stamps"])):
        ax.axis("on")
        ax.imshow(viewer_rgb(img), origin="lower", interpolation="nearest")
        ax.set_xticks([]), ax.set_yticks([])
        lines = [f"#{c['rank'][i]}  {c['galaxy_id'][i]}", f"p_lens {c['p_lens'][i]:.3f}  {c['target_set'][i]}"]
        known = c["known_lens"][i]
        if known:  # the flag on three lines: "known lens:", the name, (tier, grading, separation)
            flag = lens_flag(c, i)
            lines += ["known lens:", flag[len("known lens: "):flag.index(" (")], flag[flag.index(" (") + 1:]]
        for sp in ax.spines.values():
            sp.set_color("gold" if known else "none"), sp.set_linewidth(3)
        ax.set_title("\n".join(lines), fontsize=7.5, color="darkgoldenrod" if known else "black", loc="left")
    shape = c["stamps"][0].shape
    r.figure(fig, "fig11_search_candidates", f"Figure 11: the top {n} search candidates",
             f"The {n} highest-ranked candidates of the search (rank 1: highest p_lens) as g, r, z colour composites "
             f"(z red, r green, g blue) with the Legacy Surveys viewer's asinh stretch (Lupton et al. 2004; band "
             f"scales g {VIEWER_SCALES[0]}, r {VIEWER_SCALES[1]}, z {VIEWER_SCALES[2]} per nanomaggy, Q = 20, a common "
             f"scale for the three bands; pixels without data black), {shape[-1]} x {shape[-2]} pixels of the coadds. "
             "Each tile: rank, galaxy_id (brick_objid), p_lens and the target set it was searched in; framed in gold "
             "with the lens's name, tier, grading and separation where a catalogued lens lies within "
             "search.known_lens_radius_arcsec.")


def table_search_candidates(r, c):
    """Table 8: every candidate, without its stamps."""
    cols = ["rank", "galaxy_id", "ra", "dec", "target_set", "split", "p_lens", "known_lens", "lens_name", "lens_tier",
            "lens_grading", "lens_sep_arcsec"]
    rows = [[int(c["rank"][i]), c["galaxy_id"][i], float(c["ra"][i]), float(c["dec"][i]), c["target_set"][i],
             c["split"][i], float(c["p_lens"][i]), bool(c["known_lens"][i]), c["lens_name"][i], c["lens_tier"][i],
             c["lens_grading"][i], float(c["lens_sep_arcsec"][i]) if c["known_lens"][i] else ""]
            for i in range(len(c["rank"]))]
    shown = "" if len(rows) <= 200 else " This page shows the first 200; the CSV has them all."
    r.table("table8_search_candidates", "Table 8: the search candidates",
            "Every candidate of the search by rank (rank 1: highest p_lens): position, the sample group it was "
            "searched in, its HEALPix split, p_lens, and the nearest catalogued lens within "
            "search.known_lens_radius_arcsec (name, tier, grading, separation in arcsec) where there is one."
            + shown, cols, rows, formats={"ra": ".6f", "dec": ".6f", "p_lens": ".4f", "lens_sep_arcsec": ".3f"})


def interval(d):
    """'recall [lower, upper]' of a summary's observed / predicted entry ('' when absent)."""
    return f"{d['recall']:.3f} [{d['lower']:.3f}, {d['upper']:.3f}]" if d else ""


def table_search_truth(r, summary):
    """Table 9 (mock sky): the true lenses in each top fraction beside the selection function's prediction."""
    truth = summary.get("truth", {})
    if not truth.get("by_top_fraction"):
        return
    cols = ["top_fraction", "top_targets", "threshold", "in_top / true_lenses", "compared",
            "observed recall [lower, upper]", "predicted recall [lower, upper]", "verdict"]
    rows = [[float(t["top_fraction"]), t["top_targets"], float(t["threshold"]), f"{t['in_top']}/{t['true_lenses']}",
             t.get("compared", ""), interval(t.get("observed")), interval(t.get("predicted")), t.get("verdict", "")]
            for t in truth["by_top_fraction"]]
    r.table("table9_search_truth", "Table 9: the mock sky's true lenses among the top targets",
            "Per top fraction of the searched targets by p_lens: the targets in it, the p_lens threshold that makes "
            "it, the mock sky's true lenses ranked in it out of those searched, those compared (in a cell of the "
            "selection function with scored test-split injections), their observed recall (the compared ones in "
            "the top) and the recall the selection function predicts for them at the same threshold, with "
            f"intervals; predicted: {truth.get('prediction', 'from the selection function')}; verdict: consistent "
            "when the two intervals overlap.", cols, rows, formats={"threshold": ".4f"})


def percent(f):
    """A fraction as a percentage: 0.001 -> '0.1%'."""
    return f"{100 * f:g}%"


def search_intro(summary, c):
    """A paragraph of the search's numbers: targets, candidates and how they were chosen, known lenses,
    the mock sky's true lenses in the top fractions, the model."""
    n = summary.get("candidates", len(c["rank"]))
    known = summary.get("known_lens_candidates", int(c["known_lens"].sum()))
    rule = []
    if summary.get("top_fraction", 0) > 0:
        rule.append(f"the top {percent(summary['top_fraction'])} of the targets by p_lens")
    if summary.get("threshold", -1) >= 0:
        rule.append(f"every target with p_lens &ge; {summary['threshold']:g}")
    if "max_candidates" in summary:
        rule.append(f"at most {summary['max_candidates']}")
    out = (f"{summary['targets']} galaxies searched; " if "targets" in summary else "") + f"{n} candidates"
    out += f" ({', '.join(rule)})" if rule else ""
    out += f", {known} of them known lenses (a catalogued lens within search.known_lens_radius_arcsec)."
    tops = summary.get("truth", {}).get("by_top_fraction", [])
    if tops:
        out += (f" Mock sky: of its {tops[0]['true_lenses']} true lenses, "
                + " and ".join(f"{t['in_top']} are in the top {percent(t['top_fraction'])} ({t['top_targets']} targets)"
                               for t in tops) + "; table 9 on the candidates page sets this beside the selection "
                                                "function's prediction.")
    if "model" in summary:
        out += (f" Model <code>{html.escape(summary['model'])}</code>"
                + (f" (sha256 {html.escape(summary['model_sha256'][:12])}&hellip;)." if "model_sha256" in summary else "."))
    return f"<p>{out}</p>"


def page_search(r):
    """candidates.html (figure 11, tables 8 and 9) and index.html's Search section, when the run has
    search.h5."""
    c = search_candidates(r)
    if c is None:
        return
    summary = search_summary(r)
    intro = search_intro(summary, c)
    r.page = "candidates.html"
    r.pages[r.page] = []
    fig_search_gallery(r, c)
    table_search_candidates(r, c)
    table_search_truth(r, summary)
    r.page = "index.html"
    r.write_page("candidates.html", f"dhs search candidates: {r.run}", "Search candidates",
                 f'<p>Run directory <code>{html.escape(os.path.abspath(r.run))}</code> '
                 f'(<a href="index.html">run report</a>).</p>' + intro, width=1350)
    shown = f"a gallery of the top {len(c['stamps'])} and " if c["stamps"] else ""
    r.search = ("<h2>Search</h2>" + intro + f'<p><a href="candidates.html">The candidates</a>: {shown}the table of '
                f"all {len(c['rank'])}.</p>")


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
            for step in (fig_scores, fig_completeness, fig_gallery, fig_recall, fig_calibration, fig_roc, fig_contaminants,
                         fig_completeness_2d, fig_truth_check):
                step(r, ev)
    table_history(r)
    page_search(r)
    r.write_index()
    print(f"report: {sum(1 for i in r.items if i[0] == 'figure')} figures and "
          f"{sum(1 for i in r.items if i[0] == 'table')} tables in {os.path.join(r.out, 'index.html')}")


if __name__ == "__main__":
    main()
