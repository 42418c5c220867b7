#!/usr/bin/env bash
# Several "hosts" on one machine, for trying dhs's multi-host runs (mpirun, Slurm) without a
# cluster: each host is a Linux network namespace with its own address on a private bridge.
#
#   scripts/netns-hosts.sh up N [SLOTS]   # N hosts dhs-h1..dhs-hN (SLOTS ranks each, default 2)
#   scripts/netns-hosts.sh down           # remove everything `up` made (safe to repeat)
#   scripts/netns-hosts.sh status         # what is up
#   scripts/netns-hosts.sh launch-line    # the mpirun line `up` printed
#
# `up` makes, for host k (10.213.47.0/24 by default):
#   - network namespace dhs-hk, loopback up, eth0 = 10.213.47.(10+k)/24 (one end of a veth pair
#     whose other end, dhs-hk-v, is a port of the bridge dhs-br0);
#   - the bridge dhs-br0 = 10.213.47.1/24 in this (the root) namespace, so that a launcher here
#     (mpirun, slurmctld) reaches the hosts and they reach it;
#   - /etc/hosts lines `10.213.47.(10+k) dhs-hk` (and `10.213.47.1 dhs-br0-host`) between marker
#     comments;
#   - in the state dir (/run/dhs-netns): hostfile (`dhs-hk slots=SLOTS`), hosts, subnet, and
#     launch (the mpirun line).
# Traffic stays on this machine: the bridge has no uplink, the namespaces have no default route,
# and nothing here enables forwarding. Processes enter a host through scripts/netns-rsh.sh (Open
# MPI's plm_rsh_agent; also by hand: `scripts/netns-rsh.sh dhs-h1 CMD`), which also gives them the
# host's name (a UTS namespace): Open MPI's node names and dhs's /provenance/run say dhs-hk.
# Every host shares this machine's file systems, as cluster nodes share a parallel one.
#
# Root only. Environment: DHS_NETNS_SUBNET (the first three octets, default 10.213.47),
# DHS_NETNS_STATE (default /run/dhs-netns). `up` refuses a subnet that an interface or route
# outside dhs-br0 already uses, and a second `up` while hosts are up (run `down` first).
set -euo pipefail
PATH="$PATH:/usr/sbin:/sbin"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
net="${DHS_NETNS_SUBNET:-10.213.47}"
state="${DHS_NETNS_STATE:-/run/dhs-netns}"
bridge=dhs-br0
gw="$net.1"
mark_begin="# >>> dhs netns-hosts (scripts/netns-hosts.sh) >>>"
mark_end="# <<< dhs netns-hosts <<<"

die() { echo "netns-hosts.sh: $*" >&2; exit 1; }
usage() { sed -n '5,8p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (ip netns, veth, bridge, /etc/hosts)"
command -v ip >/dev/null || die "no 'ip' command (Debian package iproute2)"

# /etc/hosts is rewritten in place (cat >), not replaced, since it may be a bind mount.
hosts_remove() {
  grep -qF "$mark_begin" /etc/hosts 2>/dev/null || return 0
  local t
  t="$(mktemp)"
  awk -v b="$mark_begin" -v e="$mark_end" '$0 == b {skip = 1; next} $0 == e {skip = 0; next} !skip' /etc/hosts >"$t"
  cat "$t" >/etc/hosts
  rm -f "$t"
}

our_hosts() {  # the namespaces dhs-h<k> that exist
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^dhs-h[0-9]+$' | sort -V || true
}

down() {
  local h pid
  for h in $(our_hosts); do
    # Whatever still runs in the host (a daemon a test left behind) goes with it.
    for pid in $(ip netns pids "$h" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip link del "$h-v" 2>/dev/null || true
    ip netns del "$h" 2>/dev/null || true
  done
  # veth ends left without their namespace
  for h in $(ip -o link show 2>/dev/null | sed -n 's/^[0-9]*: \(dhs-h[0-9]*-v\)@.*/\1/p'); do
    ip link del "$h" 2>/dev/null || true
  done
  ip link del "$bridge" 2>/dev/null || true
  hosts_remove
  rm -rf "$state"
}

up_failed() {  # EXIT trap of up: a failed up removes what it made
  local rc=$?
  if [ "$rc" != 0 ]; then echo "netns-hosts.sh: up failed; removing what it made" >&2; down; fi
  exit "$rc"
}

up() {
  local n="${1:-}" slots="${2:-2}" k h addr
  if ! [[ "$n" =~ ^[1-9][0-9]*$ ]] || [ "$n" -gt 200 ] || ! [[ "$slots" =~ ^[1-9][0-9]*$ ]]; then usage; fi
  [[ "$net" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "DHS_NETNS_SUBNET must be three octets (e.g. 10.213.47), not '$net'"
  if [ -n "$(our_hosts)" ] || ip link show "$bridge" >/dev/null 2>&1; then
    die "hosts are already up ($(our_hosts | tr '\n' ' ')); run '$0 down' first"
  fi
  # The subnet must be free: no address or route in it outside our bridge.
  if ip -4 -o addr show | grep -v " $bridge " | grep -qF " $net."; then
    die "$net.0/24 is already used by an interface here: $(ip -4 -o addr show | grep -F " $net." | head -n1); set DHS_NETNS_SUBNET"
  fi
  if ip -4 route show | grep -qE "^$net\.[0-9]+(/| )"; then
    die "$net.0/24 is already routed here: $(ip -4 route show | grep -E "^$net\." | head -n1); set DHS_NETNS_SUBNET"
  fi
  trap up_failed EXIT

  ip link add "$bridge" type bridge
  ip addr add "$gw/24" dev "$bridge"
  ip link set "$bridge" up
  mkdir -p "$state"
  : >"$state/hostfile"
  : >"$state/hosts"
  local etc="$mark_begin"$'\n'"$gw dhs-br0-host"
  for k in $(seq 1 "$n"); do
    h="dhs-h$k" addr="$net.$((10 + k))"
    ip netns add "$h"
    ip link add "$h-v" type veth peer name eth0 netns "$h"
    ip link set "$h-v" master "$bridge"
    ip link set "$h-v" up
    ip -n "$h" link set lo up
    ip -n "$h" addr add "$addr/24" dev eth0
    ip -n "$h" link set eth0 up
    echo "$h slots=$slots" >>"$state/hostfile"
    echo "$h $addr" >>"$state/hosts"
    etc+=$'\n'"$addr $h"
  done
  hosts_remove
  printf '%s\n%s\n' "$etc" "$mark_end" >>/etc/hosts
  echo "$net.0/24" >"$state/subnet"
  # Every host's link is up (carrier on both veth ends; well under a second).
  for k in $(seq 1 "$n"); do
    for _ in $(seq 1 50); do
      ip -n "dhs-h$k" -o link show eth0 | grep -q 'state UP' && continue 2
      sleep 0.1
    done
    die "dhs-h$k: eth0 did not come up"
  done
  cat >"$state/launch" <<EOF
mpirun --hostfile $state/hostfile --mca plm_rsh_agent $here/netns-rsh.sh --mca plm_rsh_no_tree_spawn 1 --mca oob_tcp_if_include $net.0/24 --mca btl tcp,self --mca btl_tcp_if_include $net.0/24 --mca mpi_yield_when_idle 1 --bind-to none -n $((n * slots))
EOF
  echo "netns-hosts.sh: $n hosts up on $bridge ($net.0/24), $slots slots each; hostfile $state/hostfile"
  echo "launch with (as root also OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1):"
  cat "$state/launch"
}

status() {
  local h
  if [ -z "$(our_hosts)" ]; then echo "no dhs hosts up"; return 0; fi
  for h in $(our_hosts); do
    echo "$h: $(ip -n "$h" -4 -o addr show dev eth0 2>/dev/null | awk '{print $4}') ($(ip netns pids "$h" 2>/dev/null | wc -l) processes)"
  done
  [ -f "$state/launch" ] && cat "$state/launch"
  return 0
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down; echo "netns-hosts.sh: down (no dhs hosts, bridge or /etc/hosts lines left)" ;;
  status) status ;;
  launch-line) [ -f "$state/launch" ] || die "no hosts up"; cat "$state/launch" ;;
  *) usage ;;
esac
