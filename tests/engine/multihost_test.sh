#!/usr/bin/env bash
# dhs across two hosts on one machine (issue #18): scripts/netns-hosts.sh makes two network
# namespaces dhs-h1, dhs-h2 on a private bridge, and mpirun starts its daemons in them through
# scripts/netns-rsh.sh (plm_rsh_agent), so ranks on different "hosts" talk over TCP only. On a
# small mock sky (configs/mock_sky_test.yaml) the demo pipeline's stages sample, cutouts,
# inject, validate, score, evaluate (score with a small model trained beforehand on one rank:
# train.h5 records timings, so the training itself is not compared):
#   (a) mpirun -n 2 on this machine alone: the reference;
#   (b) mpirun --hostfile (2 hosts x 2 slots) -n 4: exit 0, every dataset of every stage file
#       identical to (a) outside /provenance/run (h5diff), the JSON/ECSV summaries too, and
#       /provenance/run says hosts dhs-h1,dhs-h2 and which rank ran where;
#   (c) the same 4-rank run, frozen (SIGSTOP) in the middle of the inject stage, dhs-h2's ranks
#       killed (SIGKILL, found by `ip netns pids dhs-h2`), dhs-h1's let go: the job ends, no
#       rank is left behind, inject is not complete; then `--resume` from dhs-h1 alone
#       (2 ranks): exit 0, the journal used, every dataset identical to (a).
# The hosts are always taken down on exit (trap), and the test checks that `down` leaves no
# namespace, bridge or /etc/hosts line behind.
#
#   DHS_EXE=build/apps/dhs/dhs DHS_SOURCE_DIR=. bash tests/engine/multihost_test.sh
#
# Needs root and usable network namespaces (ip netns add): else skipped (exit 77). About a
# minute on 2 cores.
set -uo pipefail
dhs="${DHS_EXE:?set DHS_EXE to the dhs executable}"
src="${DHS_SOURCE_DIR:?set DHS_SOURCE_DIR to the source tree}"
dhs="$(readlink -f "$dhs")"
PATH="$PATH:/usr/sbin:/sbin"
t0=$SECONDS

source "$(dirname "${BASH_SOURCE[0]}")/multihost_support.sh"  # multihost_preflight multihost_inputs prov
multihost_preflight
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_support.sh"
netns="$src/scripts/netns-hosts.sh"
export DHS_NETNS_STATE="$tmp/netns"
hosts_up=0
teardown() {
  local rc=$?
  [ "$hosts_up" = 1 ] && "$netns" down >/dev/null
  cleanup
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM
# As root mpirun needs these; the hosts share this machine's cores, so ranks yield when idle
# (ctest sets the same; the launcher passes the environment on to every host).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1

# ---- The inputs: a small mock sky, a small model, the demo pipeline's options ---------------
multihost_inputs
run_args=(run "$src/configs/demo.yaml" "${pipeline_opts[@]}")

# Every run writes into the same RUN_DIR ($tmp/run), moved aside when done: validation.h5 and
# the summaries name their input files, which are then the same for every run.
run_dir="$tmp/run"
set_aside() { mv "$run_dir" "$tmp/$1"; }

# ---- (a) the reference: this machine alone ------------------------------------------------
t=$SECONDS
timeout -k 5 240 "${MPIEXEC_EXECUTABLE:-mpiexec}" "${MPIEXEC_NUMPROC_FLAG:--n}" 2 ${DHS_MPIEXEC_PREFLAGS:---oversubscribe --bind-to none} \
  "$dhs" "${run_args[@]}" --out "$run_dir" >"$tmp/ref.log" 2>&1
rc=$?
set_aside ref
echo "reference (mpirun -n 2, this machine): exit $rc in $((SECONDS - t)) s"
[ "$rc" = 0 ] || { tail -n 20 "$tmp/ref.log"; echo "FAIL: the reference run"; exit 1; }
h5files=()
for f in "$tmp"/ref/*.h5; do h5files+=("$(basename "$f")"); done
check "the reference wrote the 6 stage files" [ ${#h5files[@]} = 6 ]
planned="$(sed -n 's/.*stage inject: \([0-9]*\) units planned.*/\1/p' "$tmp/ref.log")"

# ---- The hosts -----------------------------------------------------------------------------
"$netns" up 2 2 >"$tmp/up.log" 2>&1
up_rc=$?
hosts_up=1
cat "$tmp/up.log"
[ "$up_rc" = 0 ] || { echo "FAIL: netns-hosts.sh up 2"; exit 1; }
read -ra launch <<<"$("$netns" launch-line)"
check "up printed the launch line (hostfile, rsh agent, oob/btl restricted to the subnet, -n 4)" \
  grep -qE -- '^mpirun --hostfile .*--mca plm_rsh_agent .*/netns-rsh.sh .*--mca oob_tcp_if_include 10\.[0-9.]+/24 --mca btl tcp,self --mca btl_tcp_if_include .* -n 4$' "$tmp/up.log"
launch=("${MPIEXEC_EXECUTABLE:-mpirun}" "${launch[@]:1:${#launch[@]}-3}")  # without `-n N`
check "the hosts resolve (/etc/hosts)" bash -c 'getent hosts dhs-h1 && getent hosts dhs-h2' >/dev/null
check "each host is its own network namespace with its own name" \
  [ "$("$src/scripts/netns-rsh.sh" dhs-h2 'echo $(hostname) $(ip -4 -o addr show eth0 | wc -l) $(ip -o link show | wc -l)')" = "dhs-h2 1 2" ]

same_summaries() {  # same_summaries A_DIR B_DIR: the JSON and ECSV summaries, timestamps aside
  local f ok=0
  for f in "$1"/*.json "$1"/*.ecsv; do
    diff <(sed '/"timestamp"/d' "$f") <(sed '/"timestamp"/d' "$2/$(basename "$f")") >/dev/null ||
      { echo "  $(basename "$f") differs"; ok=1; }
  done
  return $ok
}
dhs_pids() {  # dhs_pids HOST: the dhs ranks running in that host's namespace (dhs, or the
  local p e  # dhs-torch beside it that dhs re-executes for a run with libtorch stages)
  for p in $(ip netns pids "$1" 2>/dev/null); do
    e="$(readlink "/proc/$p/exe" 2>/dev/null)"
    [ "$e" = "$dhs" ] || [ "$e" = "$dhs-torch" ] && echo "$p"
  done
}

# ---- (b) two hosts, 2 ranks each ------------------------------------------------------------
t=$SECONDS
timeout -k 5 240 "${launch[@]}" -n 4 "$dhs" "${run_args[@]}" --out "$run_dir" >"$tmp/multi.log" 2>&1
rc=$?
set_aside multi
echo "two hosts (mpirun --hostfile ... -n 4): exit $rc in $((SECONDS - t)) s"
check "two hosts: exit 0" [ "$rc" = 0 ]
[ "$rc" = 0 ] || tail -n 30 "$tmp/multi.log"
for f in "${h5files[@]}"; do
  check "two hosts: $f identical to one machine's (h5diff outside /provenance/run)" same "$tmp/ref/$f" "$tmp/multi/$f"
done
check "two hosts: JSON/ECSV summaries identical" same_summaries "$tmp/ref" "$tmp/multi"
for f in "${h5files[@]}"; do
  check "two hosts: $f /provenance/run hosts = dhs-h1,dhs-h2" [ "$(prov "$tmp/multi/$f" hosts)" = dhs-h1,dhs-h2 ]
done
check "two hosts: /provenance/run rank_hosts = dhs-h1,dhs-h1,dhs-h2,dhs-h2 (ranks by slot)" \
  [ "$(prov "$tmp/multi/sample.h5" rank_hosts)" = dhs-h1,dhs-h1,dhs-h2,dhs-h2 ]
check "two hosts: /provenance/run ranks = 4" [ "$(prov "$tmp/multi/sample.h5" ranks)" = 4.0 ]
check "one machine: /provenance/run hosts = this machine's" [ "$(prov "$tmp/ref/sample.h5" hosts)" = "$(hostname)" ]
check "two hosts: 4 rank logs" [ -s "$tmp/multi/logs/rank-0003.log" -a ! -e "$tmp/multi/logs/rank-0004.log" ]
check "no rank left in either host" [ -z "$(dhs_pids dhs-h1)$(dhs_pids dhs-h2)" ]

# ---- (c) one host lost in the middle of inject, resumed on the other --------------------------
kill_dir="$run_dir"
t=$SECONDS
timeout -k 5 240 "${launch[@]}" -n 4 "$dhs" "${run_args[@]}" --out "$kill_dir" >"$tmp/kill.log" 2>&1 &
job=$!
spool="$kill_dir/journal/inject/spool"
# All four ranks up (the pids looked up once), then a tight loop without forks: the moment the
# first inject unit is in the journal every rank is stopped, so the kill lands inside the stage.
h1="" h2=""
while kill -0 "$job" 2>/dev/null && [ $((SECONDS - t)) -lt 60 ]; do
  h1="$(dhs_pids dhs-h1)" h2="$(dhs_pids dhs-h2)"
  [ "$(echo $h1 $h2 | wc -w)" = 4 ] && break
  sleep 0.1
done
caught="" killed=""
shopt -s nullglob
while kill -0 "$job" 2>/dev/null && [ $((SECONDS - t)) -lt 180 ]; do
  units=("$spool"/*.spool)
  if [ ${#units[@]} -ge 1 ] || [ -e "$kill_dir/journal/inject/COMPLETE" ]; then
    # shellcheck disable=SC2086
    kill -STOP $h1 $h2 2>/dev/null
    units=("$spool"/*.spool)
    if [ -e "$kill_dir/journal/inject/COMPLETE" ]; then  # finished between the look and the stop
      kill -CONT $h1 $h2 2>/dev/null
      break
    fi
    caught="${#units[@]} of $planned units of inject in the journal; dhs-h1 ranks $(echo $h1), dhs-h2 ranks $(echo $h2)"
    killed="$h2"
    kill -KILL $h2 2>/dev/null
    kill -CONT $h1 2>/dev/null
    break
  fi
  sleep 0.005
done
shopt -u nullglob
echo "kill: ${caught:-not caught inside inject}"
check "kill: caught the job inside the inject stage, both hosts' ranks running" \
  [ -n "$caught" -a -n "$killed" ]
wait "$job"
rc=$?
echo "kill: the job ended with exit $rc $((SECONDS - t)) s after its start"
check "kill: the job failed (exit $rc), and ended by itself (no timeout)" [ "$rc" != 0 -a $((SECONDS - t)) -lt 200 ]
check "kill: mpirun said a rank died" grep -qiE 'killed|signal 9|exited on signal|non-zero status' "$tmp/kill.log"
sleep 0.5
check "kill: no rank left on either host" [ -z "$(dhs_pids dhs-h1)$(dhs_pids dhs-h2)" ]
check "kill: inject left unfinished" [ ! -e "$kill_dir/journal/inject/COMPLETE" -a ! -e "$kill_dir/injections.h5" ]
printf 'dhs-h1 slots=2\n' >"$tmp/h1.hostfile"
resume=("${launch[@]}")
for i in "${!resume[@]}"; do [ "${resume[$i]}" = --hostfile ] && resume[i+1]="$tmp/h1.hostfile"; done
t=$SECONDS
timeout -k 5 240 "${resume[@]}" -n 2 "$dhs" "${run_args[@]}" --out "$kill_dir" --resume >"$tmp/resume.log" 2>&1
rc=$?
echo "resume on dhs-h1 alone (-n 2): exit $rc in $((SECONDS - t)) s"
check "resume on dhs-h1: exit 0" [ "$rc" = 0 ]
[ "$rc" = 0 ] || tail -n 30 "$tmp/resume.log"
check "resume: inject used the journal" grep -qE 'stage inject: [0-9]+ units planned, [1-9][0-9]* already done \(journal\)' "$tmp/resume.log"
check "resume: sample and cutouts were complete already (skipped)" \
  [ "$(grep -cE 'stage (sample|cutouts): .*units planned' "$tmp/resume.log")" = 0 ]
for f in "${h5files[@]}"; do
  check "killed + resumed: $f identical to the undisturbed run" same "$tmp/ref/$f" "$kill_dir/$f"
done
check "killed + resumed: JSON/ECSV summaries identical" same_summaries "$tmp/ref" "$kill_dir"
check "resume: injections.h5 /provenance/run rank_hosts = dhs-h1,dhs-h1, resumed = yes" \
  [ "$(prov "$kill_dir/injections.h5" rank_hosts) $(prov "$kill_dir/injections.h5" resumed)" = "dhs-h1,dhs-h1 yes" ]

# ---- down: nothing left ---------------------------------------------------------------------
"$netns" down >/dev/null
hosts_up=0
check "down: no dhs-h namespace, no dhs-br0, no veth" \
  [ -z "$(ip netns list | grep -E '^dhs-h[0-9]')$(ip -o link show | grep -E ': (dhs-br0|dhs-h[0-9]+-v)[:@]')" ]
check "down: /etc/hosts has no dhs-h line" bash -c '! grep -qE "dhs-h[0-9]|dhs netns-hosts" /etc/hosts'
check "down twice is fine" "$netns" down
echo "multihost_test: $((SECONDS - t0)) s"
finish
