#!/usr/bin/env bash
# Fuzzes every reader of outside bytes (tests/fuzz, docs/reliability.md#fuzzing): installs
# clang and libFuzzer if missing, configures and builds the harnesses (a separate clang build,
# -DDHS_FUZZ=ON), makes the seed corpora at run time, runs each harness for SECONDS and prints
# one line per harness (runs, exec/s, result). Exits 1 when a harness found a crash, a
# sanitizer report, a leak, a timeout (> 2 s for one input) or out-of-memory, naming the input
# that did it (replay: BUILD_DIR/tests/fuzz/fuzz_<harness> INPUT).
#
#   scripts/fuzz.sh [SECONDS] [--build-dir DIR] [--runs N]   # default: 60 s each, ./build-fuzz
#   (--runs N: N inputs per harness from a fixed libFuzzer seed instead of SECONDS: the same
#   inputs on every machine, so a CI failure is a regression, not a new find by chance)
#
# Seeds: tests/fuzz/make_seeds.cpp's small files, a small mock sky (`dhs mock-sky`, when a dhs
# binary is found: $DHS_EXE, else ./build/apps/dhs/dhs), the real files of
# $DHS_SHARED_DIR/data/real (default ../shared; read in place, copied only into the build
# directory's seed folders) and configs/*.yaml. The corpus libFuzzer grows is kept in
# BUILD_DIR/fuzz-corpus/<harness> between runs; crash inputs go to BUILD_DIR/fuzz-artifacts.
# DHS_FUZZ_JOBS sets the build's parallelism (default 2).
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds=60
runs_limit=""  # --runs N: N inputs per harness from a fixed seed (-seed=1), the same every time (CI)
build_dir="$repo/build-fuzz"
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --runs) runs_limit="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    [0-9]*) seconds="$1"; shift ;;
    *) echo "fuzz.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
mkdir -p "$build_dir"
build_dir="$(cd "$build_dir" && pwd)"
shared="${DHS_SHARED_DIR:-$repo/../shared}"
real="$shared/data/real"
harnesses=(fits_header tile_reader rice sweep_reader lenscat config spool)

# ---- clang + libFuzzer (Debian: clang, libclang-rt-<version>-dev)
probe() {
  echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
    clang++ -fsanitize=fuzzer,address,undefined -x c++ - -o "$build_dir/.probe" >/dev/null 2>&1
}
if ! command -v clang++ >/dev/null || ! probe; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "fuzz.sh: need root or sudo to install clang and libFuzzer" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends clang
  ver="$(clang++ --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)"
  $sudo apt-get install -y -q --no-install-recommends "libclang-rt-$ver-dev" || true
  probe || { echo "fuzz.sh: clang++ cannot link -fsanitize=fuzzer (libFuzzer missing)" >&2; exit 1; }
fi
rm -f "$build_dir/.probe"

# ---- configure + build the harnesses only
cmake -S "$repo" -B "$build_dir" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DDHS_FUZZ=ON \
      -DDHS_WITH_TORCH=OFF -DDHS_BUILD_TESTS=OFF -DDHS_BUILD_BENCHMARKS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DDHS_SHARED_DIR="$shared" >"$build_dir/fuzz-configure.log" 2>&1 ||
  { tail -20 "$build_dir/fuzz-configure.log"; echo "fuzz.sh: configure failed" >&2; exit 1; }
cmake --build "$build_dir" --target dhs_fuzz -j "${DHS_FUZZ_JOBS:-2}" >"$build_dir/fuzz-build.log" 2>&1 ||
  { grep -E "error|Error" "$build_dir/fuzz-build.log" | head -20; echo "fuzz.sh: build failed" >&2; exit 1; }
bin="$build_dir/tests/fuzz"

# ---- seed corpora, made afresh
seeds="$build_dir/fuzz-seeds"
rm -rf "$seeds"
for h in "${harnesses[@]}"; do mkdir -p "$seeds/$h"; done
"$bin/fuzz_make_seeds" "$seeds" || { echo "fuzz.sh: fuzz_make_seeds failed" >&2; exit 1; }

dhs="${DHS_EXE:-$repo/build/apps/dhs/dhs}"
if [ -x "$dhs" ]; then
  # A private copy: a rebuild of ./build while this runs must not swap the binary under us.
  cp "$dhs" "$build_dir/fuzz-dhs" && dhs="$build_dir/fuzz-dhs"
  mock="$build_dir/fuzz-mock"
  rm -rf "$mock"
  if DHS_HEAP_TUNING=0 "$dhs" mock-sky --out "$mock" --config "$repo/configs/mock_sky_test.yaml" \
       --set mock_sky.bricks_ra=1 --set mock_sky.image_size=300 --log-level error >"$build_dir/fuzz-mock.log" 2>&1; then
    cp "$mock"/sweep/*/*.fits "$seeds/sweep_reader/" 2>/dev/null
    cp "$mock"/survey-bricks.fits.gz "$seeds/sweep_reader/" 2>/dev/null
    for f in "$mock"/coadd/*/*/*-maskbits.fits.fz "$mock"/coadd/*/*/*-psfsize-r.fits.fz "$mock"/coadd/*/*/*-image-r.fits.fz; do
      [ -f "$f" ] && cp "$f" "$seeds/tile_reader/"
    done
    for f in "$mock"/coadd/*/*/*.fits.fz; do head -c 8640 "$f" >"$seeds/fits_header/mock-$(basename "$f").hdr"; done
    cp "$mock/lenses/lenscat.csv" "$seeds/lenscat/mock-lenscat.csv"
    cp "$mock/truth/confusers.csv" "$seeds/lenscat/mock-confusers.csv"
    head -c 8192 "$mock/truth/lenses.csv" >"$seeds/lenscat/mock-truth-lenses.csv"
  else
    echo "fuzz.sh: dhs mock-sky failed (see $build_dir/fuzz-mock.log); going on without its seeds" >&2
  fi
  DHS_HEAP_TUNING=0 "$dhs" config --keys >"$build_dir/fuzz-config-keys.txt" 2>/dev/null &&
    export DHS_FUZZ_CONFIG_KEYS="$build_dir/fuzz-config-keys.txt"
else
  echo "fuzz.sh: no dhs binary at $dhs (set DHS_EXE): no mock-sky seeds, config keys of the run section only" >&2
fi

if [ -d "$real" ]; then
  cp "$real"/desitarget/*.fits "$real"/fastspecfit/*.fits "$seeds/sweep_reader/" 2>/dev/null
  cp "$real"/legacypipe/testcase3/survey-ccds-1.fits.gz "$seeds/sweep_reader/" 2>/dev/null
  # Real plain images (through cfitsio); the smallest of each kind.
  for f in $(find "$real/legacypipe/testcase3/images" -name '*.fits' | sort | head -3); do
    cp "$f" "$seeds/tile_reader/real-$(basename "$f")"
  done
  # The real DR10 coadd header (text lines) as 80-character cards.
  hdr="$real/reference/dr10_coadd_0489m442_image-r_header.txt"
  [ -f "$hdr" ] && awk '{ printf "%-80.80s", $0 }' "$hdr" >"$seeds/fits_header/real-dr10-coadd.hdr"
  head -c 8192 "$real/lens_catalogs/lenscat/catalog.csv" >"$seeds/lenscat/real-lenscat-head.csv" 2>/dev/null
  tail -c 4096 "$real/lens_catalogs/lenscat/catalog.csv" | sed 1d |
    cat <(head -1 "$real/lens_catalogs/lenscat/catalog.csv") - >"$seeds/lenscat/real-lenscat-tail.csv" 2>/dev/null
else
  echo "fuzz.sh: no real data at $real (set DHS_SHARED_DIR): seeds without them" >&2
fi
cp "$repo"/configs/*.yaml "$seeds/config/"
printf 'run:\n  seed: 3\nfuzz:\n  bands: [g, z]\n  deep:\n    inner:\n      value: 2.5\n#--set\nrun.seed=7\nfuzz.mode=b\n' \
  >"$seeds/config/overrides.yaml"

# ---- dictionaries (keywords the mutator would take long to guess)
dicts="$build_dir/fuzz-dicts"
mkdir -p "$dicts"
cat >"$dicts/fits.dict" <<'EOF'
"SIMPLE  =                    T"
"XTENSION= 'BINTABLE'"
"XTENSION= 'IMAGE   '"
"END                                                                             "
"BITPIX  = "
"NAXIS   = "
"NAXIS1  = "
"NAXIS2  = "
"PCOUNT  = "
"GCOUNT  = "
"TFIELDS = "
"TTYPE1  = "
"TFORM1  = "
"TFORM2  = "
"TDIM1   = "
"TSCAL1  = "
"TZERO1  = "
"THEAP   = "
"ZIMAGE  =                    T"
"ZBITPIX = "
"ZNAXIS  = "
"ZNAXIS1 = "
"ZNAXIS2 = "
"ZTILE1  = "
"ZTILE2  = "
"ZCMPTYPE= 'RICE_1  '"
"ZQUANTIZ= 'SUBTRACTIVE_DITHER_2'"
"ZDITHER0= "
"ZNAME1  = 'BLOCKSIZE'"
"ZVAL1   = "
"ZBLANK  = "
"ZSCALE  = "
"ZZERO   = "
"'COMPRESSED_DATA'"
"'1PB(123)'"
"'1QB(123)'"
"HIERARCH "
"CONTINUE  '"
"9223372036854775807"
"-2147483648"
"''"
EOF
cat >"$dicts/config.dict" <<'EOF'
"run:"
"seed:"
"stages:"
"log_level:"
"fuzz:"
"deep:"
"inner:"
"value:"
"bands:"
"edges:"
"sizes:"
"mode:"
"\x0a  "
"[]"
"{}"
"? "
"- "
"&a "
"*a"
"!!binary "
"!!int "
"~"
".nan"
".inf"
"0x"
"1e309"
"\x0a#--set\x0a"
EOF
cat >"$dicts/csv.dict" <<'EOF'
"name,RA [deg],DEC [deg],zlens,type,grading,ref\x0a"
"ra,dec,category\x0a"
"confident"
"probable"
" | "
"\x22"
"\x22\x22"
"\x0d\x0a"
"?"
"1e308"
"nan"
"-0"
EOF

# ---- run
declare -A max_len=([fits_header]=8640 [tile_reader]=131072 [rice]=4096 [sweep_reader]=131072 [lenscat]=16384
                    [config]=16384 [spool]=16384)
declare -A dict=([fits_header]=fits [tile_reader]=fits [sweep_reader]=fits [config]=config [lenscat]=csv)
artifacts="$build_dir/fuzz-artifacts"
mkdir -p "$artifacts"
# cfitsio checks its own allocations: a request beyond ASan's limit (a header claiming petabytes)
# fails as it would in production (NULL, then a cfitsio error) instead of aborting; requests
# over -malloc_limit_mb are still reported as out-of-memory.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
# Leaks inside cfitsio on its own error paths (a corrupt RICE or HCOMPRESS tile: buffers its
# decoders allocate and do not free), not dhs's to fix (docs/reliability.md#fuzzing). cfitsio
# has no frame pointers, so its leaks' stacks end inside it: the whole library is suppressed.
printf 'leak:libcfitsio.so\n' >"$build_dir/fuzz-lsan.supp"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$build_dir/fuzz-lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=0
printf '%-14s %10s %8s  %s\n' harness runs exec/s result
for h in "${harnesses[@]}"; do
  corpus="$build_dir/fuzz-corpus/$h"
  mkdir -p "$corpus"
  log="$build_dir/fuzz-$h.log"
  limit=(-max_total_time="$seconds")
  [ -n "$runs_limit" ] && limit=(-runs="$runs_limit" -seed=1)
  args=("${limit[@]}" -timeout=2 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len="${max_len[$h]}"
        -print_final_stats=1 -artifact_prefix="$artifacts/$h-")
  [ -n "${dict[$h]:-}" ] && args+=(-dict="$dicts/${dict[$h]}.dict")
  timeout --kill-after=30 $((seconds + 300)) "$bin/fuzz_$h" "${args[@]}" "$corpus" "$seeds/$h" >"$log" 2>&1
  rc=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  if [ "$rc" = 0 ]; then
    result="ok"
  else
    failed=1
    kind="$(grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer): [a-zA-Z-]+|runtime error: .*|uncaught exception|deadly signal|out-of-memory|timeout' "$log" | head -1)"
    input="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)"
    result="FAILED (rc $rc: ${kind:-see log}); input: ${input:-none written}; log: $log"
  fi
  printf '%-14s %10s %8s  %s\n' "$h" "${runs:-?}" "${rate:-?}" "$result"
done
if [ "$failed" != 0 ]; then
  echo "fuzz.sh: a harness failed; replay an input with $bin/fuzz_<harness> INPUT" >&2
  exit 1
fi
exit 0
