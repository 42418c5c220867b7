#!/usr/bin/env bash
# End-to-end checks of the `dhs` command line: --version, --help, exit codes, config
# validation errors naming key/file/line, every shipped config valid, and the same under
# mpirun -n 2 (launched through MPIEXEC_EXECUTABLE/MPIEXEC_NUMPROC_FLAG from CMake).
set -uo pipefail
dhs="${DHS_EXE:?}"
src="${DHS_SOURCE_DIR:?}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
pass=0
check() {  # check NAME CONDITION-COMMAND...
  local name="$1"; shift
  if "$@"; then pass=$((pass + 1)); else echo "FAIL: $name"; fails=$((fails + 1)); fi
}
run() {  # run OUTFILE CMD... ; echo exit code
  local out="$1"; shift
  "$@" >"$out" 2>&1; echo $?
}

# --version carries the version and the git commit baked in at build time.
rc=$(run "$tmp/v" "$dhs" --version)
check "version exit 0" [ "$rc" = 0 ]
check "version text" grep -qE '^dhs [0-9]+\.[0-9]+\.[0-9]+ \(git ([0-9a-f]{40}(-dirty)?|unknown)' "$tmp/v"

# Without a launcher dhs runs as one rank without MPI_Init; a bad DHS_MPI is refused.
rc=$(DHS_MPI=sometimes run "$tmp/mpi" "$dhs" --version)
check "bad DHS_MPI exit 2" [ "$rc" = 2 ]
check "bad DHS_MPI named" grep -q "DHS_MPI='sometimes'" "$tmp/mpi"

# The heap tuning re-executes dhs once with glibc's tunables; DHS_HEAP_TUNING=0 does not.
rc=$(run "$tmp/heap" "$dhs" --log-level debug config "$src/configs/demo.yaml")
check "heap tuning: config runs" [ "$rc" = 0 ]
check "heap tuning: re-executed" grep -q "heap tuning: re-executed with GLIBC_TUNABLES=.*glibc.malloc.arena_max=1" "$tmp/heap"
rc=$(DHS_HEAP_TUNING=0 run "$tmp/heap0" "$dhs" --log-level debug config "$src/configs/demo.yaml")
check "heap tuning off: config runs" [ "$rc" = 0 ]
check "heap tuning off: not re-executed" bash -c "! grep -q 'heap tuning' '$tmp/heap0'"
rc=$(run "$tmp/h" "$dhs" --help)
check "help lists config" grep -q '^  config ' "$tmp/h"
check "help lists inspect" grep -q '^  inspect ' "$tmp/h"
check "help lists run" grep -q '^  run ' "$tmp/h"
check "help lists plan" grep -q '^  plan ' "$tmp/h"
rc=$(run "$tmp/u" "$dhs" no-such-command)
check "unknown command exit 2" [ "$rc" = 2 ]
rc=$(run "$tmp/n" "$dhs")
check "no command exit 2" [ "$rc" = 2 ]
for cmd in $(sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' "$tmp/h"); do
  rc=$(run "$tmp/ch" "$dhs" "$cmd" --help)
  check "$cmd --help exit 0" [ "$rc" = 0 ]
done

# Every shipped config validates.
for cfg in "$src"/configs/*.yaml; do
  rc=$(run "$tmp/c" "$dhs" config "$cfg")
  check "$(basename "$cfg") valid" [ "$rc" = 0 ]
  [ "$rc" = 0 ] || cat "$tmp/c"
done

# Bad values: exit 2, a message naming the key, the file and the line, nothing done.
printf 'run:\n  seed: 42\n  log_level: loud\n' > "$tmp/bad_choice.yaml"
rc=$(run "$tmp/e1" "$dhs" config "$tmp/bad_choice.yaml")
check "bad choice exit 2" [ "$rc" = 2 ]
check "bad choice names key, file, line" grep -q "run.log_level' ($tmp/bad_choice.yaml:3)" "$tmp/e1"
printf 'run:\n  seed: -1\n' > "$tmp/bad_range.yaml"
rc=$(run "$tmp/e2" "$dhs" config "$tmp/bad_range.yaml")
check "out of range exit 2" [ "$rc" = 2 ]
check "out of range names key, file, line" grep -q "run.seed' ($tmp/bad_range.yaml:2).*out of range" "$tmp/e2"
printf 'survey:\n  pixel_scale: 0.262\n' > "$tmp/bad_key.yaml"
rc=$(run "$tmp/e3" "$dhs" config "$tmp/bad_key.yaml")
check "unknown key exit 2" [ "$rc" = 2 ]
check "unknown key named with suggestion" grep -q "survey.pixel_scale' ($tmp/bad_key.yaml:2): unknown key (did you mean 'survey.pixel_scale_arcsec'" "$tmp/e3"
rc=$(run "$tmp/e4" "$dhs" config "$src/configs/demo.yaml" --set survey.bands=[g,x])
check "bad --set exit 2" [ "$rc" = 2 ]
check "bad --set names key" grep -q "survey.bands' (--set): 'x' is not one of" "$tmp/e4"
rc=$(run "$tmp/o" "$dhs" config "$src/configs/demo.yaml" --set run.seed=7)
check "--set applies" grep -q '^  seed: 7$' "$tmp/o"
rc=$(run "$tmp/m" "$dhs" config "$tmp/does-not-exist.yaml")
check "missing config exit 2" [ "$rc" = 2 ]

# inspect: FITS from the shared real data; a non-FITS file is an error naming it.
shared="${DHS_SHARED_DIR:-$src/../shared}"
rc=$(run "$tmp/i" "$dhs" inspect "$shared/data/real/desitarget/tractor-3301m002.fits")
check "inspect FITS exit 0" [ "$rc" = 0 ]
check "inspect lists columns" grep -q 'BRICKNAME' "$tmp/i"
echo "not fits" > "$tmp/x.fits"
rc=$(run "$tmp/ix" "$dhs" inspect "$tmp/x.fits")
check "inspect bad file exit 1" [ "$rc" = 1 ]
check "inspect bad file named" grep -q "$tmp/x.fits" "$tmp/ix"

# brick: the real DR10 brick of the reference header, by position, name and id.
rc=$(run "$tmp/b" "$dhs" brick 48.9168 -44.25)
check "brick exit 0" [ "$rc" = 0 ]
check "brick by position" grep -q '^brickname  0489m442$' "$tmp/b"
check "brick id" grep -q '^brickid    100048$' "$tmp/b"
check "brick sweep file" grep -q '^sweep      sweep-045m045-050m040.fits$' "$tmp/b"
rc=$(run "$tmp/b2" "$dhs" brick 0489m442)
check "brick by name" grep -q '^brickid    100048$' "$tmp/b2"
rc=$(run "$tmp/b3" "$dhs" brick --id 100048)
check "brick by id" grep -q '^brickname  0489m442$' "$tmp/b3"
rc=$(run "$tmp/b4" "$dhs" brick nonsense)
check "bad brick name exit 2" [ "$rc" = 2 ]
rc=$(run "$tmp/b5" "$dhs" brick 10 -95)
check "brick dec clamps or errors, never crashes" [ "$rc" = 0 -o "$rc" = 2 ]

# Under MPI: same answers, printed once.
mpi=("${MPIEXEC_EXECUTABLE:-mpiexec}" "${MPIEXEC_NUMPROC_FLAG:--n}" 2 ${DHS_MPIEXEC_PREFLAGS//;/ })
rc=$(run "$tmp/p" "${mpi[@]}" "$dhs" config "$src/configs/demo.yaml")
check "mpi config exit 0" [ "$rc" = 0 ]
check "mpi config printed once" [ "$(grep -c '^run:' "$tmp/p")" = 1 ]
rc=$(run "$tmp/pe" "${mpi[@]}" "$dhs" config "$tmp/bad_range.yaml")
check "mpi bad config exit 2" [ "$rc" = 2 ]
check "mpi bad config reported once" [ "$(grep -c 'run.seed' "$tmp/pe")" = 1 ]

echo "$pass passed, $fails failed"
[ "$fails" = 0 ]
