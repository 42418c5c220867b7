# What the two-host tests share (sourced, test code only): tests/engine/multihost_test.sh
# (mpirun) and tests/engine/slurm_multihost_test.sh (Slurm). Both run the small demo pipeline
# on hosts made by scripts/netns-hosts.sh.
# shellcheck shell=bash

# multihost_preflight: skip (exit 77) without root or usable network namespaces; fail (exit 1)
# when dhs hosts are up already (their names and bridge are machine-wide).
multihost_preflight() {
  if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (network namespaces)"; exit 77; fi
  local probe="dhs-probe-$$"
  if ! { ip netns add "$probe" && ip netns exec "$probe" true; } >/dev/null 2>&1; then
    ip netns del "$probe" >/dev/null 2>&1
    echo "SKIP: ip netns is not usable here"
    exit 77
  fi
  ip netns del "$probe"
  command -v nsenter >/dev/null && command -v unshare >/dev/null || { echo "SKIP: no nsenter/unshare (util-linux)"; exit 77; }
  if ip netns list | grep -qE '^dhs-h[0-9]+( |$)'; then
    echo "FAIL: dhs hosts are already up ($(ip netns list | grep -oE '^dhs-h[0-9]+' | tr '\n' ' ')): another two-host test, or a session to end with scripts/netns-hosts.sh down"
    exit 1
  fi
}

# multihost_inputs: into $tmp, a small mock sky (configs/mock_sky_test.yaml: 2 bricks) and a
# small model (simple_cnn, 1 epoch on the training tests' rings fixture, one rank); sets
# pipeline_opts, the `dhs run configs/demo.yaml` options of the demo pipeline made small: every
# stage but train (train.h5 records timings), few injections per cell in small units (many
# inject units), the model above for score, the train split evaluated (the 2-brick footprint's
# val split is empty).
multihost_inputs() {
  "$dhs" mock-sky --out "$tmp/mock" --config "$src/configs/mock_sky_test.yaml" >"$tmp/mock.log" 2>&1 ||
    { cat "$tmp/mock.log"; echo "FAIL: mock sky"; exit 1; }
  /usr/bin/python3 "$src/tests/mpi_stages/train/make_fixture.py" "$tmp/rings.h5" >/dev/null || { echo "FAIL: fixture"; exit 1; }
  "$dhs" run "$src/configs/demo.yaml" --out "$tmp/model" --stages train --set "train.injections_file=$tmp/rings.h5" \
    --set train.arch=simple_cnn --set train.width=8 --set train.crop=48 --set train.epochs=1 --set train.learners=1 \
    --set train.threads=1 --set train.batch_size=32 --set train.meta_columns=[] >"$tmp/model.log" 2>&1 ||
    { tail -5 "$tmp/model.log"; echo "FAIL: model"; exit 1; }
  pipeline_opts=(--stages sample,cutouts,inject,validate,score,evaluate --set "survey.root=$tmp/mock"
                 --set inject.source=sersic --set inject.per_cell=4 --set inject.batch_size=4
                 --set "score.model=$tmp/model/model" --set score.threads=1 --set score.batch_size=32
                 --set evaluate.split=train --set run.log_level=info)
}

prov() {  # prov FILE ATTR: an attribute of /provenance/run
  /usr/bin/python3 -c 'import sys, h5py; v = h5py.File(sys.argv[1], "r")["/provenance/run"].attrs[sys.argv[2]]; print(v.decode() if isinstance(v, bytes) else v)' "$1" "$2" 2>/dev/null
}
