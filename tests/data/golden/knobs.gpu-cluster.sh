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
hpcrun_run_dir="${HPCRUN_RUN_DIR:-${SLURM_SUBMIT_DIR:-$PWD}}"
export HPCRUN_RUN=knobs-0001
export HPCRUN_WORKFLOW=knobs
export RUN_NAME="$HPCRUN_RUN"
export JOB_ID="${SLURM_JOB_ID:-}"
export PYTHONUNBUFFERED=1
export INPUT_FOLDER="$hpcrun_run_dir/input"
export OUTPUT_FOLDER="$hpcrun_run_dir/output"
export HPCRUN_CHECKPOINT_DIR="$hpcrun_run_dir/checkpoint"
mkdir -p "$INPUT_FOLDER" "$OUTPUT_FOLDER" "$HPCRUN_CHECKPOINT_DIR"
hpcrun_slurm_log="$hpcrun_run_dir/slurm-${SLURM_JOB_ID:-}.log"
export HPCRUN_RESTART_COUNT="${SLURM_RESTART_COUNT:-0}"
# where this attempt's part of the appended log begins (slurmstepd writes why it ended there)
hpcrun_log_offset="$(stat -c %s "$hpcrun_slurm_log" 2>/dev/null || echo 0)"
hpcrun_attempt=$((HPCRUN_RESTART_COUNT + 1))
hpcrun_attempts="$hpcrun_run_dir/.attempts"
hpcrun_previous=""
if [ -s "$hpcrun_attempts" ]; then
  hpcrun_last="$(tail -n 1 "$hpcrun_attempts")"
  case "$hpcrun_last" in
    *$'\t'ended$'\t'*) hpcrun_previous="$(printf '%s' "$hpcrun_last" | cut -f 3)" ;;
    *) hpcrun_previous="killed before it could say why (preempted, node failure or time limit)" ;;
  esac
fi
printf '%s\tstarted\t%s\t%s\n' "$hpcrun_attempt" "$(date -u +%FT%TZ)" "${SLURM_JOB_ID:-}" >>"$hpcrun_attempts"
hpcrun_log "attempt $hpcrun_attempt started${hpcrun_previous:+ (previous attempt ended: $hpcrun_previous)}"
# A program that completed within a preemption's GraceTime still has its job requeued by
# Slurm: this job's previous attempt said "completed, exit 0", so there is nothing to run.
case "${hpcrun_last:-}" in
  *$'\t'ended$'\t'completed$'\t'0$'\t'*) hpcrun_completed=1 ;;
  *) hpcrun_completed=0 ;;
esac
if [ "$HPCRUN_RESTART_COUNT" -gt 0 ] && [ "$hpcrun_completed" = 1 ] &&
  [ "$(grep -a $'\tstarted\t' "$hpcrun_attempts" | tail -n 2 | head -n 1 | cut -f 4)" = "${SLURM_JOB_ID:-}" ]; then
  printf '%s\tended\tcompleted\t0\t%s\n' "$hpcrun_attempt" "$(date -u +%FT%TZ)" >>"$hpcrun_attempts"
  hpcrun_log "attempt $hpcrun_attempt ended: completed (exit 0): the program had completed in attempt $((hpcrun_attempt - 1)); Slurm requeued the job after that (a preemption during its grace time), so it is not run again"
  exit 0
fi

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

hpcrun_child=""
hpcrun_signal=""
hpcrun_trapped=0
hpcrun_ended=""
hpcrun_forward() {
  hpcrun_signal="$1"
  hpcrun_trapped=1
  hpcrun_log "attempt $hpcrun_attempt: received SIG$1 after $SECONDS s; passing it to the program"
  if [ -n "$hpcrun_child" ]; then
    kill -s "$1" -- "-$hpcrun_child" 2>/dev/null || kill -s "$1" "$hpcrun_child" 2>/dev/null || true
  fi
}
# Every signal hpcrun may send (the site's warning, `hpcrun cancel --signal`) and SIGTERM.
for hpcrun_sig in USR1 USR2 TERM INT HUP URG XCPU; do
  trap "hpcrun_forward $hpcrun_sig" "$hpcrun_sig"
done
# A trap interrupts `wait` (status > 128) while the program runs on: wait again. A status
# already collected is not collected twice (127 then): keep the first.
hpcrun_wait() {
  local code
  hpcrun_code=""
  while :; do
    hpcrun_trapped=0
    code=0
    wait "$hpcrun_child" 2>/dev/null || code=$?
    if [ "$code" = 127 ] && [ -n "$hpcrun_code" ]; then break; fi
    hpcrun_code=$code
    if [ "$hpcrun_trapped" = 0 ] || [ "$code" -le 128 ]; then break; fi
  done
}
# Why the attempt ended: exit 0 is "finished", whatever signal came before. After a signal,
# Slurm says whether it was a preemption (PreemptTime, or its restart count went up), and
# slurmstepd's line in this attempt's part of the log tells a time limit from a cancel.
hpcrun_slurm_restarts=""
hpcrun_why() {
  local info said
  if [ "$1" = 0 ]; then
    hpcrun_ended=completed
    return 0
  elif [ -z "$hpcrun_signal" ]; then
    hpcrun_ended=failed
    return 0
  fi
  info="$(scontrol show job -o "$SLURM_JOB_ID" 2>/dev/null || true)"
  hpcrun_slurm_restarts="$(printf '%s' "$info" | sed -n 's/.*[[:space:]]Restarts=\([0-9]*\).*/\1/p')"
  said="$(tail -c +$((hpcrun_log_offset + 1)) "$hpcrun_slurm_log" 2>/dev/null | grep -a 'CANCELLED AT' | tail -n 1 || true)"
  if [ "${hpcrun_slurm_restarts:-0}" -gt "$HPCRUN_RESTART_COUNT" ] || [[ "$said" == *"DUE TO PREEMPTION"* ]] ||
    [[ "$info" == *" PreemptTime="* && "$info" != *" PreemptTime=None"* ]]; then
    hpcrun_ended=preempted
  elif [[ "$said" == *"DUE TO TIME LIMIT"* ]]; then
    hpcrun_ended="time limit"
  elif [ -n "$said" ]; then
    hpcrun_ended=cancelled
  elif [ "$hpcrun_signal" != TERM ] && [ "$SECONDS" -ge 129540 ]; then
    # the warning, 0 s before the limit (Slurm may send it up to 60 s early)
    hpcrun_ended="time limit"
  else
    hpcrun_ended="stopped by SIG$hpcrun_signal"
  fi
}
# The program is done: record why, maybe requeue, and exit with its status.
hpcrun_finish() {
  local code=$1 why
  trap - USR1 USR2 TERM INT HUP URG XCPU
  hpcrun_why "$code"
  why="$hpcrun_ended"
  printf '%s\tended\t%s\t%s\t%s\n' "$hpcrun_attempt" "$why" "$code" "$(date -u +%FT%TZ)" >>"$hpcrun_attempts"
  hpcrun_log "attempt $hpcrun_attempt ended: $why (exit $code)"
  exit "$code"
}
# The program: a child in its own process group (set -m), so that a forwarded signal
# reaches all of it and the batch shell lives on to record how it ended.
set -m
(
  set +m
  # commands
echo "runs for at most a day and a half"
) &
hpcrun_child=$!
set +m
hpcrun_wait
hpcrun_finish "$hpcrun_code"
