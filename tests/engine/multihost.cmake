# dhs across two hosts on one machine: scripts/netns-hosts.sh makes network namespaces dhs-h1 and
# dhs-h2 on a private bridge, mpirun starts its daemons in them (scripts/netns-rsh.sh as
# plm_rsh_agent); the small demo pipeline on 2 hosts x 2 ranks gives the datasets of one machine,
# and so does killing one host's ranks mid-stage and resuming on the other. Needs root and
# `ip netns` (skipped otherwise). 35-85 s on 2 cores.
dhs_add_script_test(NAME engine.multihost COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/multihost_test.sh
                    LABELS multihost TIMEOUT 300)
set_property(TEST engine.multihost APPEND PROPERTY ENVIRONMENT "DHS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
# The hosts' names (dhs-h1, ...) and bridge are machine-wide: one such test at a time, alone.
set_property(TEST engine.multihost PROPERTY RUN_SERIAL TRUE)
set_property(TEST engine.multihost PROPERTY SKIP_RETURN_CODE 77)
# A two-node Slurm on the same namespace hosts (slurmctld here, a slurmd per host):
# dhs-multi-node.sbatch with srun --mpi=pmix across both, the same datasets as one machine.
# Also needs root and `ip netns`; installs slurmd slurmctld slurm-client munge when missing.
# 30-75 s on 2 cores.
dhs_add_script_test(NAME engine.slurm_multihost COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm_multihost_test.sh
                    LABELS multihost slurm TIMEOUT 300)
set_property(TEST engine.slurm_multihost APPEND PROPERTY ENVIRONMENT "DHS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
set_property(TEST engine.slurm_multihost PROPERTY RUN_SERIAL TRUE)
set_property(TEST engine.slurm_multihost PROPERTY SKIP_RETURN_CODE 77)
