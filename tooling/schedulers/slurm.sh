#!/usr/bin/env bash
# Install and run a single-node Slurm 22.05 (Debian 12, root, no systemd).
#
# Usage: slurm.sh install|start|stop|status|up|restart|reconfigure
#   install  apt-get install slurm-wlm + munge (skipped when already installed)
#   start    (re)start munge, slurmctld and slurmd with a fresh state; waits for `idle`
#   stop     stop slurmd, slurmctld and munged (pid files), waits for them to exit
#   status   exit 0 and print one line when Slurm answers, non-zero otherwise
#   up       install + start, unless Slurm already answers (then returns at once)
#   reconfigure  rewrite slurm.conf and `scontrol reconfigure` (keeps jobs; no wipe)
#
# Environment overrides:
#   SLURM_READY_TIMEOUT  seconds to wait for the node to become idle (default 60)
#   SLURM_NODE_CPUS      CPUs advertised for the node (default 8)
set -euo pipefail

readonly CONF_DIR=/etc/slurm
readonly CONF_FILE=$CONF_DIR/slurm.conf
readonly LOG_DIR=/var/log/slurm
readonly CTLD_LOG=$LOG_DIR/slurmctld.log
readonly SLURMD_LOG=$LOG_DIR/slurmd.log
readonly CTLD_SPOOL=/var/spool/slurmctld
readonly SLURMD_SPOOL=/var/spool/slurmd
readonly CTLD_PID=/run/slurmctld.pid
readonly SLURMD_PID=/run/slurmd.pid
readonly MUNGE_RUN=/run/munge
readonly MUNGE_PID=$MUNGE_RUN/munged.pid
readonly MUNGE_KEY=/etc/munge/munge.key
readonly LOCK_FILE=/run/cm-slurm.lock
readonly READY_TIMEOUT=${SLURM_READY_TIMEOUT:-60}
readonly NODE_CPUS=${SLURM_NODE_CPUS:-8}

log() { printf 'slurm.sh: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

need_root() {
  [[ $(id -u) -eq 0 ]] || die "must run as root"
}

# Serialise install/start/stop/up between concurrent callers (e.g. parallel CI steps).
# The daemons are started with fd 9 closed so that they do not inherit the lock.
take_lock() {
  exec 9>"$LOCK_FILE"
  if ! flock -w 120 9; then
    die "could not take $LOCK_FILE within 120 s"
  fi
}

is_installed() {
  local pkg status
  for pkg in slurm-wlm munge; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || return 1
  done
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null
}

cmd_install() {
  need_root
  if is_installed; then
    log "slurm-wlm and munge already installed ($(slurmctld -V 2>/dev/null || echo '?'))"
    return 0
  fi
  log "installing slurm-wlm munge"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get update -qq >&2 || die "apt-get update failed"
  timeout 600 apt-get install -y -qq --no-install-recommends slurm-wlm munge >&2 \
    || die "apt-get install slurm-wlm munge failed"
  is_installed || die "slurm-wlm/munge still not installed after apt-get"
  log "installed $(slurmctld -V)"
}

# pid_alive PIDFILE NAME: the pid in PIDFILE is running and is NAME.
pid_alive() {
  local file=$1 name=$2 pid comm
  [[ -s $file ]] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [[ -n $pid ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == "$name" ]]
}

# stop_daemon PIDFILE NAME: SIGTERM, wait up to 15 s, then SIGKILL.
stop_daemon() {
  local file=$1 name=$2 pid i
  if ! pid_alive "$file" "$name"; then
    rm -f "$file"
    return 0
  fi
  pid=$(tr -dc '0-9' <"$file")
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) ignored SIGTERM for 15 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  kill -0 "$pid" 2>/dev/null && die "$name (pid $pid) would not exit"
  rm -f "$file"
}

cmd_stop() {
  need_root
  stop_daemon "$SLURMD_PID" slurmd
  stop_daemon "$CTLD_PID" slurmctld
  stop_daemon "$MUNGE_PID" munged
  log "stopped"
}

munge_ok() {
  timeout 5 munge -n 2>/dev/null | timeout 5 unmunge >/dev/null 2>&1
}

start_munge() {
  mkdir -p "$MUNGE_RUN"
  chown munge:munge "$MUNGE_RUN"
  chmod 0755 "$MUNGE_RUN"
  if [[ ! -s $MUNGE_KEY ]]; then
    log "creating $MUNGE_KEY"
    if command -v mungekey >/dev/null; then
      runuser -u munge -- mungekey --create --keyfile="$MUNGE_KEY"
    else
      dd if=/dev/urandom of="$MUNGE_KEY" bs=1 count=1024 status=none
      chown munge:munge "$MUNGE_KEY"
    fi
    chmod 0400 "$MUNGE_KEY"
  fi
  if pid_alive "$MUNGE_PID" munged && munge_ok; then
    return 0
  fi
  stop_daemon "$MUNGE_PID" munged
  timeout 10 runuser -u munge -- /usr/sbin/munged 9>&- || die "munged failed to start"
  local i
  for ((i = 0; i < 50; i++)); do
    munge_ok && return 0
    sleep 0.1
  done
  die "munge does not answer (munge -n | unmunge)"
}

write_conf() {
  local host mem_mb
  host=$(hostname -s)
  mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  [[ -n $host && $mem_mb -gt 0 ]] || die "cannot determine hostname or memory"
  mkdir -p "$CONF_DIR"
  local tmp
  tmp=$(mktemp "$CONF_DIR/slurm.conf.XXXXXX")
  cat >"$tmp" <<EOF
# Written by tooling/schedulers/slurm.sh -- single-node test cluster.
ClusterName=ci
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG_DIR/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SlurmdParameters=config_overrides
ReturnToService=2
MailProg=/bin/true
MinJobAge=300
EnforcePartLimits=ALL
StateSaveLocation=$CTLD_SPOOL
SlurmdSpoolDir=$SLURMD_SPOOL
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$CTLD_LOG
SlurmdLogFile=$SLURMD_LOG
NodeName=$host NodeAddr=127.0.0.1 CPUs=$NODE_CPUS RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
PartitionName=short Nodes=$host Default=NO MaxTime=00:10:00 State=UP
EOF
  chmod 0644 "$tmp"
  mv -f "$tmp" "$CONF_FILE"
}

dump_logs() {
  local f
  for f in "$CTLD_LOG" "$SLURMD_LOG"; do
    log "---- last lines of $f ----"
    tail -n 25 "$f" >&2 2>/dev/null || log "(no $f)"
  done
}

# State of the (single) node. sinfo -N prints one line per node *per partition*,
# so with two partitions the state appears twice: deduplicate.
node_state() {
  { timeout 10 sinfo -h -N -o %T 2>/dev/null || true; } | sort -u
}

wait_idle() {
  local deadline state=""
  deadline=$((SECONDS + READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    state=$(node_state)
    if [[ $state == idle ]]; then
      return 0
    fi
    pid_alive "$CTLD_PID" slurmctld || break
    pid_alive "$SLURMD_PID" slurmd || break
    sleep 0.2
  done
  dump_logs
  if ! pid_alive "$CTLD_PID" slurmctld; then
    die "slurmctld is not running (see logs above)"
  fi
  if ! pid_alive "$SLURMD_PID" slurmd; then
    die "slurmd is not running (see logs above)"
  fi
  die "node not idle after ${READY_TIMEOUT}s (sinfo -h -N -o %T printed: '${state}')"
}

cmd_start() {
  need_root
  is_installed || die "slurm-wlm/munge not installed; run '$0 install' first"
  # Always restart from a clean slate: a drained node state survives restarts.
  stop_daemon "$SLURMD_PID" slurmd
  stop_daemon "$CTLD_PID" slurmctld
  start_munge
  mkdir -p "$LOG_DIR" "$CTLD_SPOOL" "$SLURMD_SPOOL"
  find "$CTLD_SPOOL" "$SLURMD_SPOOL" -mindepth 1 -delete
  write_conf
  : >"$CTLD_LOG"
  : >"$SLURMD_LOG"
  log "starting slurmctld"
  if ! timeout 30 slurmctld 9>&-; then
    dump_logs
    die "slurmctld failed to start"
  fi
  log "starting slurmd"
  if ! timeout 30 slurmd 9>&-; then
    dump_logs
    die "slurmd failed to start"
  fi
  wait_idle
  log "ready: $(status_line)"
}

cmd_reconfigure() {
  need_root
  is_up || die "slurm is not running; use '$0 start'"
  write_conf
  timeout 30 scontrol reconfigure || die "scontrol reconfigure failed"
  local i state=""
  for ((i = 0; i < 50; i++)); do
    state=$(node_state)
    [[ $state =~ ^(idle|mixed|allocated|completing)$ ]] && break
    sleep 0.2
  done
  log "reconfigured: $(status_line)"
}

status_line() {
  local host ver
  host=$(hostname -s)
  ver=$(timeout 10 sinfo -V 2>/dev/null || echo 'slurm ?')
  printf '%s up: node %s %s; partitions %s\n' "$ver" "$host" "$(node_state | tr '\n' ' ' | sed 's/ $//')" \
    "$(timeout 10 sinfo -h -o '%P' 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
}

# Slurm answers: daemons alive, controller responds, node usable.
is_up() {
  pid_alive "$CTLD_PID" slurmctld || return 1
  pid_alive "$SLURMD_PID" slurmd || return 1
  timeout 10 scontrol ping 2>/dev/null | grep -q 'is UP' || return 1
  local state
  state=$(node_state)
  [[ $state =~ ^(idle|mixed|allocated|completing)$ ]]
}

cmd_status() {
  if is_up; then
    status_line
    return 0
  fi
  local state=""
  # sinfo retries for ~10 s when no controller answers: only ask a live slurmctld.
  if pid_alive "$CTLD_PID" slurmctld; then
    state=$(node_state)
  fi
  echo "slurm down (slurmctld $(pid_alive "$CTLD_PID" slurmctld && echo running || echo stopped)," \
    "slurmd $(pid_alive "$SLURMD_PID" slurmd && echo running || echo stopped)," \
    "node state '${state:-?}')"
  return 1
}

# A running Slurm has what the tests need: the partitions debug (default) and short, and
# enough CPUs on the node for `-n 8`. Prints what is missing.
missing_for_tests() {
  local parts cpus
  parts=$(timeout 10 sinfo -h -o '%P' 2>/dev/null | tr '\n' ' ')
  [[ " $parts " == *" debug* "* ]] || echo "default partition 'debug'"
  [[ " $parts " == *" short "* ]] || echo "partition 'short'"
  cpus=$(timeout 10 sinfo -h -N -o '%c' 2>/dev/null | head -n 1)
  [[ ${cpus:-0} -ge 8 ]] || echo "8 CPUs on the node (has ${cpus:-?})"
}

cmd_up() {
  need_root
  if is_installed && is_up && [[ -z $(missing_for_tests) ]]; then
    status_line
    return 0
  fi
  take_lock
  # Another caller may have brought it up while we waited for the lock.
  if is_installed && is_up; then
    local missing
    missing=$(missing_for_tests)
    if [[ -z $missing ]]; then
      status_line
      return 0
    fi
    # Running, but not as the tests need it (another configuration): rewrite ours, keep jobs.
    log "running Slurm lacks: $(echo "$missing" | paste -sd ';' -); reconfiguring"
    cmd_reconfigure
    missing=$(missing_for_tests)
    if [[ -n $missing ]]; then
      log "still missing after reconfigure: $(echo "$missing" | paste -sd ';' -); restarting"
      cmd_start
    fi
    return 0
  fi
  cmd_install
  cmd_start
}

main() {
  local cmd=${1:-}
  case $cmd in
    install)
      need_root
      take_lock
      cmd_install
      ;;
    start | restart)
      need_root
      take_lock
      cmd_start
      ;;
    stop)
      need_root
      take_lock
      cmd_stop
      ;;
    reconfigure)
      need_root
      take_lock
      cmd_reconfigure
      ;;
    status) cmd_status ;;
    up) cmd_up ;;
    *)
      echo "usage: $0 install|start|stop|status|up|restart|reconfigure" >&2
      exit 2
      ;;
  esac
}

main "$@"
