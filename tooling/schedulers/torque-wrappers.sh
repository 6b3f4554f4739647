#!/usr/bin/env bash
# Install SchedMD's Torque-compatible wrappers (qsub/qstat/qdel/pbsnodes over Slurm, Debian
# `slurm-wlm-torque`) into a private prefix, so the PBS driver's tests can meet this real
# site variant while Grid Engine's own qsub/qstat stay the ones on the default PATH.
#
# Usage: torque-wrappers.sh up|status|env
#   up      install into the prefix unless already there (then returns at once); after a fresh
#           install, submit one job through the wrappers' qsub to prove it reaches Slurm
#   status  exit 0 and print one line when the wrappers are installed and Slurm answers
#   env     print `export PATH=<prefix>/usr/bin:...` for the tests that use the wrappers
#
# The running Slurm comes from tooling/schedulers/slurm.sh (run its `up` first).
# Environment overrides:
#   TORQUE_WRAPPERS_PREFIX  where the package is unpacked (default /opt/cm-slurm-torque)
set -euo pipefail

readonly PREFIX=${TORQUE_WRAPPERS_PREFIX:-/opt/cm-slurm-torque}
readonly BIN=$PREFIX/usr/bin
readonly STAMP=$PREFIX/.installed-version
readonly LOCK_FILE=/run/cm-torque-wrappers.lock
readonly PACKAGE=slurm-wlm-torque
readonly PERL_DEPS=(libslurm-perl libslurmdb-perl libswitch-perl)
# qsub runs sbatch/salloc/srun from its own directory (FindBin): without these links every
# submission fails with rc 127.
readonly SLURM_TOOLS=(sbatch salloc srun)
readonly WRAPPERS=(qsub qstat qdel qalter qhold qrls qrerun pbsnodes)

log() { printf 'torque-wrappers.sh: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

need_root() {
  [[ $(id -u) -eq 0 ]] || die "must run as root"
}

take_lock() {
  exec 9>"$LOCK_FILE"
  flock -w 120 9 || die "could not take $LOCK_FILE within 120 s"
}

deps_installed() {
  local pkg status
  for pkg in "${PERL_DEPS[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || return 1
  done
}

is_installed() {
  [[ -s $STAMP ]] || return 1
  deps_installed || return 1
  local tool
  for tool in "${WRAPPERS[@]}"; do
    [[ -x $BIN/$tool ]] || return 1
  done
  for tool in "${SLURM_TOOLS[@]}"; do
    [[ -x $BIN/$tool ]] || return 1
  done
}

slurm_answers() {
  timeout 10 scontrol ping 2>/dev/null | grep -q 'is UP'
}

cmd_install() {
  need_root
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache policy "$PACKAGE" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    timeout 300 apt-get update -qq >&2 || die "apt-get update failed"
  fi
  if ! deps_installed; then
    log "installing ${PERL_DEPS[*]}"
    timeout 600 apt-get install -y -qq --no-install-recommends "${PERL_DEPS[@]}" >&2 \
      || die "apt-get install ${PERL_DEPS[*]} failed"
  fi
  local dir deb version
  dir=$(mktemp -d /tmp/cm-torque-wrappers.XXXXXX)
  # apt-get download drops privileges to _apt, which needs to write here.
  chown _apt "$dir" 2>/dev/null || true
  if ! (cd "$dir" && timeout 300 apt-get download -qq "$PACKAGE" >&2); then
    rm -rf "$dir"
    die "apt-get download $PACKAGE failed"
  fi
  deb=$(find "$dir" -maxdepth 1 -name "${PACKAGE}_*.deb" | head -n 1)
  [[ -n $deb ]] || die "apt-get download left no ${PACKAGE}_*.deb in $dir"
  version=$(dpkg-deb -f "$deb" Version)
  rm -rf "$PREFIX"
  mkdir -p "$PREFIX"
  dpkg -x "$deb" "$PREFIX" || die "dpkg -x $deb $PREFIX failed"
  rm -rf "$dir"
  local tool target
  for tool in "${SLURM_TOOLS[@]}"; do
    target=$(command -v "$tool") || die "$tool not found: install Slurm first (tooling/schedulers/slurm.sh up)"
    ln -sfn "$target" "$BIN/$tool"
  done
  printf '%s\n' "$version" >"$STAMP"
  is_installed || die "the wrappers are still incomplete in $PREFIX after installing"
  log "installed $PACKAGE $version into $PREFIX"
}

# One real job through the wrappers: qsub prints a bare Slurm id and the job writes its output.
verify() {
  slurm_answers || die "Slurm does not answer (scontrol ping); run tooling/schedulers/slurm.sh up"
  local dir id i
  dir=$(mktemp -d /tmp/cm-torque-wrappers-check.XXXXXX)
  # shellcheck disable=SC2016 # the job expands $SLURM_JOB_ID, not this script
  printf '#!/bin/bash\necho "ran $SLURM_JOB_ID"\n' >"$dir/check.sh"
  if ! id=$(cd "$dir" && PATH=$BIN:$PATH timeout 30 qsub -o "$dir/out" "$dir/check.sh" 2>&1); then
    rm -rf "$dir"
    die "qsub through the wrappers failed: $id"
  fi
  [[ $id =~ ^[0-9]+$ ]] || die "qsub through the wrappers printed '$id', not a job id"
  for ((i = 0; i < 300; i++)); do
    [[ -s $dir/out ]] && grep -q "ran $id" "$dir/out" && break
    sleep 0.1
  done
  if ! grep -q "ran $id" "$dir/out" 2>/dev/null; then
    timeout 10 scontrol show job "$id" >&2 || true
    rm -rf "$dir"
    die "job $id submitted through the wrappers did not run within 30 s"
  fi
  rm -rf "$dir"
  log "verified: wrapper qsub ran Slurm job $id"
}

status_line() {
  printf '%s %s in %s over %s\n' "$PACKAGE" "$(cat "$STAMP")" "$BIN" \
    "$(timeout 10 sinfo -V 2>/dev/null || echo 'slurm ?')"
}

cmd_status() {
  if ! is_installed; then
    echo "torque wrappers not installed in $PREFIX"
    return 1
  fi
  if ! slurm_answers; then
    echo "torque wrappers installed in $PREFIX but Slurm does not answer"
    return 1
  fi
  status_line
}

cmd_up() {
  need_root
  if is_installed && slurm_answers; then
    status_line
    return 0
  fi
  take_lock
  if ! is_installed; then
    cmd_install
    verify
  fi
  slurm_answers || die "Slurm does not answer (scontrol ping); run tooling/schedulers/slurm.sh up"
  status_line
}

cmd_env() {
  printf 'export PATH=%q\n' "$BIN:$PATH"
}

case ${1:-} in
  up) cmd_up ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *)
    echo "usage: $0 up|status|env" >&2
    exit 2
    ;;
esac
