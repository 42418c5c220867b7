#!/usr/bin/env bash
# Shows the validation gates catching a planted shortcut on the mock sky: after a demo run
# (scripts/demo.sh OUT_DIR, which leaves OUT_DIR/mock, OUT_DIR/templates.h5 and
# OUT_DIR/run/{sample,cutouts}.h5), re-runs inject + validate twice into OUT_DIR/shortcut-check/:
# with sources drawn to the SPEC's arc_snr distribution (inject.snr_rejection, unlensed r 24-27),
# then the same with inject.plant_core_shortcut (injected cores brightened by a fraction of the
# host), and prints each run's injection-comparison gate table and core_brightness_r flag.
#
#   scripts/shortcut_check.sh [OUT_DIR] [FRACTION]      (defaults: ./demo-out, 0.5; RANKS=N)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(cd "${1:-demo-out}" && pwd)"
fraction="${2:-0.5}"
ranks="${RANKS:-2}"
dhs="${BUILD_DIR:-$repo/build}/apps/dhs/dhs"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
for f in "$out/run/sample.h5" "$out/run/cutouts.h5" "$out/mock/survey-bricks.fits.gz"; do
  [ -e "$f" ] || { echo "shortcut_check: no $f: run scripts/demo.sh $out first" >&2; exit 2; }
done
sets=(--set "survey.root=$out/mock" --set inject.snr_rejection=true --set "inject.src_mag_r_range=[24.0, 27.0]")
[ -f "$out/templates.h5" ] && sets+=(--set "inject.template_bank=$out/templates.h5")

for plant in 0 "$fraction"; do
  run="$out/shortcut-check/plant-$plant"
  rm -rf "$run" && mkdir -p "$run"
  cp "$out/run/sample.h5" "$out/run/cutouts.h5" "$run/"
  mpirun -n "$ranks" --oversubscribe --bind-to none "$dhs" run "$repo/configs/demo.yaml" --out "$run" \
    --stages inject,validate "${sets[@]}" --set "inject.plant_core_shortcut=$plant" > "$run.log" 2>&1
  echo "== inject.plant_core_shortcut=$plant ($run.log)"
  sed -n '/validate: injection comparison/,/injection comparison: /p' "$run.log" | cut -d']' -f3- | cut -c2-180
  /usr/bin/python3 - "$run/validation_summary.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["comparisons"]["injection"]
g, f = c["gates"]["core_brightness_ratio"], c["shortcut_features"]["core_brightness_r"]
print(f"  => core_brightness_ratio {g['value']:.4f} {'PASS' if g['passed'] else 'FAIL'}; "
      f"core_brightness_r AUC {f['auc']:.3f} [CI {f['ci_lower']:.3f}, {f['ci_upper']:.3f}] {f['flag']}")
PY
done
