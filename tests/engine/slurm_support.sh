# Helpers the real-Slurm tests share (sourced, test code only): tests/engine/slurm_test.sh (one
# node) and tests/engine/slurm_multihost_test.sh (two nodes in network namespaces). Before using
# them the caller defines say() and sets $state (its temp dir) and, for ours(), $conf (its
# slurm.conf). Recipe: shared/spec/SLURM.md.
# shellcheck shell=bash

# slurm_install_packages: slurmd slurmctld slurm-client munge when a command is missing.
slurm_install_packages() {
  local need=() b pkgs=(slurmd slurmctld slurm-client munge)
  for b in slurmd slurmctld sbatch sinfo scontrol munged munge; do
    command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || need+=("$b")
  done
  [ ${#need[@]} = 0 ] && return 0
  say "missing ${need[*]}: installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 120 apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 ||
    { timeout 60 apt-get update -q >/dev/null 2>&1
      timeout 120 apt-get install -y -q --no-install-recommends "${pkgs[@]}"; }
}

left() {  # left MAX: seconds to allow the next wait (the caller's budget from t0), at most MAX, at least 1
  local l=$((budget - (SECONDS - t0)))
  [ "$l" -gt "$1" ] && l=$1
  [ "$l" -lt 1 ] && l=1
  echo "$l"
}
pid_of() { [ -s "$1" ] && cat "$1" 2>/dev/null; }
stop_pid() {  # stop_pid NAME PID: TERM, up to 10 s, then KILL
  local name="$1" pid="$2"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || { say "stopped $name (pid $pid)"; return 0; }; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  say "killed $name (pid $pid) after 10 s"
}
ours() {  # pids of processes started with this test's SLURM_CONF in their environment
  local p
  for p in /proc/[0-9]*; do
    tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF "SLURM_CONF=$conf" && echo "${p#/proc/}"
  done
}
# slurm_stop SLURMD-PIDFILE... : cancels every job (when slurmctld runs), stops the slurmds,
# slurmctld ($state/slurmctld.pid), what is left with our SLURM_CONF, and our munged (by pid).
slurm_stop() {
  local f pid
  if [ -n "$(pid_of "$state/slurmctld.pid")" ]; then
    timeout 10 scancel --quiet --user=root >/dev/null 2>&1
    for _ in $(seq 1 50); do
      [ -z "$(timeout 5 squeue -h 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  for f in "$@"; do
    local name="${f##*/}"
    stop_pid "${name%.pid}" "$(pid_of "$f")"
  done
  stop_pid slurmctld "$(pid_of "$state/slurmctld.pid")"
  export -n SLURM_CONF  # so that the commands below do not look like ours
  for pid in $(ours); do  # leftovers (a step that outlived the cancel): ours by SLURM_CONF
    [ "$pid" = $$ ] || stop_pid "leftover $(tr '\0' ' ' 2>/dev/null </proc/"$pid"/cmdline)" "$pid"
  done
  [ -n "${munged_pid:-}" ] && stop_pid munged "$munged_pid"
  return 0
}

# munged: reuse the machine's if it answers on the default socket (never stopped here); else
# start one as the munge user on a socket of its own in the state dir (so that a second copy of
# a test, running at the same time, neither shares nor stops it), stopped by slurm_stop.
# start_munge sets munge_socket (and munged_pid when it started one); returns 1 when it cannot.
munge_socket=/run/munge/munge.socket.2
munged_pid=""
munge_ok() { timeout 5 munge -S "$munge_socket" -n </dev/null 2>/dev/null | timeout 5 unmunge -S "$munge_socket" >/dev/null 2>&1; }
start_munge() {
  if munge_ok; then
    say "reusing the munged that is running ($munge_socket)"
    return 0
  fi
  [ -s /etc/munge/munge.key ] || runuser -u munge -- mungekey --create >/dev/null 2>&1 ||
    { echo "FAIL: no /etc/munge/munge.key and mungekey failed"; return 1; }
  mkdir -p "$state/munge" && chown munge:munge "$state/munge" && chmod 755 "$state/munge"
  munge_socket="$state/munge/munge.socket"
  timeout 10 runuser -u munge -- munged --socket="$munge_socket" --pid-file="$state/munge/munged.pid" \
    --log-file="$state/munge/munged.log" --seed-file="$state/munge/munged.seed" ||
    say "munged exited $?: $(tail -n 3 "$state/munge/munged.log" 2>/dev/null)"
  for _ in $(seq 1 50); do
    munged_pid="$(pid_of "$state/munge/munged.pid")"
    [ -n "$munged_pid" ] && munge_ok && break
    sleep 0.1
  done
  say "started munged (pid ${munged_pid:-none}, socket $munge_socket)"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {  # pick_port [NOT]: a free port below the ephemeral range (32768-), not NOT
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 12000))
    [ "$p" != "${1:-}" ] && port_free "$p" && { echo "$p"; return; }
  done
  echo 6817
}

job_field() {  # job_field JOBID FIELD: from scontrol show job (accounting is off)
  timeout 10 scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1
}

# The slurm.conf lines both tests use: cluster NAME, slurmctld at HOST(ADDR) on two own ports,
# munge at $munge_socket, pmix, no accounting, no cgroups; slurmctld's state, pid and log in
# $state. The caller appends the slurmd files (SlurmdSpoolDir, SlurmdPidFile, SlurmdLogFile),
# TmpFS, its nodes and partition.
slurm_conf_common() {  # slurm_conf_common NAME HOST ADDR CTLD_PORT SLURMD_PORT
  cat <<EOF
ClusterName=$1
SlurmctldHost=$2($3)
SlurmctldPort=$4
SlurmdPort=$5
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$munge_socket,cred_expire=15
FirstJobId=$((1000 + RANDOM * 30))
CredType=cred/munge
MpiDefault=pmix
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
StateSaveLocation=$state/state
SlurmctldPidFile=$state/slurmctld.pid
SlurmctldLogFile=$state/slurmctld.log
EOF
}
