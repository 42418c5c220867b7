#!/bin/sh
# Open MPI's "ssh" into the network-namespace hosts of scripts/netns-hosts.sh: mpirun's rsh
# launcher (plm_rsh_agent) calls it as it would call ssh,
#
#   netns-rsh.sh [SSH-OPTION...] HOST WORD...
#
# and it runs the words, joined by spaces as ssh joins them, with `sh -c` inside network
# namespace HOST (nsenter --net=/run/netns/HOST), in a UTS namespace of its own whose hostname is HOST,
# so that the daemon (orted), its ranks and everything they record (gethostname, Open MPI's node
# names, dhs's /provenance/run) see that host name. Open MPI quotes the words for a remote
# shell (e.g. -mca orte_hnp_uri "...;tcp://..."): `sh -c` parses that quoting exactly as the
# remote login shell would. Only the network and the host name change: not `ip netns exec`,
# whose private /sys (remounted for the namespace) has no /sys/fs/cgroup, which slurmd needs.
#
# Nothing crosses a network: the command runs on this machine, as a child of the launching
# mpirun, and inherits its whole environment (PATH, LD_LIBRARY_PATH, OMPI_*, DHS_*, ...), which
# ssh would not pass on. Root only (ip netns exec, unshare --uts).
#   scripts/netns-rsh.sh dhs-h1 hostname      # prints dhs-h1
set -eu
# ssh options Open MPI or a user might put before the host: skipped (with their values).
while [ $# -gt 0 ]; do
  case "$1" in
    -[bcDEeFIiJLlmOoPpRSWw]) shift 2 ;;   # options that take a value
    -?*) shift ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { echo "netns-rsh.sh: usage: netns-rsh.sh HOST COMMAND..." >&2; exit 255; }
host="$1"
shift
PATH="$PATH:/usr/sbin:/sbin"
[ -e "/run/netns/$host" ] || { echo "netns-rsh.sh: no network namespace '$host' (scripts/netns-hosts.sh up N)" >&2; exit 255; }
exec nsenter --net="/run/netns/$host" unshare --uts sh -c 'hostname "$1" && shift && exec sh -c "$*"' netns-rsh "$host" "$@"
