#!/usr/bin/env bash
# A real two-node Slurm on this machine (issue #18): scripts/netns-hosts.sh makes two network
# namespaces dhs-h1, dhs-h2 on a private bridge; slurmctld runs here (the root namespace, on the
# bridge's address), one slurmd per host inside its namespace (`slurmd -N dhs-hK`, started
# through scripts/netns-rsh.sh so that it also carries the host's name), munge shared through its
# socket. Then
#   sbatch --nodes=2 --ntasks-per-node=2 scripts/slurm/dhs-multi-node.sbatch CONFIG RUN_DIR ...
# runs the small demo pipeline of tests/engine/multihost_test.sh (sample, cutouts, inject,
# validate, score, evaluate on configs/mock_sky_test.yaml) with srun --mpi=pmix across the two
# nodes: the job completes, 2 ranks ran on each node (/provenance/run), and every dataset is
# identical to a one-machine `mpirun -n 2` run. Everything it started is stopped by pid and the
# hosts are taken down on exit (trap).
#
#   DHS_EXE=build/apps/dhs/dhs DHS_SOURCE_DIR=. bash tests/engine/slurm_multihost_test.sh
#
# Needs root and usable network namespaces (else skipped, exit 77); installs slurmd slurmctld
# slurm-client munge when missing (as tests/engine/slurm_test.sh does). Every wait is bounded.
# shellcheck disable=SC2317  # cleanup and its helpers run from the EXIT trap
set -uo pipefail
dhs="${DHS_EXE:?set DHS_EXE to the dhs executable}"
src="${DHS_SOURCE_DIR:?set DHS_SOURCE_DIR to the source tree}"
dhs="$(readlink -f "$dhs")"
t0=$SECONDS
PATH="$PATH:/usr/sbin:/sbin"
say() { echo "slurm_multihost_test: $*"; }
source "$(dirname "${BASH_SOURCE[0]}")/slurm_support.sh"  # pid_of stop_pid slurm_stop start_munge pick_port job_field ...
budget=240  # seconds for the whole test (ctest's TIMEOUT is 300): every wait is cut to what is left (left)

# An outer Slurm job's variables must not leak into this cluster's commands.
for v in $(compgen -e | grep '^SLURM_' || true); do unset "$v"; done

source "$(dirname "${BASH_SOURCE[0]}")/multihost_support.sh"  # multihost_preflight multihost_inputs prov
multihost_preflight

# ---- Packages (as slurm_test.sh) ----------------------------------------------------------
slurm_install_packages || { echo "FAIL: could not install slurmd slurmctld slurm-client munge"; exit 1; }

source "$(dirname "${BASH_SOURCE[0]}")/../support/script_support.sh"
chmod 755 "$tmp"
netns="$src/scripts/netns-hosts.sh"
export DHS_NETNS_STATE="$tmp/netns"
state="$tmp/slurm"
mkdir -p "$state/state" "$state/run"
conf="$state/slurm.conf"
hosts_up=0
nodes=(dhs-h1 dhs-h2)

logs() {
  local f
  for f in "$state"/slurmctld.log "$state"/slurmd-*.log; do
    [ -f "$f" ] && { echo "---- tail of $f"; tail -n 25 "$f"; }
  done
}
teardown() {
  local rc=$?
  trap - EXIT INT TERM
  slurm_stop "$state"/slurmd-dhs-h1.pid "$state"/slurmd-dhs-h2.pid
  [ "$hosts_up" = 1 ] && "$netns" down >/dev/null
  cleanup
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1

# ---- The inputs and the one-machine reference (as multihost_test.sh) ------------------------
multihost_inputs
opts=("${pipeline_opts[@]}")
# Both runs write into the same RUN_DIR (moved aside when done): validation.h5 and the summaries
# name their input files.
run_dir="$tmp/run"
t=$SECONDS
timeout -k 5 "$(left 120)" "${MPIEXEC_EXECUTABLE:-mpiexec}" "${MPIEXEC_NUMPROC_FLAG:--n}" 2 \
  ${DHS_MPIEXEC_PREFLAGS:---oversubscribe --bind-to none} "$dhs" run "$src/configs/demo.yaml" --out "$run_dir" "${opts[@]}" \
  >"$tmp/ref.log" 2>&1
rc=$?
say "reference (mpirun -n 2, this machine): exit $rc in $((SECONDS - t)) s"
[ "$rc" = 0 ] || { tail -n 20 "$tmp/ref.log"; echo "FAIL: the reference run"; exit 1; }
mv "$run_dir" "$tmp/ref"

# ---- The hosts, munge, slurmctld, two slurmd ----------------------------------------------
"$netns" up 2 2 >"$tmp/up.log" 2>&1 || { cat "$tmp/up.log"; echo "FAIL: netns-hosts.sh up 2"; hosts_up=1; exit 1; }
hosts_up=1
gw_addr="$(sed -n 's/^\([0-9.]*\)\.0\/24$/\1.1/p' "$DHS_NETNS_STATE/subnet")"
declare -A addr
while read -r h a; do addr[$h]=$a; done <"$DHS_NETNS_STATE/hosts"
say "hosts ${nodes[*]} at ${addr[dhs-h1]} ${addr[dhs-h2]}; slurmctld on $gw_addr"

# munged: the machine's, or one of our own (slurm_support.sh). The slurmds reach it by its
# socket's path: a unix socket is not behind a network namespace.
start_munge || exit 1
check "munge credentials round-trip" munge_ok
check "munge answers inside dhs-h2 too" "$src/scripts/netns-rsh.sh" dhs-h2 \
  "munge -S $munge_socket -n </dev/null | unmunge -S $munge_socket >/dev/null"
[ "$fails" = 0 ] || exit 1

# slurm.conf: slurmctld on the bridge's address (its host name is this machine's), a node per
# namespace host with its address, own ports; %n gives each slurmd its own spool, pid and log.
# Two CPUs per node: the two "nodes" share this machine's cores, as the mpirun hosts do.
ctld_host="$(hostname -s)"
ctld_port="$(pick_port)"
slurmd_port="$(pick_port "$ctld_port")"
node_hw="CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1"
{
  slurm_conf_common dhs-mh "$ctld_host" "$gw_addr" "$ctld_port" "$slurmd_port"
  cat <<EOF
SlurmdSpoolDir=$state/spool-%n
SlurmdPidFile=$state/slurmd-%n.pid
SlurmdLogFile=$state/slurmd-%n.log
TmpFS=$state/run
NodeName=dhs-h1 NodeAddr=${addr[dhs-h1]} $node_hw State=UNKNOWN
NodeName=dhs-h2 NodeAddr=${addr[dhs-h2]} $node_hw State=UNKNOWN
PartitionName=debug Nodes=dhs-h[1-2] Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
} >"$conf"
export SLURM_CONF="$conf"
say "slurm.conf in $state (ports $ctld_port/$slurmd_port)"
timeout 20 slurmctld -i || say "slurmctld exited $?"
# TmpFS is node-local on a cluster; here each slurmd gets a private mount namespace in which
# $state/run is its own directory (else both slurmstepds make the same PMIx dir, TmpFS/spmix_appdir_*,
# and the second fails with EEXIST).
for n in "${nodes[@]}"; do
  mkdir -p "$state/spool-$n" "$state/tmpfs-$n"
  timeout 20 "$src/scripts/netns-rsh.sh" "$n" unshare --mount --propagation private \
    sh -c "'mount --bind $state/tmpfs-$n $state/run && exec slurmd -N $n'" || say "slurmd -N $n exited $?"
done
state_now=""
t=$SECONDS lim=$(left 60)
while [ $((SECONDS - t)) -lt "$lim" ]; do
  state_now="$(timeout 5 sinfo -h -N -o '%N=%t' 2>/dev/null | sort | tr '\n' ' ')"
  [ "$state_now" = "dhs-h1=idle dhs-h2=idle " ] && break
  sleep 0.5
done
check "both nodes idle within 60 s ($state_now)" [ "$state_now" = "dhs-h1=idle dhs-h2=idle " ]
check "each slurmd runs inside its host's namespace" \
  [ "$(ip netns identify "$(pid_of "$state/slurmd-dhs-h1.pid")") $(ip netns identify "$(pid_of "$state/slurmd-dhs-h2.pid")")" = "dhs-h1 dhs-h2" ]
[ "$fails" = 0 ] || { logs; exit 1; }

# ---- The job: dhs-multi-node.sbatch on both nodes -------------------------------------------
job_out="$state/multi.out"
t=$SECONDS
(cd "$state" && SLURM_DEBUG=1 DHS_EXE="$dhs" timeout "$(left 150)" sbatch --wait --parsable --job-name=dhs-multihost \
   --output="$job_out" --nodes=2 --ntasks-per-node=2 "$src/scripts/slurm/dhs-multi-node.sbatch" \
   "$src/configs/demo.yaml" "$run_dir" "${opts[@]}" >"$state/multi.sbatch" 2>&1)
rc=$?
job="$(grep -m1 -o '^[0-9]*' "$state/multi.sbatch")"
say "job ${job:-?}: sbatch --wait exit $rc in $((SECONDS - t)) s"
check "job exit 0" [ "$rc" = 0 ]
check "JobState=COMPLETED ExitCode=0:0 NodeList=dhs-h[1-2]" \
  [ "$(job_field "$job" JobState) $(job_field "$job" ExitCode) $(job_field "$job" NodeList)" = "COMPLETED 0:0 dhs-h[1-2]" ]
check "the sbatch script saw 2 nodes, 4 tasks" grep -q ': 2 nodes (dhs-h\[1-2\]), 4 tasks: ' "$job_out"
check "/provenance/run: hosts dhs-h1,dhs-h2, ranks by node (block distribution)" \
  [ "$(prov "$run_dir/sample.h5" hosts) $(prov "$run_dir/sample.h5" rank_hosts)" = "dhs-h1,dhs-h2 dhs-h1,dhs-h1,dhs-h2,dhs-h2" ]
n_h5=0
for f in "$tmp"/ref/*.h5; do
  f="$(basename "$f")" n_h5=$((n_h5 + 1))
  check "$f identical to one machine's (h5diff outside /provenance/run)" same "$tmp/ref/$f" "$run_dir/$f"
done
check "all 6 stage files compared" [ "$n_h5" = 6 ]
if [ "$fails" != 0 ]; then
  echo "---- job output ($job_out)"; tail -n 40 "$job_out"
  [ -n "${job:-}" ] && timeout 10 scontrol show job "$job"
  logs
fi
say "$((SECONDS - t0)) s"
finish
