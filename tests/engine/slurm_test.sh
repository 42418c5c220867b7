#!/usr/bin/env bash
# A real single-node Slurm on this machine (recipe: shared/spec/SLURM.md). Starts munged (or
# reuses the machine's), slurmctld and slurmd from a slurm.conf in a temp dir (own ports, own
# munge socket: a second copy of this test or a Slurm already here is left alone), then submits
#   (a) dhs-single-node.sbatch config demo.yaml     (sbatch --wait, 2 tasks, srun --mpi=pmix):
#       exit 0, both tasks launched and exited 0, the result printed once, by rank 0
#   (b) dhs-single-node.sbatch CONFIG RUN_DIR       (dhs run, when dhs has it): RUN_DIR/skeleton.h5
#   (c) a bad config: the job's exit code is dhs's (2)
#   (d) dhs-multi-node.sbatch on this one node (--nodes=1 --ntasks-per-node=2)
#   (e) dhs-requeue.sbatch: USR1 to the batch shell stops the step, requeues; the restart resumes
# and always stops what it started, by pid (trap on EXIT), and removes the temp dir.
#
#   DHS_EXE=build/apps/dhs/dhs DHS_SOURCE_DIR=. bash tests/engine/slurm_test.sh
#
# Needs root (the daemons run as root; the Debian packages slurmd slurmctld slurm-client munge
# are installed when missing). Not root: skipped (exit 77). Every wait is bounded (~45 s in all).
# shellcheck disable=SC2317  # cleanup and its helpers run from the EXIT trap
set -uo pipefail
dhs="${DHS_EXE:?set DHS_EXE to the dhs executable}"
src="${DHS_SOURCE_DIR:?set DHS_SOURCE_DIR to the source tree}"
dhs="$(cd "$(dirname "$dhs")" && pwd)/$(basename "$dhs")"
sbatch_script="$src/scripts/slurm/dhs-single-node.sbatch"
t0=$SECONDS
pass=0
fails=0
check() {  # check NAME CONDITION-COMMAND...
  local name="$1"; shift
  if "$@"; then echo "PASS: $name"; pass=$((pass + 1)); else echo "FAIL: $name"; fails=$((fails + 1)); fi
}
say() { echo "slurm_test: $*"; }
source "$(dirname "${BASH_SOURCE[0]}")/slurm_support.sh"  # pid_of stop_pid slurm_stop start_munge pick_port job_field ...
budget=240  # seconds for the whole test (ctest's TIMEOUT is 300): every wait is cut to what is left (left)
finish() {  # print the summary and exit with its status
  echo "$pass passed, $fails failed ($((SECONDS - t0)) s)"
  [ "$fails" = 0 ] && exit 0
  exit 1
}

# An outer Slurm job's variables must not leak into this cluster's commands.
for v in $(compgen -e | grep '^SLURM_' || true); do unset "$v"; done

if [ "$(id -u)" != 0 ]; then
  say "SKIP: needs root to run slurmctld/slurmd/munged"
  exit 77
fi

# ---- 1. Packages --------------------------------------------------------------------------
slurm_install_packages || { echo "FAIL: could not install slurmd slurmctld slurm-client munge"; fails=1; finish; }
PATH="$PATH:/usr/sbin:/sbin"

# ---- 2. State dir, daemons ----------------------------------------------------------------
state="$(mktemp -d /tmp/dhs-slurm-test.XXXXXX)"
chmod 755 "$state"
mkdir -p "$state/state" "$state/spool" "$state/run"
conf="$state/slurm.conf"

logs() {
  local f
  for f in "$state"/slurmctld.log "$state"/slurmd.log; do
    [ -f "$f" ] && { echo "---- tail of $f"; tail -n 25 "$f"; }
  done
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  slurm_stop "$state/slurmd.pid"
  rm -rf "$state"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# munged: the machine's, or one of our own on a socket in the state dir (slurm_support.sh),
# stopped at the end.
start_munge || { fails=1; finish; }
check "munge credentials round-trip" munge_ok
[ "$fails" = 0 ] || finish

# slurm.conf: the node as slurmd sees it (at least 2 CPUs so a 2-task job fits), on loopback,
# on two free ports so a Slurm already on this machine (or a second copy of this test) is untouched.
host="$(hostname -s)"
node="$(slurmd -C 2>/dev/null | grep '^NodeName=' | sed -e "s/^NodeName=[^ ]*//" -e 's/ *RealMemory=[0-9]*//')"
cpus="$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node")"
if [ -z "$node" ] || [ "${cpus:-0}" -lt 2 ]; then
  node="CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1"
fi
ctld_port="$(pick_port)"
slurmd_port="$(pick_port "$ctld_port")"
{
  slurm_conf_common dhs-test "$host" 127.0.0.1 "$ctld_port" "$slurmd_port"
  cat <<EOF
SlurmdSpoolDir=$state/spool
TmpFS=$state/run
SlurmdPidFile=$state/slurmd.pid
SlurmdLogFile=$state/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
} >"$conf"
export SLURM_CONF="$conf"
say "slurm.conf in $state (ports $ctld_port/$slurmd_port): NodeName=$host $node"

timeout 20 slurmctld -i || say "slurmctld exited $?"
timeout 20 slurmd || say "slurmd exited $?"
state_now=""
t=$SECONDS lim=$(left 60)
while [ $((SECONDS - t)) -lt "$lim" ]; do
  state_now="$(timeout 5 sinfo -h -n "$host" -o %t 2>/dev/null | head -n1)"
  [ "$state_now" = idle ] && break
  sleep 0.5
done
check "node $host idle within 60 s (slurmctld pid $(pid_of "$state/slurmctld.pid"), slurmd pid $(pid_of "$state/slurmd.pid"))" \
  [ "$state_now" = idle ]
[ "$state_now" = idle ] || { echo "sinfo state: '${state_now}'"; logs; finish; }

# ---- 3./4. Jobs -----------------------------------------------------------------------------
submit() {  # submit NAME SBATCH-ARGS... -- SCRIPT-ARGS... ; sets job, job_rc, job_out
  local name="$1"; shift
  local opts=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  job_out="$state/$name.out"
  local t=$SECONDS
  # SLURM_LABELIO: srun prefixes each line with its task id; SLURM_DEBUG: srun -v (launch/exit lines).
  # DHS_EXE reaches the job through sbatch's default --export=ALL.
  (cd "$state" && SLURM_LABELIO=1 SLURM_DEBUG=1 DHS_EXE="$dhs" \
     timeout "$(left 90)" sbatch --wait --parsable --job-name="dhs-$name" --output="$job_out" "${opts[@]}" \
     "$sbatch_script" "$@" >"$state/$name.sbatch" 2>&1)
  job_rc=$?
  job="$(grep -m1 -o '^[0-9]*' "$state/$name.sbatch")"
  say "$name: job ${job:-?} sbatch exit $job_rc in $((SECONDS - t)) s: $(tr '\n' ' ' <"$state/$name.sbatch")"
}
show_job() {
  echo "---- job ${job:-?} output ($job_out)"; cat "$job_out" 2>/dev/null
  [ -n "${job:-}" ] && timeout 10 scontrol show job "$job"
  logs
}

# (a) any dhs command, verbatim through the sbatch script: `dhs config` on 2 ranks.
submit config --ntasks=2 -- config "$src/configs/demo.yaml"
ok_before=$fails
check "config: job exit 0 (sbatch --wait)" [ "$job_rc" = 0 ]
check "config: JobState=COMPLETED ExitCode=0:0" \
  [ "$(job_field "$job" JobState) $(job_field "$job" ExitCode)" = "COMPLETED 0:0" ]
check "config: 2 tasks in the allocation" grep -q ', 2 tasks: ' "$job_out"
check "config: srun launched tasks [0-1] (pmix)" grep -q 'launching StepId=[0-9]*\.0 on host .*, 2 tasks: \[0-1\]' "$job_out"
check "config: both tasks exited 0" grep -q 'Received task exit notification for 2 tasks of StepId=[0-9]*\.0 (status=0x0000)' "$job_out"
check "config: resolved config printed exactly once, by rank 0" \
  [ "$(grep -c '^ *[0-9]*: run:$' "$job_out") $(grep -c '^ *0: run:$' "$job_out")" = "1 1" ]
check "config: no rank printed it twice (one MPI world, not 2 singletons)" \
  [ "$(grep -c 'resolved from' "$job_out")" = 1 ]
[ "$fails" = "$ok_before" ] || show_job

# (b) the engine: `dhs run CONFIG --out RUN_DIR` (the sbatch script's shorthand form), once dhs
# has a run command: configs/skeleton.yaml, else configs/demo.yaml --stages skeleton.
run_cfg=()
if "$dhs" --help 2>/dev/null | grep -q '^  run '; then
  if [ -f "$src/configs/skeleton.yaml" ]; then
    run_cfg=("$src/configs/skeleton.yaml")
  elif "$dhs" run --help 2>/dev/null | grep -q '^  skeleton:'; then
    run_cfg=("$src/configs/demo.yaml" --stages skeleton)
  fi
fi
if [ ${#run_cfg[@]} -gt 0 ]; then
  run_dir="$state/run1"
  submit run --ntasks=2 -- "${run_cfg[0]}" "$run_dir" "${run_cfg[@]:1}"
  ok_before=$fails
  check "run: job exit 0" [ "$job_rc" = 0 ]
  check "run: JobState=COMPLETED ExitCode=0:0" \
    [ "$(job_field "$job" JobState) $(job_field "$job" ExitCode)" = "COMPLETED 0:0" ]
  check "run: srun ran dhs run ${run_cfg[*]##*/} --out RUN_DIR" \
    grep -q ", 2 tasks: .* run ${run_cfg[0]} --out $run_dir" "$job_out"
  check "run: both tasks exited 0" grep -q 'Received task exit notification for 2 tasks of StepId=[0-9]*\.0 (status=0x0000)' "$job_out"
  check "run: RUN_DIR/skeleton.h5 written" [ -s "$run_dir/skeleton.h5" ]
  check "run: one log per rank (rank-0000.log, rank-0001.log)" \
    [ -s "$run_dir/logs/rank-0000.log" -a -s "$run_dir/logs/rank-0001.log" -a ! -e "$run_dir/logs/rank-0002.log" ]
  [ "$fails" = "$ok_before" ] || { show_job; ls -lR "$run_dir" 2>/dev/null; }
elif "$dhs" --help 2>/dev/null | grep -q '^  run '; then
  say "SKIP run: dhs has a run command but neither configs/skeleton.yaml nor a skeleton stage"
else
  say "SKIP run: this dhs has no run command yet (checked dhs config through Slurm instead)"
fi

# (c) a failing dhs command: its exit code (2: bad config) is the job's.
submit bad --ntasks=2 -- config "$state/does-not-exist.yaml"
ok_before=$fails
check "bad config: job exit 2 passed through" [ "$job_rc" = 2 ]
check "bad config: ExitCode=2:0" [ "$(job_field "$job" ExitCode)" = "2:0" ]
[ "$fails" = "$ok_before" ] || show_job
ok_before=$fails

# (d) dhs-multi-node.sbatch, here on the one node (--nodes=1 --ntasks-per-node=2 on the command
# line override its #SBATCH defaults), dhs arguments verbatim.
sbatch_script="$src/scripts/slurm/dhs-multi-node.sbatch"
if [ ${#run_cfg[@]} -gt 0 ]; then
  submit multi --nodes=1 --ntasks-per-node=2 -- run "${run_cfg[0]}" --out "$state/multi" "${run_cfg[@]:1}"
  check "multi-node script: job exit 0, skeleton.h5 written" [ "$job_rc" = 0 -a -s "$state/multi/skeleton.h5" ]
else
  submit multi --nodes=1 --ntasks-per-node=2 -- config "$src/configs/demo.yaml"
  check "multi-node script: job exit 0, printed once" [ "$job_rc" = 0 -a "$(grep -c 'resolved from' "$job_out")" = 1 ]
fi
check "multi-node script: 1 node, 2 tasks" grep -q ': 1 nodes (.*), 2 tasks: ' "$job_out"
[ "$fails" = "$ok_before" ] || show_job
sbatch_script="$src/scripts/slurm/dhs-single-node.sbatch"

# (e) dhs-requeue.sbatch: USR1 (what --signal=B:USR1@120 sends before the time limit) stops the
# step and requeues the job; the next start resumes. A stand-in for dhs plays a first start that
# runs until it is stopped; on the restart it hands over to the real `dhs run ... --resume` when
# dhs has one (checked by its skeleton.h5), else it just exits 0.
rq_cfg=("$src/configs/demo.yaml")
[ ${#run_cfg[@]} -gt 0 ] && rq_cfg=("${run_cfg[@]}")
rq_dir="$state/rq"
fake="$state/fake-dhs"
cat >"$fake" <<EOS
#!/usr/bin/env bash
echo "fake-dhs rank \$SLURM_PROCID start \${SLURM_RESTART_COUNT:-0}: \$*"
if [ "\${SLURM_RESTART_COUNT:-0}" = 0 ]; then
  trap 'echo "fake-dhs rank \$SLURM_PROCID: SIGTERM, stopping"; kill \$! 2>/dev/null; exit 143' TERM
  touch "$state/started.\$SLURM_PROCID"
  # Slurm signals every process of the step, sleep included: keep waiting until bash's own
  # SIGTERM arrives (a sleep killed first must not let the script fall through to an exit).
  while :; do sleep 100 & wait \$!; done
fi
[ ${#run_cfg[@]} -gt 0 ] && exec "$dhs" "\$@"
exit 0
EOS
chmod +x "$fake"
rq_out="$state/requeue.out"
job="$(cd "$state" && SLURM_LABELIO=1 DHS_EXE="$fake" timeout 20 sbatch --parsable --job-name=dhs-requeue \
         --output="$rq_out" --ntasks=2 "$src/scripts/slurm/dhs-requeue.sbatch" "${rq_cfg[0]}" "$rq_dir" "${rq_cfg[@]:1}" 2>&1)"
say "requeue: job $job"
t=$SECONDS lim=$(left 20)
while [ $((SECONDS - t)) -lt "$lim" ]; do [ -e "$state/started.0" ] && [ -e "$state/started.1" ] && break; sleep 0.1; done
check "requeue: both ranks of the first start running" [ -e "$state/started.0" -a -e "$state/started.1" ]
t=$SECONDS
timeout 10 scancel --batch --signal=USR1 "$job"
lim=$(left 60)
while [ $((SECONDS - t)) -lt "$lim" ]; do  # AuthInfo=cred_expire=15: a requeued job waits 15 s
  [ "$(job_field "$job" JobState)" = COMPLETED ] && break
  sleep 0.5
done
say "requeue: signalled; job state $(job_field "$job" JobState), restarts $(job_field "$job" Restarts) after $((SECONDS - t)) s"
ok_before=$fails
check "requeue: job COMPLETED ExitCode=0:0 after one restart" \
  [ "$(job_field "$job" JobState) $(job_field "$job" ExitCode) $(job_field "$job" Restarts)" = "COMPLETED 0:0 1" ]
check "requeue: the step was stopped by the USR1 trap (SIGTERM to both ranks)" \
  [ "$(grep -c 'SIGTERM, stopping' "$rq_out")" = 2 ]
check "requeue: scontrol requeue ran" grep -q 'requeueing job' "$rq_out"
check "requeue: both starts ran dhs run ... --resume" \
  [ "$(grep -cF -e "fake-dhs rank 0 start 0: run ${rq_cfg[0]} --out $rq_dir ${rq_cfg[*]:1}${rq_cfg[1]:+ }--resume" \
                -e "fake-dhs rank 0 start 1: run ${rq_cfg[0]} --out $rq_dir ${rq_cfg[*]:1}${rq_cfg[1]:+ }--resume" "$rq_out")" = 2 ]
check "requeue: second start finished with exit 0" grep -q 'dhs exited with 0' "$rq_out"
if [ ${#run_cfg[@]} -gt 0 ]; then
  check "requeue: the resumed dhs run wrote skeleton.h5" [ -s "$rq_dir/skeleton.h5" ]
fi
[ "$fails" = "$ok_before" ] || { job_out="$rq_out"; show_job; }

finish
