# A real single-node Slurm (slurmctld + slurmd + munged started by the script, stopped by pid at
# the end) running scripts/slurm/*.sbatch jobs that launch dhs with srun --mpi=pmix. Needs root
# (skipped otherwise); installs slurmd slurmctld slurm-client munge when missing. About 45 s.
dhs_add_script_test(NAME engine.slurm COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm_test.sh LABELS slurm TIMEOUT 300)
set_property(TEST engine.slurm APPEND PROPERTY ENVIRONMENT "DHS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
set_property(TEST engine.slurm PROPERTY RUN_SERIAL TRUE)
set_property(TEST engine.slurm PROPERTY SKIP_RETURN_CODE 77)
