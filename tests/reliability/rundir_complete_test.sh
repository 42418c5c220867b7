#!/usr/bin/env bash
# A finished stage's file is verified before a resume trusts it (issue #18): journal/<stage>/
# COMPLETE records the file's size and checksum; a truncated, altered or missing file, or a
# marker that records neither, is not trusted: a warning names the file and the stage runs
# again (from its spool files when they were kept), giving the same datasets. The checksum is
# the same whatever the rank count that computes it (files of several 64 MiB blocks).
set -uo pipefail
dhs="${DHS_EXE:?}"
src="${DHS_SOURCE_DIR:?}"
here="$(dirname "${BASH_SOURCE[0]}")"
source "$here/../support/script_support.sh"
source "$here/rundir_support.sh"

size_of() { stat -c %s "$1"; }
scribble() {  # scribble FILE OFFSET: overwrite 4 bytes in place (same size)
  printf 'XyZw' | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

ref="$tmp/ref"
mpi 2 "$dhs" run "$tmp/load.yaml" --out "$ref" > "$ref.log" 2>&1
check "reference run exits 0" [ $? = 0 ]
check "COMPLETE records the file's size" grep -q "\"bytes\":$(size_of "$ref/testload.h5")" "$ref/journal/testload/COMPLETE"
check "COMPLETE records its checksum" grep -qE '"xxh64_of_blocks":"[0-9a-f]{16}"' "$ref/journal/testload/COMPLETE"
mpi 2 "$dhs" run "$tmp/load.yaml" --out "$ref" --resume > "$tmp/intact.log" 2>&1
check "an intact file is verified and trusted" grep -q "complete in the journal, skipped (.*checksum verified)" "$tmp/intact.log"

damaged_resume() {  # damaged_resume NAME WARNING-PATTERN: --resume the copy in $tmp/NAME, check it
  local name="$1" pattern="$2" dir="$tmp/$1"
  mpi 2 "$dhs" run "$tmp/load.yaml" --out "$dir" --resume > "$dir.log" 2>&1
  check "$name: --resume exits 0" [ $? = 0 ]
  check "$name: the warning names the file" grep -q "$pattern" "$dir.log"
  check "$name: the stage ran again" grep -q "48 units planned, 0 already done (journal), 48 to run" "$dir.log"
  check "$name: the datasets = the reference" same "$ref/testload.h5" "$dir/testload.h5"
  mpi 2 "$dhs" run "$tmp/load.yaml" --out "$dir" --resume > "$dir.again.log" 2>&1
  check "$name: the next --resume trusts the new file" grep -q 'complete in the journal, skipped' "$dir.again.log"
}
cp -r "$ref" "$tmp/truncated"; truncate -s -1000 "$tmp/truncated/testload.h5"
damaged_resume truncated "warn.*$tmp/truncated/testload.h5 is [0-9]* bytes but was [0-9]* bytes"
cp -r "$ref" "$tmp/altered"; scribble "$tmp/altered/testload.h5" $(( $(size_of "$ref/testload.h5") / 2 ))
damaged_resume altered "warn.*$tmp/altered/testload.h5 does not match the checksum"
cp -r "$ref" "$tmp/missing"; rm "$tmp/missing/testload.h5"
damaged_resume missing "warn.*complete but $tmp/missing/testload.h5 is missing"
cp -r "$ref" "$tmp/legacy"; echo "2025-01-01T00:00:00Z" > "$tmp/legacy/journal/testload/COMPLETE"
damaged_resume legacy "warn.*records no size and checksum of $tmp/legacy/testload.h5"

# With run.keep_spool the stage is rebuilt from its intact spool files, no unit rerun.
dir="$tmp/kept"
mpi 2 "$dhs" run "$tmp/load.yaml" --out "$dir" --set run.keep_spool=true > "$dir.log" 2>&1
cp "$dir/testload.h5" "$tmp/kept.h5"
truncate -s 4096 "$dir/testload.h5"
mpi 2 "$dhs" run "$tmp/load.yaml" --out "$dir" --set run.keep_spool=true --resume > "$dir.2.log" 2>&1
check "kept spool: --resume exits 0" [ $? = 0 ]
check "kept spool: the warning names the file" grep -q "$dir/testload.h5 is 4096 bytes" "$dir.2.log"
check "kept spool: every unit from the journal" grep -q "48 units planned, 48 already done (journal), 0 to run" "$dir.2.log"
check "kept spool: the datasets = before" same "$tmp/kept.h5" "$dir/testload.h5"

# A file of several 64 MiB blocks (64 units of 48x48 stamps, ~180 MB): written on 2 ranks, verified on 1
# and on 3; a change in the third block is found.
sed -e 's/stamp_size: 9/stamp_size: 48/' -e 's/units: 48/units: 64/' "$tmp/load.yaml" > "$tmp/big.yaml"
dir="$tmp/big"
mpi 2 "$dhs" run "$tmp/big.yaml" --out "$dir" > "$dir.log" 2>&1
check "big file: run exits 0" [ $? = 0 ]
check "big file: more than two blocks" [ "$(size_of "$dir/testload.h5")" -gt $((128 << 20)) ]
"$dhs" run "$tmp/big.yaml" --out "$dir" --resume > "$dir.1.log" 2>&1
check "big file: verified on 1 rank" grep -q "checksum verified" "$dir.1.log"
mpi 3 "$dhs" run "$tmp/big.yaml" --out "$dir" --resume > "$dir.3.log" 2>&1
check "big file: verified on 3 ranks" grep -q "checksum verified" "$dir.3.log"
scribble "$dir/testload.h5" $(( (128 << 20) + 12345 ))
mpi 3 "$dhs" run "$tmp/big.yaml" --out "$dir" --resume > "$dir.4.log" 2>&1
check "big file: a change in the third block found on 3 ranks" grep -q "does not match the checksum" "$dir.4.log"
rm -rf "$dir"

# The issue's case: a truncated sample.h5 on the mock sky is not trusted on --resume.
"$dhs" mock-sky --out "$tmp/mock" --config "$src/configs/mock_sky_test.yaml" > "$tmp/mock.log" 2>&1
check "mock sky written" [ $? = 0 ]
dir="$tmp/sample"
mpi 2 "$dhs" run "$src/configs/demo.yaml" --out "$dir" --stages sample --set survey.root="$tmp/mock" > "$dir.log" 2>&1
check "sample run exits 0" [ $? = 0 ]
cp "$dir/sample.h5" "$tmp/sample-ref.h5"
truncate -s $(( $(size_of "$dir/sample.h5") / 2 )) "$dir/sample.h5"
mpi 2 "$dhs" run "$src/configs/demo.yaml" --out "$dir" --stages sample --set survey.root="$tmp/mock" --resume \
  > "$dir.2.log" 2>&1
check "truncated sample.h5: --resume exits 0" [ $? = 0 ]
check "truncated sample.h5: the warning names it" grep -q "$dir/sample.h5 is [0-9]* bytes but was" "$dir.2.log"
check "truncated sample.h5: rebuilt, the same datasets" same "$tmp/sample-ref.h5" "$dir/sample.h5"

finish
