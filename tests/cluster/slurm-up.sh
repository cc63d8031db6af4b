#!/usr/bin/env bash
# Bring up a real single-node SLURM on this machine for the cluster tests
# (tests/test_cluster.py), from Debian's packages, without systemd.
#
#   bash tests/cluster/slurm-up.sh                 # install (as root) and start
#   bash tests/cluster/slurm-up.sh --install-only  # only apt-get install (CI)
#   bash tests/cluster/slurm-down.sh               # stop what this script started
#
# Idempotent: a cluster that already answers is left alone (exit 0), and daemons
# that already run are not started twice. Exit codes: 0 up; 2 cannot (not root, no
# apt-get, packages missing); 1 a daemon did not come up (logs are printed).
#
# Layout (all fixed paths; the jobstep plugin strips SLURM_* from the job
# environment, so SLURM_CONF cannot point elsewhere):
#   /etc/slurm/slurm.conf, /etc/slurm/slurmdbd.conf   written here, each run
#   /run/munge/munge.socket.2                         munged's default socket
#   /run/slurm-test/                                  pid files, started.list, mode
#   /var/log/slurm-test/                              daemon logs (+ jobcomp.txt)
#   /var/spool/slurm-test/                            slurmctld state, slurmd spool
#
# Accounting: slurmdbd + MariaDB (sacct lists jobs with their requested memory
# and CPUs). SLURM_TEST_ACCOUNTING=none, or a slurmdbd/MariaDB that does not come
# up, falls back to AccountingStorageType=accounting_storage/none with
# JobCompType=jobcomp/filetxt (/var/log/slurm-test/jobcomp.txt); then use
# `--slurm-status-command squeue`. The mode in force is in /run/slurm-test/mode.
set -euo pipefail

RUN=/run/slurm-test
LOG=/var/log/slurm-test
SPOOL=/var/spool/slurm-test
CLUSTER=aihatest
PARTITION=debug
NODE=localhost
ACCOUNT=aiha
PACKAGES=(slurm-wlm slurm-client munge)
DBD_PACKAGES=(slurmdbd mariadb-server)
want_accounting=${SLURM_TEST_ACCOUNTING:-dbd}   # dbd | none

say() { echo "slurm-up: $*" >&2; }

cluster_answers() {
  command -v scontrol >/dev/null && command -v sinfo >/dev/null || return 1
  timeout 10 scontrol ping 2>/dev/null | grep -q "is UP" || return 1
  local state
  state=$(timeout 10 sinfo -h -n "$NODE" -o %t 2>/dev/null | head -1)
  case "$state" in idle|mix|alloc|comp) return 0 ;; *) return 1 ;; esac
}

install_packages() {
  local need=() p
  for p in "${PACKAGES[@]}" "${DBD_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "need ${need[*]} but cannot install them (not root or no apt-get)"
    return 2
  fi
  say "apt-get install ${need[*]}"
  # policy-rc.d keeps the packages from starting services (there is no systemd
  # here, and the daemons are started below with this test configuration).
  local policy=/usr/sbin/policy-rc.d made_policy=
  if [ ! -e $policy ]; then
    printf '#!/bin/sh\nexit 101\n' >$policy && chmod +x $policy && made_policy=1
  fi
  local rc=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${need[@]}"; } >"${TMPDIR:-/tmp}/slurm-up-apt.log" 2>&1 || rc=$?
  [ -n "$made_policy" ] && rm -f $policy
  if [ $rc -ne 0 ]; then
    tail -20 "${TMPDIR:-/tmp}/slurm-up-apt.log" >&2
    # The accounting packages are optional: go on without them if the core is there.
    for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || return 2; done
    say "accounting packages not installed; falling back to accounting_storage/none"
  fi
}

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

mark_started() { grep -qx "$1" "$RUN/started.list" 2>/dev/null || echo "$1" >>"$RUN/started.list"; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2 i
  shift 2
  for ((i = 0; i < secs * 4; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  say "$what did not come up within ${secs}s"
  return 1
}

show_logs() {
  local f
  for f in "$LOG"/*.log; do
    [ -f "$f" ] || continue
    echo "----- $f (last 30 lines)" >&2
    tail -30 "$f" >&2
  done
}

start_munge() {
  [ -s /etc/munge/munge.key ] || { mungekey --create --keyfile=/etc/munge/munge.key &&
    chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key; }
  install -d -o munge -g munge -m 0755 /run/munge
  if ! { pid_alive /run/munge/munged.pid && munge -n </dev/null | unmunge >/dev/null 2>&1; }; then
    runuser -u munge -- /usr/sbin/munged --force
    mark_started munged
  fi
  wait_for 10 munged sh -c 'munge -n </dev/null | unmunge'
}

start_mariadb() {
  install -d -o mysql -g mysql -m 0755 /run/mysqld
  if [ ! -d /var/lib/mysql/mysql ]; then
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >"$LOG/mariadb-install.log" 2>&1
  fi
  if ! pid_alive /run/mysqld/mysqld.pid; then
    # Socket only: slurmdbd reaches it as StorageHost=localhost.
    setsid /usr/sbin/mariadbd --user=mysql --datadir=/var/lib/mysql --skip-networking \
      --socket=/run/mysqld/mysqld.sock --pid-file=/run/mysqld/mysqld.pid \
      --innodb-buffer-pool-size=256M --innodb-lock-wait-timeout=900 \
      --log-error="$LOG/mariadb.log" </dev/null >/dev/null 2>&1 &
    mark_started mariadbd
  fi
  wait_for 60 MariaDB mariadb-admin --socket=/run/mysqld/mysqld.sock ping
}

write_slurmdbd_conf() {
  local pass
  pass=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
  mariadb --socket=/run/mysqld/mysqld.sock -uroot <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$pass';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
SQL
  umask 077
  cat >/etc/slurm/slurmdbd.conf <<EOF
# Written by tests/cluster/slurm-up.sh: test cluster on localhost only.
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
LogFile=$LOG/slurmdbd.log
PidFile=$RUN/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=$pass
StorageLoc=slurm_acct_db
EOF
  umask 022
  chmod 0600 /etc/slurm/slurmdbd.conf
}

start_slurmdbd() {
  if pid_alive "$RUN/slurmdbd.pid"; then
    # A running slurmdbd keeps its old database password: restart it.
    kill "$(cat "$RUN/slurmdbd.pid")" 2>/dev/null || true
    wait_for 20 "slurmdbd stop" sh -c "! kill -0 $(cat "$RUN/slurmdbd.pid") 2>/dev/null"
  fi
  /usr/sbin/slurmdbd
  mark_started slurmdbd
  wait_for 30 slurmdbd sacctmgr -n list cluster
}

register_accounting() {
  sacctmgr -i add cluster "$CLUSTER" >/dev/null 2>&1 || true
  sacctmgr -i add account "$ACCOUNT" Cluster="$CLUSTER" \
    Description="cluster tests" Organization=aiha >/dev/null 2>&1 || true
  sacctmgr -i add user "$(id -un)" Account="$ACCOUNT" DefaultAccount="$ACCOUNT" \
    Cluster="$CLUSTER" >/dev/null 2>&1 || true
  sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"
}

write_slurm_conf() {
  local mode=$1 hw cpus boards sockets cores threads mem
  hw=$(slurmd -C | head -1)
  field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$hw"; }
  cpus=$(field CPUs) boards=$(field Boards) sockets=$(field SocketsPerBoard)
  cores=$(field CoresPerSocket) threads=$(field ThreadsPerCore) mem=$(field RealMemory)
  local acct
  if [ "$mode" = dbd ]; then
    acct="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
JobCompType=jobcomp/none"
  else
    acct="AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG/jobcomp.txt"
  fi
  cat >/etc/slurm/slurm.conf <<EOF
# Written by tests/cluster/slurm-up.sh: a single-node test cluster on 127.0.0.1.
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
ReturnToService=2
SlurmctldPort=6817
SlurmdPort=6818
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmdSpoolDir=$SPOOL/slurmd
StateSaveLocation=$SPOOL/slurmctld
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
JobAcctGatherType=jobacct_gather/linux
# Sample each task every second: the demo jobs last seconds (sacct MaxRSS).
JobAcctGatherFrequency=task=1
# sacct -o Comment shows the plugin's rule_<name>_wildcards_<...> comment.
AccountingStoreFlags=job_comment
$acct
# squeue keeps finished jobs this long (status checks without slurmdbd).
MinJobAge=600
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus Boards=$boards SocketsPerBoard=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  chmod 0644 /etc/slurm/slurm.conf
}

start_slurm() {
  if ! pid_alive "$RUN/slurmctld.pid"; then
    /usr/sbin/slurmctld
    mark_started slurmctld
  else
    scontrol reconfigure >/dev/null 2>&1 || true
  fi
  wait_for 30 slurmctld sh -c 'scontrol ping | grep -q "is UP"'
  if ! pid_alive "$RUN/slurmd.pid"; then
    /usr/sbin/slurmd -N "$NODE"
    mark_started slurmd
  fi
  local i state
  for ((i = 0; i < 120; i++)); do
    state=$(sinfo -h -n "$NODE" -o %t 2>/dev/null | head -1)
    case "$state" in
      idle|mix|alloc) return 0 ;;
      drain*|down*|drng*|fail*) scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 0.25
  done
  say "node $NODE not ready (state: ${state:-none})"
  sinfo -R >&2 || true
  return 1
}

# --------------------------------------------------------------------------
install_only=
[ "${1:-}" = --install-only ] && install_only=1

if [ -z "$install_only" ] && cluster_answers; then
  say "SLURM already up (partition: $(sinfo -h -o %P | head -1 | tr -d '*'))"
  exit 0
fi
if [ -z "$install_only" ] && [ "$(id -u)" != 0 ]; then
  say "not root: cannot start SLURM here"
  exit 2
fi
install_packages || exit $?
[ -n "$install_only" ] && exit 0
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || { say "package $p missing"; exit 2; }
done

start=$(date +%s)
install -d -m 0755 "$RUN" "$LOG" "$SPOOL/slurmd" "$SPOOL/slurmctld" /etc/slurm
touch "$RUN/started.list"

start_munge || { show_logs; exit 1; }

mode=none
if [ "$want_accounting" = dbd ] && dpkg -s slurmdbd >/dev/null 2>&1 &&
  dpkg -s mariadb-server >/dev/null 2>&1; then
  # sacctmgr finds slurmdbd through slurm.conf: write that first.
  write_slurm_conf dbd
  if start_mariadb && write_slurmdbd_conf && start_slurmdbd && register_accounting; then
    mode=dbd
  else
    say "slurmdbd/MariaDB did not come up; falling back to accounting_storage/none"
    show_logs
  fi
fi
if [ "$mode" != "$(cat "$RUN/mode" 2>/dev/null || true)" ] && pid_alive "$RUN/slurmctld.pid"; then
  # Switching accounting mode needs a fresh slurmctld.
  kill "$(cat "$RUN/slurmctld.pid")" 2>/dev/null || true
  wait_for 20 "slurmctld stop" sh -c "! kill -0 $(cat "$RUN/slurmctld.pid") 2>/dev/null" || true
fi
write_slurm_conf "$mode"
echo "$mode" >"$RUN/mode"
start_slurm || { show_logs; exit 1; }

say "SLURM up in $(($(date +%s) - start))s: partition $PARTITION, accounting $mode"
