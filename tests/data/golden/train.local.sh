#!/bin/bash
#SBATCH --job-name=train-0001
#SBATCH --mem=68665M
#SBATCH --cpus-per-task=8
#SBATCH --time=01:00:00
#SBATCH --output=slurm-%j.log
#SBATCH --error=slurm-%j.log
#
# hpcrun run train-0001: workflow train on site local
# --mem is memory (64GB) + shm_size (8GB): Slurm has no /dev/shm option, and pages in /dev/shm count against the job's memory
set -euo pipefail

hpcrun_log() { printf '[hpcrun] %s\n' "$*" >&2; }

# sbatch is run from the run directory, so the relative log paths above land there.
hpcrun_run_dir="${SLURM_SUBMIT_DIR:-$PWD}"
export HPCRUN_RUN=train-0001
export HPCRUN_WORKFLOW=train
export RUN_NAME="$HPCRUN_RUN"
export JOB_ID="${SLURM_JOB_ID:-}"
export PYTHONUNBUFFERED=1
export INPUT_FOLDER="$hpcrun_run_dir/input"
export OUTPUT_FOLDER="$hpcrun_run_dir/output"
export HPCRUN_CHECKPOINT_DIR="$hpcrun_run_dir/checkpoint"
mkdir -p "$INPUT_FOLDER" "$OUTPUT_FOLDER" "$HPCRUN_CHECKPOINT_DIR"

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
cd src

# Virtualenv cached by Python version (the one that runs) + requirements hash. Built once under a lock and
# marked ready only when complete, so a failed or interrupted build is never reused.
hpcrun_pyver="$("$hpcrun_python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
hpcrun_env=/home/alice/.local/share/hpcrun/local/envs/"py$hpcrun_pyver"-56515f5b3cecdebe
if [ ! -e "$hpcrun_env/.hpcrun-ready" ]; then
  mkdir -p "$(dirname "$hpcrun_env")"
  exec 9>"$hpcrun_env.lock"
  flock 9
  if [ ! -e "$hpcrun_env/.hpcrun-ready" ]; then
    hpcrun_log "building Python environment $hpcrun_env"
    rm -rf "$hpcrun_env"
    if "$hpcrun_python" -m venv "$hpcrun_env" &&
      "$hpcrun_env/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r requirements.txt; then
      touch "$hpcrun_env/.hpcrun-ready"
    else
      rm -rf "$hpcrun_env"
      hpcrun_log "building the Python environment failed"
      exit 1
    fi
  fi
  exec 9>&-
else
  hpcrun_log "reusing Python environment $hpcrun_env"
fi
export VIRTUAL_ENV="$hpcrun_env"
export PATH="$hpcrun_env/bin:$PATH"
hpcrun_python="$hpcrun_env/bin/python"

# Environment from the workflow
export PYTHONPATH=.
export GREETING='it'"'"'s $HOME'

# before_run
nvidia-smi || true

hpcrun_log "starting python "train.py
exec "$hpcrun_python" train.py --epochs 10 --name 'two words'
