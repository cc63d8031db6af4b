#!/usr/bin/env bash
# Stop the test SLURM that tests/cluster/slurm-up.sh started: only the daemons
# listed in /run/slurm-test/started.list, each by the PID in its pid file
# (never by name). Idempotent: nothing started, nothing to do.
set -uo pipefail

RUN=/run/slurm-test
say() { echo "slurm-down: $*" >&2; }

# The test slurm.conf goes too: with it in place but no slurmctld answering, every
# SLURM client (and so every snakemake start-up, through the SLURM executor
# plugin's `scontrol show config`) waits about 10 s for a timeout.
remove_test_conf() {
  if grep -qs "^# Written by tests/cluster/slurm-up.sh" /etc/slurm/slurm.conf; then
    rm -f /etc/slurm/slurm.conf && say "removed the test /etc/slurm/slurm.conf"
  fi
}

[ -f "$RUN/started.list" ] || { remove_test_conf; say "nothing to stop"; exit 0; }

pidfile_of() {
  case "$1" in
    slurmd) echo "$RUN/slurmd.pid" ;;
    slurmctld) echo "$RUN/slurmctld.pid" ;;
    slurmdbd) echo "$RUN/slurmdbd.pid" ;;
    mariadbd) echo /run/mysqld/mysqld.pid ;;
    munged) echo /run/munge/munged.pid ;;
  esac
}

stop() {  # stop NAME: SIGTERM the PID of its pid file, wait, then SIGKILL
  local name=$1 file pid i
  grep -qx "$name" "$RUN/started.list" || return 0
  file=$(pidfile_of "$name")
  if [ -s "$file" ]; then
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      for ((i = 0; i < 80; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
      done
      if kill -0 "$pid" 2>/dev/null; then
        say "$name ($pid) still running after 20s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null
      fi
      say "stopped $name ($pid)"
    fi
  fi
  sed -i "/^$name\$/d" "$RUN/started.list"
}

# Jobs still queued or running (test leftovers) go first.
if command -v squeue >/dev/null && timeout 10 scontrol ping 2>/dev/null | grep -q "is UP"; then
  jobs=$(timeout 10 squeue -h -o %i 2>/dev/null || true)
  [ -n "$jobs" ] && { say "cancelling jobs: $(echo $jobs)"; scancel $jobs 2>/dev/null; sleep 1; }
fi

for daemon in slurmd slurmctld slurmdbd mariadbd munged; do
  stop "$daemon"
done
[ -s "$RUN/started.list" ] || { rm -f "$RUN/started.list" "$RUN/mode"; remove_test_conf; }
exit 0
