#!/bin/bash
#SBATCH --job-name=knobs-0001
#SBATCH --partition=long
#SBATCH --time=1-12:00:00
#SBATCH --account=proj42
#SBATCH --qos=high
#SBATCH --constraint=skylake&ib
#SBATCH --output=slurm-%j.log
#SBATCH --error=slurm-%j.log
#SBATCH --mail-type=END,FAIL
#SBATCH --exclude=node[01-02]
#
# hpcrun run knobs-0001: workflow knobs on site gpu-cluster
set -euo pipefail

hpcrun_log() { printf '[hpcrun] %s\n' "$*" >&2; }

# sbatch is run from the run directory, so the relative log paths above land there.
hpcrun_run_dir="${SLURM_SUBMIT_DIR:-$PWD}"
export HPCRUN_RUN=knobs-0001
export HPCRUN_WORKFLOW=knobs
export RUN_NAME="$HPCRUN_RUN"
export JOB_ID="${SLURM_JOB_ID:-}"
export PYTHONUNBUFFERED=1
export INPUT_FOLDER="$hpcrun_run_dir/input"
export OUTPUT_FOLDER="$hpcrun_run_dir/output"
export HPCRUN_CHECKPOINT_DIR="$hpcrun_run_dir/checkpoint"
mkdir -p "$INPUT_FOLDER" "$OUTPUT_FOLDER" "$HPCRUN_CHECKPOINT_DIR"

# Environment modules (module scripts read unset variables, so -u is off around them)
set +u
source /etc/profile.d/lmod.sh
module load gcc/12
module load python/3.10
set -u

# Python 3.10: the first of these that actually runs (a pyenv shim
# can exist for a version that is not installed).
hpcrun_python=""
for hpcrun_candidate in python3.10 python3; do
  if command -v "$hpcrun_candidate" >/dev/null && "$hpcrun_candidate" -c "" 2>/dev/null; then
    hpcrun_python="$(command -v "$hpcrun_candidate")"
    break
  fi
done
if [ -z "$hpcrun_python" ]; then
  hpcrun_log "neither python3.10 nor python3 runs here"
  exit 127
fi
if [ "$hpcrun_candidate" != python3.10 ]; then
  hpcrun_log "Python 3.10 is not installed here; using $("$hpcrun_python" -V 2>&1) ($hpcrun_python)"
fi

cd "$hpcrun_run_dir/code"

# commands
echo "runs for at most a day and a half"
