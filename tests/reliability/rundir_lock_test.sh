#!/usr/bin/env bash
# One dhs job per run directory (issue #18): a second `dhs run` (with or without --resume) into
# a directory another job is using exits 2 at once, naming the holder (host, pid, start time,
# command line), and leaves the first job's results whole; two `--resume`s started together:
# one runs, one is refused; a job killed with SIGKILL (under mpirun or alone) leaves no lock
# that blocks --resume.
set -uo pipefail
dhs="${DHS_EXE:?}"
here="$(dirname "${BASH_SOURCE[0]}")"
source "$here/../support/script_support.sh"
source "$here/rundir_support.sh"

mpi 2 "$dhs" run "$tmp/slow.yaml" --out "$tmp/ref" > "$tmp/ref.log" 2>&1
check "uninterrupted reference run" [ $? = 0 ]

# 1. A second job while the first runs: refused with exit 2, the holder named; the first finishes.
dir="$tmp/busy"
start_job "$dir.log" "$tmp/slow.yaml" "$dir"
first=$job_pid
wait_for 60 spooled "$dir" 3
mpi 2 "$dhs" run "$tmp/slow.yaml" --out "$dir" --resume > "$tmp/second.log" 2>&1
check "second job (--resume) while the first runs: exit 2" [ $? = 2 ]
check "refusal says the directory is in use" grep -q "is in use by another dhs job" "$tmp/second.log"
check "refusal names the holder's host" grep -q "host $(hostname)" "$tmp/second.log"
check "refusal names the holder's pid and start time" grep -qE "pid [0-9]+, started 20[0-9-]+T" "$tmp/second.log"
check "refusal names the holder's command line" grep -q "command: .*run $tmp/slow.yaml --out $dir" "$tmp/second.log"
"$dhs" run "$tmp/slow.yaml" --out "$dir" > "$tmp/third.log" 2>&1
check "a job without launcher and without --resume: exit 2 too" [ $? = 2 ]
check "... also naming the holder" grep -q "is in use by another dhs job (host" "$tmp/third.log"
wait $first
check "the first job still exits 0" [ $? = 0 ]
check "the first job's file has its root attributes and provenance" has_root_attrs "$dir/testload.h5"
check "the first job's file = the reference" same "$tmp/ref/testload.h5" "$dir/testload.h5"
check "the refused jobs wrote no log into the run directory" bash -c "! grep -q 'resume' '$dir/logs/rank-0000.log'"
mpi 2 "$dhs" run "$tmp/slow.yaml" --out "$dir" --resume > "$tmp/after.log" 2>&1
check "once the first job ended, --resume runs (exit 0)" [ $? = 0 ]
check "... and trusts the finished stage" grep -q 'complete in the journal, skipped' "$tmp/after.log"

# 2. The issue's case: two --resume of one interrupted run started at once. One runs, one is
# refused; the result is whole and a later --resume trusts it.
dir="$tmp/pair"
start_job "$dir.log" "$tmp/slow.yaml" "$dir"
wait_for 60 spooled "$dir" 5
kill_job "$job_pid" "$dir"
start_job "$tmp/pair-a.log" "$tmp/slow.yaml" "$dir" --resume
a=$job_pid
start_job "$tmp/pair-b.log" "$tmp/slow.yaml" "$dir" --resume
b=$job_pid
wait $a; rc_a=$?
wait $b; rc_b=$?
check "two --resume at once: one exits 0, the other 2 ($rc_a, $rc_b)" \
  bash -c "[ '$(printf '%s\n' $rc_a $rc_b | sort | tr '\n' ' ')' = '0 2 ' ]"
check "the refused one says why" bash -c "cat '$tmp/pair-a.log' '$tmp/pair-b.log' | grep -q 'is in use by another dhs job'"
check "two --resume at once: the file has its root attributes and provenance" has_root_attrs "$dir/testload.h5"
check "two --resume at once: the file = the reference" same "$tmp/ref/testload.h5" "$dir/testload.h5"
mpi 2 "$dhs" run "$tmp/slow.yaml" --out "$dir" --resume > "$tmp/pair-c.log" 2>&1
check "a later --resume exits 0 and skips the stage" bash -c "[ $? = 0 ] && grep -q 'complete in the journal, skipped' '$tmp/pair-c.log'"

# 3. SIGKILL leaves no stale lock: under mpirun, and a job without launcher (one process).
dir="$tmp/killed"
start_job "$dir.log" "$tmp/slow.yaml" "$dir"
wait_for 60 spooled "$dir" 5
kill_job "$job_pid" "$dir"
check "killed job: the lock file remains, naming the dead holder" grep -q '^pid ' "$dir/.lock"
mpi 2 "$dhs" run "$tmp/slow.yaml" --out "$dir" --resume >> "$dir.log" 2>&1
check "kill -9 under mpirun, then --resume: exit 0" [ $? = 0 ]
check "kill -9 under mpirun + resume = the reference" same "$tmp/ref/testload.h5" "$dir/testload.h5"

dir="$tmp/killed1"
"$dhs" run "$tmp/slow.yaml" --out "$dir" > "$dir.log" 2>&1 &
pid=$!
wait_for 60 spooled "$dir" 5
check "the lock file names the running process" grep -q "^pid $pid\$" "$dir/.lock"
kill -9 "$pid"
wait "$pid" 2>/dev/null
"$dhs" run "$tmp/slow.yaml" --out "$dir" --resume >> "$dir.log" 2>&1
check "kill -9 of a job without launcher, then --resume: exit 0" [ $? = 0 ]
check "kill -9 without launcher + resume = the reference" same "$tmp/ref/testload.h5" "$dir/testload.h5"

finish
