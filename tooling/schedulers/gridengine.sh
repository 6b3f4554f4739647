#!/usr/bin/env bash
# Install and run a single-node Grid Engine 8.1.9 (Debian 12 `gridengine-*`, root, no systemd)
# beside the local Slurm, so the SGE driver's tests meet the real qsub/qstat/qdel/qrsh.
#
# Usage: gridengine.sh install|start|stop|status|up|restart|env
#   install  preseed debconf + apt-get install gridengine-{master,exec,client} (skipped when
#            installed); initialises the cell if the packages were installed without it
#   start    (re)start sge_qmaster and sge_execd, apply the test configuration, delete any
#            jobs left over from before, wait until the queues accept jobs
#   stop     stop sge_execd (killing its jobs) and sge_qmaster, wait for them to exit
#   status   exit 0 and print one line when Grid Engine answers, exit 1 otherwise
#   up       install + start unless Grid Engine already answers; when it does, check the
#            configuration tests rely on (queues, PE, global/scheduler values) and fix it
#   env      print `export NAME=value` lines (SGE_ROOT, SGE_CELL, SGE_ARCH, PATH) for tests
#
# Environment overrides:
#   SGE_READY_TIMEOUT  seconds to wait for daemons and queues (default 60)
#   SGE_HOST_SLOTS     slots of the one execution host, shared by all queues (default 8)
set -euo pipefail

export SGE_ROOT=/var/lib/gridengine
export SGE_CELL=default
export SGE_ARCH=lx-amd64
# The /usr/bin/q* wrappers re-derive the environment on every call (~0.25 s each).
readonly SGE_BIN=/usr/lib/gridengine
export PATH=$SGE_BIN:$PATH
readonly COMMON=$SGE_ROOT/$SGE_CELL/common
readonly SPOOL=/var/spool/gridengine
readonly QMASTER_SPOOL=$SPOOL/qmaster
readonly EXECD_SPOOL=$SPOOL/execd
readonly QMASTER_PID=$QMASTER_SPOOL/qmaster.pid
readonly RUN_DIR=/run/gridengine
readonly LOCK_FILE=/run/cm-gridengine.lock
readonly READY_TIMEOUT=${SGE_READY_TIMEOUT:-60}
readonly HOST_SLOTS=${SGE_HOST_SLOTS:-8}
readonly PACKAGES=(gridengine-master gridengine-exec gridengine-client)
HOST=$(hostname)
readonly HOST

# execd names its spool directory after the reverse lookup of its address (here `localhost`,
# not the hostname), so find its pid file rather than assume the directory name.
execd_pid_file() {
  local f
  for f in "$EXECD_SPOOL"/*/execd.pid; do
    pid_alive "$f" sge_execd && { echo "$f"; return 0; }
  done
  echo "$EXECD_SPOOL/$HOST/execd.pid"
}

log() { printf 'gridengine.sh: %s\n' "$*" >&2; }
die() { log "error: $*" && exit 1; }
need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root"; }

# poll N CMD...: run CMD every 0.2 s, at most N times, until it succeeds.
poll() {
  local n=$1 i
  shift
  for ((i = 0; i < n; i++)); do
    "$@" && return 0
    sleep 0.2
  done
  return 1
}

# Serialise mutating subcommands between concurrent callers (e.g. parallel CI steps).
# Daemons are started with fd 9 closed so that they do not inherit the lock.
take_lock() {
  exec 9>"$LOCK_FILE"
  flock -w 180 9 || die "could not take $LOCK_FILE within 180 s"
}

# q CMD ARGS...: a Grid Engine client call, bounded (clients retry for long when qmaster is gone).
q() { timeout 20 "$@" 9>&-; }

is_installed() {
  local pkg status
  for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || return 1
  done
  [[ -x $SGE_BIN/sge_qmaster && -x $SGE_BIN/sge_execd && -s $COMMON/bootstrap ]]
}

cmd_install() {
  need_root
  if is_installed; then
    log "gridengine already installed ($(dpkg-query -W -f='${Version}' gridengine-master))"
    return 0
  fi
  log "installing ${PACKAGES[*]}"
  local key
  for key in gridengine-common gridengine-client; do
    printf '%s\n' "$key shared/gridenginemaster string $HOST" \
      "$key shared/gridenginecell string $SGE_CELL" \
      "$key shared/gridengineconfig boolean true" | debconf-set-selections
  done
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache policy gridengine-master 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    timeout 300 apt-get update -qq >&2 || die "apt-get update failed"
  fi
  timeout 600 apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >&2 \
    || die "apt-get install ${PACKAGES[*]} failed"
  if [[ ! -s $COMMON/bootstrap ]]; then
    # Installed earlier without the debconf answers: create the cell as the postinst would.
    log "initialising cell $SGE_CELL"
    timeout 120 su -s /bin/sh -c "/usr/share/gridengine/scripts/init_cluster $SGE_ROOT $SGE_CELL $SPOOL/spooldb sgeadmin" sgeadmin >&2 \
      || die "init_cluster failed"
  fi
  is_installed || die "gridengine still not installed after apt-get"
  log "installed gridengine $(dpkg-query -W -f='${Version}' gridengine-master)"
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

gone() { ! kill -0 "$1" 2>/dev/null; }

# stop_daemon PIDFILE NAME: SIGTERM, wait up to 20 s (qmaster takes 5-15 s), then SIGKILL.
stop_daemon() {
  local file=$1 name=$2 pid
  if pid_alive "$file" "$name"; then
    pid=$(tr -dc '0-9' <"$file")
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! poll 100 gone "$pid"; then
      log "$name (pid $pid) ignored SIGTERM for 20 s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      poll 25 gone "$pid" || die "$name (pid $pid) would not exit"
    fi
  fi
  rm -f "$file"
}

cmd_stop() {
  need_root
  local execd_pid
  execd_pid=$(execd_pid_file)
  if pid_alive "$execd_pid" sge_execd && pid_alive "$QMASTER_PID" sge_qmaster; then
    # -kej also kills the jobs, which a plain SIGTERM to execd would leave running.
    q qconf -kej "$HOST" >/dev/null 2>&1 || true
    poll 50 gone "$(tr -dc '0-9' <"$execd_pid")" || true
  fi
  stop_daemon "$execd_pid" sge_execd
  stop_daemon "$QMASTER_PID" sge_qmaster
  log "stopped"
}

# fail MESSAGE: print the daemons' log tails, then die.
fail() {
  local f
  for f in "$QMASTER_SPOOL/messages" "$EXECD_SPOOL"/*/messages /tmp/qmaster_messages* /tmp/execd_messages*; do
    [[ -e $f ]] || continue
    log "---- last lines of $f ----"
    tail -n 25 "$f" >&2 || true
  done
  die "$*"
}

# The files qmaster and the clients read before anything answers.
write_cell_files() {
  # The hostname resolves to 127.0.0.1, which reverse-resolves to localhost: without the
  # alias qmaster refuses every client ("client IP resolved to host name localhost").
  printf '%s localhost\n' "$HOST" >"$COMMON/host_aliases"
  printf '%s\n' "$HOST" >"$COMMON/act_qmaster"
  sed -i "s|^binary_path .*|binary_path             $SGE_BIN|" "$COMMON/bootstrap"
  chown sgeadmin:sgeadmin "$COMMON/host_aliases" "$COMMON/act_qmaster"
  chmod 0644 "$COMMON/host_aliases" "$COMMON/act_qmaster"
  mkdir -p "$RUN_DIR"
  chown sgeadmin:sgeadmin "$RUN_DIR"
}

wait_for() {
  local what=$1
  shift
  poll $((READY_TIMEOUT * 5)) "$@" || fail "$what not reached within ${READY_TIMEOUT}s"
}

qmaster_answers() { q qconf -sh >/dev/null 2>&1; }
exechost_known() { q qconf -se "$HOST" >/dev/null 2>&1; }

# differs FILE KEY VALUE...: print "key=actual (want value)" for each key whose value differs.
# qconf prints one `key value` per line; long values continue with a trailing backslash.
differs() {
  local file=$1
  shift
  awk -v want="$(printf '%s\n' "$@")" '
    BEGIN { n = split(want, w, "\n"); for (i = 1; i + 1 <= n; i += 2) { v[w[i]] = w[i + 1]; order[++k] = w[i] } }
    { line = $0; sub(/^[ \t]+/, "", line); if (cont != "") { val[cont] = val[cont] " " line } else {
        key = line; sub(/[ \t].*/, "", key); rest = line; sub(/^[^ \t]+[ \t]*/, "", rest); val[key] = rest; cont = key }
      if (val[cont] ~ /\\$/) { sub(/[ \t]*\\$/, "", val[cont]) } else { cont = "" } }
    END { for (i = 1; i <= k; i++) { key = order[i]; a = val[key]; gsub(/[ \t]+/, " ", a)
        if (a != v[key]) printf "%s=%s (want %s)\n", key, (key in val ? a : "<missing>"), v[key] } }' "$file"
}

# with_values FILE KEY VALUE...: rewrite FILE with those keys set (appended when absent).
with_values() {
  local file=$1
  shift
  awk -v want="$(printf '%s\n' "$@")" '
    BEGIN { n = split(want, w, "\n"); for (i = 1; i + 1 <= n; i += 2) { v[w[i]] = w[i + 1]; order[++k] = w[i] } }
    skip { if ($0 !~ /\\$/) skip = 0; next }
    { key = $1; if (key in v) { printf "%-20s %s\n", key, v[key]; done[key] = 1; if ($0 ~ /\\$/) skip = 1; next } print }
    END { for (i = 1; i <= k; i++) if (!(order[i] in done)) printf "%-20s %s\n", order[i], v[order[i]] }' "$file" >"$file.new"
  mv -f "$file.new" "$file"
}

# Each object: how to show it, how to load a file for it; name `global` is required by -Mconf.
show_obj() {
  case $1 in
    global) q qconf -sconf global ;;
    sched) q qconf -ssconf ;;
    hgrp) q qconf -shgrp @allhosts ;;
    pe) q qconf -sp smp ;;
    all.q | short.q) q qconf -sq "$1" ;;
    exechost) q qconf -se "$HOST" ;;
  esac
}

# The test configuration: `key value` pairs per object (a PE needs all of its keys).
# shellcheck disable=SC2016 # '$pe_slots' is Grid Engine's literal keyword
want_of() {
  local queue=(qname "$1" hostlist @allhosts load_thresholds NONE qtype 'BATCH INTERACTIVE'
    pe_list smp slots 8 shell /bin/bash tmpdir /tmp)
  case $1 in
    global) printf '%s\n' min_uid 0 min_gid 0 login_shells none ;;
    sched) printf '%s\n' schedule_interval 0:0:1 flush_submit_sec 1 flush_finish_sec 1 queue_sort_method seqno ;;
    hgrp) printf '%s\n' group_name @allhosts hostlist "$HOST" ;;
    pe) printf '%s\n' pe_name smp slots 9999 user_lists NONE xuser_lists NONE start_proc_args NONE \
      stop_proc_args NONE allocation_rule '$pe_slots' control_slaves TRUE job_is_first_task TRUE \
      urgency_slots min accounting_summary FALSE qsort_args NONE ;;
    # seq_no + queue_sort_method seqno: jobs without -q go to all.q, not to the 10-minute queue.
    all.q) printf '%s\n' "${queue[@]}" seq_no 0 h_rt INFINITY ;;
    short.q) printf '%s\n' "${queue[@]}" seq_no 1 h_rt 00:10:00 ;;
    # One pool of slots for the host, so both queues together never run more than 8 jobs.
    exechost) printf '%s\n' complex_values "slots=$HOST_SLOTS" ;;
  esac
}

readonly OBJECTS=(global sched hgrp pe all.q short.q exechost)

# Scratch directory for qconf files, removed on exit (also when `fail` exits early).
WORK=""
work_dir() {
  if [[ -z $WORK ]]; then
    WORK=$(mktemp -d /tmp/cm-gridengine.XXXXXX)
    trap 'rm -rf "$WORK"' EXIT
  fi
}

# check_obj OBJ: print what differs (or "missing"); rc 0 when it matches.
check_obj() {
  local obj=$1 dir out want=()
  work_dir
  dir=$WORK
  mapfile -t want < <(want_of "$obj")
  if ! show_obj "$obj" >"$dir/$obj.cur" 2>/dev/null; then
    echo "$obj: missing"
    return 1
  fi
  out=$(differs "$dir/$obj.cur" "${want[@]}")
  [[ -z $out ]] && return 0
  # shellcheck disable=SC2001 # prefix every line, not just the first
  sed "s/^/$obj: /" <<<"$out"
  return 1
}

fix_obj() {
  local obj=$1 dir want=() verb=M file rc=0 out
  work_dir
  dir=$WORK
  mapfile -t want < <(want_of "$obj")
  if ! show_obj "$obj" >"$dir/$obj.cur" 2>/dev/null; then
    verb=A
    case $obj in
      hgrp | pe) : >"$dir/$obj.cur" ;;
      all.q | short.q) q qconf -sq >"$dir/$obj.cur" || fail "qconf -sq (queue template) failed" ;;
      *) fail "cannot read the $obj configuration" ;;
    esac
  fi
  mkdir -p "$dir/$obj"
  file=$dir/$obj/global
  cp "$dir/$obj.cur" "$file"
  with_values "$file" "${want[@]}"
  # -A* fail when the object exists, -M* when it does not: pick by what show_obj found.
  case $obj in
    global) out=$(q qconf -Mconf "$file" 2>&1) || rc=$? ;;
    sched) out=$(q qconf -Msconf "$file" 2>&1) || rc=$? ;;
    hgrp) out=$(q qconf "-${verb}hgrp" "$file" 2>&1) || rc=$? ;;
    pe) out=$(q qconf "-${verb}p" "$file" 2>&1) || rc=$? ;;
    *.q) out=$(q qconf "-${verb}q" "$file" 2>&1) || rc=$? ;;
    exechost) out=$(q qconf -mattr exechost complex_values "slots=$HOST_SLOTS" "$HOST" 2>&1) || rc=$? ;;
  esac
  ((rc == 0)) || fail "loading the $obj configuration failed (rc $rc): $out"
  check_obj "$obj" >&2 || fail "the $obj configuration still differs after loading it"
}

# ensure_config fix|check [OBJECT...]: bring the objects (default all) to the test
# configuration, or only print what differs (rc 1 if anything does).
ensure_config() {
  local mode=$1 obj diff bad=0
  shift
  (($#)) || set -- "${OBJECTS[@]}"
  for obj in "$@"; do
    diff=$(check_obj "$obj" 2>&1) && continue
    if [[ $mode == check ]]; then
      printf '%s\n' "$diff"
      bad=1
    else
      log "fixing $(tr '\n' ';' <<<"$diff")"
      fix_obj "$obj"
    fi
  done
  return "$bad"
}

# "<queue>@<host> <state flags or ok>" per queue instance, from `qstat -f`.
queue_states() {
  q qstat -f 2>/dev/null | awk '$1 ~ /@/ { print $1, (NF >= 6 ? $6 : "ok") }'
}

queues_ready() {
  local states
  states=$(queue_states)
  [[ $states == *"all.q@$HOST ok"* && $states == *"short.q@$HOST ok"* ]]
}

# A queue left disabled (d) or in error (E, e.g. after a failed shepherd) survives restarts:
# clear and enable both queues.
heal_queues() {
  q qmod -cq all.q short.q >/dev/null 2>&1 || true
  q qmod -e all.q short.q >/dev/null 2>&1 || true
}

# Daemons start with a clean environment, as init would start them: sge_execd passes its own
# environment on to every job, so whatever the caller (CI, a developer shell) had would leak.
start_daemon() {
  local name=$1
  (cd / && exec env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 SGE_ROOT="$SGE_ROOT" \
    SGE_CELL="$SGE_CELL" timeout 30 "$SGE_BIN/$name" 9>&-) || fail "$name failed to start"
}

cmd_start() {
  need_root
  is_installed || die "gridengine not installed; run '$0 install' first"
  cmd_stop
  write_cell_files
  # Jobs of the previous run are gone with their execd; stale job directories would confuse it.
  find "$EXECD_SPOOL" -mindepth 2 -maxdepth 2 -name active_jobs -exec rm -rf {} +
  log "starting sge_qmaster"
  start_daemon sge_qmaster
  wait_for "qmaster answering qconf -sh" qmaster_answers
  # Global config (min_uid, login_shells), scheduler config and the submit host first.
  ensure_config fix global sched
  if ! q qconf -ss 2>/dev/null | grep -qx "$HOST"; then
    q qconf -as "$HOST" >&2 || fail "qconf -as $HOST failed"
  fi
  log "starting sge_execd"
  start_daemon sge_execd
  wait_for "execution host $HOST registered" exechost_known
  ensure_config fix
  # Jobs spooled before the restart would otherwise come back (some in Eqw).
  if [[ -n $(q qstat -u '*' 2>/dev/null) ]]; then
    log "deleting jobs left from before the restart"
    q qdel -f -u '*' >/dev/null 2>&1 || true
  fi
  queues_ready || heal_queues
  wait_for "queues all.q@$HOST and short.q@$HOST without state flags" queues_ready
  log "ready: $(status_line)"
}

version() {
  q qconf -help 2>/dev/null | head -n 1 || echo 'SGE ?'
}

status_line() {
  printf '%s up: qmaster %s; queues %s; pe %s\n' "$(version)" "$HOST" \
    "$(queue_states | tr '\n' ',' | sed 's/,$//; s/ ok//g')" "$(q qconf -spl 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
}

daemons_alive() {
  pid_alive "$QMASTER_PID" sge_qmaster && pid_alive "$(execd_pid_file)" sge_execd
}

is_up() {
  daemons_alive && queues_ready
}

cmd_status() {
  if is_up; then
    status_line
    return 0
  fi
  echo "gridengine down (sge_qmaster $(pid_alive "$QMASTER_PID" sge_qmaster && echo running || echo stopped)," \
    "sge_execd $(pid_alive "$(execd_pid_file)" sge_execd && echo running || echo stopped)," \
    "queues '$(pid_alive "$QMASTER_PID" sge_qmaster && queue_states | tr '\n' ',' | sed 's/,$//')')"
  return 1
}

cmd_up() {
  need_root
  if is_installed && is_up && ensure_config check >/dev/null; then
    status_line
    return 0
  fi
  take_lock
  if is_installed && daemons_alive && qmaster_answers; then
    # Running, but something (a test, an operator) changed what the tests rely on: repair
    # in place rather than restart (a restart deletes every job).
    local diff
    if ! diff=$(ensure_config check); then
      log "running but not as tests need it: $(tr '\n' ';' <<<"$diff")"
      ensure_config fix
    fi
    if ! queues_ready; then
      log "queue states: $(queue_states | tr '\n' ',' | sed 's/,$//'); clearing and enabling"
      heal_queues
      poll 25 queues_ready || true
    fi
    if is_up; then
      status_line
      return 0
    fi
    log "still not ready ($(queue_states | tr '\n' ',' | sed 's/,$//')); restarting"
  fi
  cmd_install
  cmd_start
}

cmd_env() {
  printf 'export %s=%q\n' SGE_ROOT "$SGE_ROOT" SGE_CELL "$SGE_CELL" SGE_ARCH "$SGE_ARCH" PATH "$PATH"
}

case ${1:-} in
  install) need_root && take_lock && cmd_install ;;
  start | restart) need_root && take_lock && cmd_start ;;
  stop) need_root && take_lock && cmd_stop ;;
  status) cmd_status ;;
  up) cmd_up ;;
  env) cmd_env ;;
  *) echo "usage: $0 install|start|stop|status|up|restart|env" >&2 && exit 2 ;;
esac
