#!/bin/bash
# harness.sh -- boot a throw-away Debian bookworm container with real systemd as PID 1
# (systemd-nspawn) so the live suite can install and exercise the generated units.
#
# Usage: harness.sh SUBCOMMAND [ARGS]
#   root                      build the cached root once (rebuilt when the recipe changes)
#   boot                      boot an overlay of the cached root in the background
#   exec CMD...               run CMD inside the booted container (all namespaces)
#   copy-in HOSTFILE PATH     copy a host file to PATH inside the container
#   journal UNIT [N]          last N (50) journal lines of UNIT
#   stop                      halt the container, unmount and remove the overlay
#
# Every subcommand prints "harness: <name> <seconds>s" to stderr.
# Environment: SYNAPSE_SYSTEMD_LIVE (cache dir, default /var/tmp/synapse-systemd-live),
#              SYNAPSE_VERSION (PyPI version of matrix-synapse for the venv),
#              MIRROR (Debian mirror),
#              LIVE_INSTANCE (1-16 of [a-z0-9]; default none): which container boot/exec/
#              copy-in/journal/stop act on. Each instance has its own state dir, overlay dirs,
#              machine name and host cgroup, so several containers run side by side over the
#              one cached root (their shared read-only lower dir).
#
# Host quirks this works around (found with /work/shared/lab/synapse-nspawn.sh):
#  - host /run is not a tmpfs: nspawn refuses to clean /run/systemd/nspawn/propagate, so it
#    runs in its own mount namespace (unshare -m) with a tmpfs there;
#  - host cgroups are hybrid: SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 gives the container a pure
#    cgroup2 tree;
#  - no machined / system bus on the host: --register=no --keep-unit, and commands run via
#    nsenter into the container's init instead of machinectl;
#  - never bind host device nodes into the container, never signal PID 0 / unchecked PIDs.
set -euo pipefail
# debootstrap, chroot, nsenter live in sbin, which a caller's PATH may lack
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

CACHE=${SYNAPSE_SYSTEMD_LIVE:-/var/tmp/synapse-systemd-live}
ROOT=$CACHE/root                       # the cached, pristine root (overlay lower dir)
INSTANCE=${LIVE_INSTANCE:-}
[[ -z $INSTANCE || $INSTANCE =~ ^[a-z0-9]{1,16}$ ]] ||
  { printf 'harness: ERROR: LIVE_INSTANCE must be 1-16 of [a-z0-9]: %s\n' "$INSTANCE" >&2; exit 2; }
SUF=${INSTANCE:+-$INSTANCE}            # "" for the default instance, else -<instance>
STATE=$CACHE/state$SUF                 # this instance's files shared by separate invocations
RUNS=$CACHE/run$SUF                    # this instance's overlay run dirs: $RUNS.XXXXXX
SUITE=bookworm                         # = the host's release, so Python is 3.11 on both
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SYNAPSE_VERSION=${SYNAPSE_VERSION:-1.163.2}
MACHINE=synapse-systemd-live$SUF
CGROUP=synapse-systemd-live$SUF        # host cgroup holding nspawn (removed again by stop)
STAMP=.synapse-systemd-live-stamp
CPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf 'harness: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
took() { log "$1 $(awk -v a="$2" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')s"; }

# ------------------------------------------------------------------ root

# Synapse's shared config. No listeners (the generated conf.d file brings them), and no
# signing key: the suite proves that the first start generates it.
homeserver_yaml() {
  cat <<'EOF'
server_name: live.test
report_stats: false
signing_key_path: /etc/matrix-synapse/homeserver.signing.key
media_store_path: /var/lib/matrix-synapse/media
database:
  name: psycopg2
  args:
    user: synapse
    password: synapse
    database: synapse
    host: localhost
    cp_min: 1
    cp_max: 5
enable_registration: false
trusted_key_servers: []
suppress_key_server_warning: true
EOF
}

# Run a command in the chroot with a clean environment: the host's (REQUESTS_CA_BUNDLE,
# PIP_FIND_LINKS, ...) would point the root's tools at host paths.
inroot() {
  local r=$1
  shift
  chroot "$r" env -i PATH="$CPATH" HOME=/root LANG=C.UTF-8 "$@"
}

# The chroot gets /proc and a /dev/shm (initdb and postgres want POSIX shared memory), never
# the host's /dev: debootstrap already made the few device nodes the root needs.
chroot_mount() {
  mount -t proc proc "$1/proc"
  mount -t tmpfs -o mode=1777 tmpfs "$1/dev/shm"
}
chroot_umount() {
  # an interrupted build can leave the chroot's postgres running: end processes rooted there
  local p
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/root" 2>/dev/null) == "$1" && ${p#/proc/} -gt 1 ]] && kill -KILL "${p#/proc/}" 2>/dev/null
  done
  umount "$1/dev/shm" 2>/dev/null || true
  umount "$1/proc" 2>/dev/null || true
}

# Everything that defines the root. The text of this function (plus the versions and the
# homeserver.yaml) is hashed into the stamp, so editing the recipe rebuilds the root.
build_root() {
  local r=$1 t
  t=$(now)
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,ca-certificates,curl,procps,iproute2,adduser \
    "$SUITE" "$r" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -n 20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
  took root/debootstrap "$t"

  t=$(now)
  chroot_mount "$r"
  # policy-rc.d: package scripts must not start daemons inside the chroot
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
  chmod +x "$r/usr/sbin/policy-rc.d"
  inroot "$r" DEBIAN_FRONTEND=noninteractive apt-get install -y \
    --no-install-recommends postgresql redis-server python3-venv python3-psycopg2 \
    >"$CACHE/apt.log" 2>&1 ||
    { tail -n 20 "$CACHE/apt.log" >&2; die "apt-get install failed (log: $CACHE/apt.log)"; }
  inroot "$r" apt-get clean
  took root/packages "$t"

  # Synapse from PyPI, the way the host gets packages: the host's resolver and CA bundle
  # (pip behind this network needs that bundle). --system-site-packages lets Debian's
  # python3-psycopg2 satisfy the postgres extra (psycopg2 on PyPI is source-only).
  t=$(now)
  cp /etc/resolv.conf "$r/etc/resolv.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$r/tmp/host-ca.crt"
  inroot "$r" python3 -m venv --system-site-packages /opt/venvs/matrix-synapse
  inroot "$r" PIP_CERT=/tmp/host-ca.crt PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_DEFAULT_TIMEOUT=120 /opt/venvs/matrix-synapse/bin/pip install --no-cache-dir --quiet \
    "matrix-synapse[postgres,redis]==$SYNAPSE_VERSION" >"$CACHE/pip.log" 2>&1 ||
    { tail -n 20 "$CACHE/pip.log" >&2; die "pip install failed (log: $CACHE/pip.log)"; }
  rm -f "$r/tmp/host-ca.crt"
  # workers need the redis extra; Synapse checks it through importlib.metadata
  inroot "$r" /opt/venvs/matrix-synapse/bin/python -c \
    'from synapse.util.check_dependencies import check_requirements as c; c("postgres"); c("redis"); import psycopg2'
  took root/venv "$t"

  # The matrix-synapse user and directories, as matrix.org's package postinst makes them.
  t=$(now)
  inroot "$r" adduser --quiet --system --group --no-create-home \
    --home /var/lib/matrix-synapse matrix-synapse
  mkdir -p "$r/etc/matrix-synapse/conf.d" "$r/etc/matrix-synapse/workers" \
    "$r/var/lib/matrix-synapse" "$r/var/log/matrix-synapse"
  homeserver_yaml >"$r/etc/matrix-synapse/homeserver.yaml"
  inroot "$r" chown -R matrix-synapse:matrix-synapse /etc/matrix-synapse \
    /var/lib/matrix-synapse /var/log/matrix-synapse

  # PostgreSQL role + database, made now so every boot starts with them. pg_ctlcluster runs
  # pg_ctl directly here (no /run/systemd/system in the chroot).
  local pg
  pg=$(basename "$(ls -d "$r"/etc/postgresql/*/)")
  inroot "$r" pg_ctlcluster "$pg" main start
  inroot "$r" runuser -u postgres -- \
    psql -q -c "CREATE ROLE synapse LOGIN PASSWORD 'synapse'"
  inroot "$r" runuser -u postgres -- createdb --encoding=UTF8 \
    --lc-collate=C --lc-ctype=C --template=template0 --owner=synapse synapse
  inroot "$r" pg_ctlcluster "$pg" main stop
  rm -f "$r/usr/sbin/policy-rc.d"
  echo "$MACHINE" >"$r/etc/hostname"
  # no getty on the (read-only) console; nothing else in the container needs a TTY
  inroot "$r" systemctl mask console-getty.service getty@tty1.service >/dev/null 2>&1
  chroot_umount "$r"
  took root/provision "$t"
}

recipe_hash() {
  { declare -f build_root inroot chroot_mount homeserver_yaml; echo "$SUITE $MIRROR $SYNAPSE_VERSION"; } |
    sha256sum | cut -d' ' -f1
}

cmd_root() {
  local want have=""
  want=$(recipe_hash)
  [[ -f $ROOT/$STAMP ]] && have=$(<"$ROOT/$STAMP")
  if [[ $have == "$want" ]]; then
    log "root cached at $ROOT (recipe $want)"
    return
  fi
  local st
  for st in "$CACHE"/state "$CACHE"/state-*; do   # every instance's: they all overlay the root
    if nspawn_pid "$st" >/dev/null; then die "a container is running ($st); run stop first"; fi
  done
  log "building root at $ROOT (recipe $want${have:+, was $have})"
  mkdir -p "$CACHE"
  # build beside the final path and rename when complete: an interrupted build never looks done
  local new=$CACHE/root.new
  chroot_umount "$new"
  rm -rf "$new"
  trap 'chroot_umount "$new"' EXIT
  build_root "$new"
  trap - EXIT
  echo "$want" >"$new/$STAMP"
  rm -rf "$ROOT"
  mv "$new" "$ROOT"
  log "root size $(du -sh "$ROOT" | cut -f1)"
}

# ------------------------------------------------------------------ container

# PID of systemd-nspawn (validated: it must still be that process) of this instance (or of the
# instance whose state dir is $1), and of the container's init
nspawn_pid() {
  local pid
  pid=$(cat "${1:-$STATE}/nspawn.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ && $pid -gt 1 ]] || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == systemd-nspawn ]] || return 1
  echo "$pid"
}
init_pid() {
  local np pid
  np=$(nspawn_pid) || return 1
  pid=$(ps -o pid= --ppid "$np" | tr -d ' ' | head -n1)
  [[ $pid =~ ^[0-9]+$ && $pid -gt 1 ]] || return 1
  echo "$pid"
}
# run inside the container: all namespaces of its init, a clean environment
cin() {
  local pid
  pid=$(init_pid) || die "no container running (run boot)"
  nsenter -t "$pid" -a -- env -i PATH="$CPATH" HOME=/root LANG=C.UTF-8 \
    SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 "$@"
}

cmd_boot() {
  [[ -f $ROOT/$STAMP ]] || die "no cached root; run: $0 root"
  if nspawn_pid >/dev/null; then die "a container is already running; run stop first"; fi
  local t run
  t=$(now)
  mkdir -p "$STATE"
  # a boot that dies half-way must not leave a mount or an nspawn behind
  trap 'log "boot failed, cleaning up"; cmd_stop' EXIT
  # throw-away copy-on-write view of the cached root: every boot starts pristine
  run=$(mktemp -d "$RUNS.XXXXXX")
  mkdir "$run/upper" "$run/work" "$run/merged"
  mount -t overlay overlay -o "lowerdir=$ROOT,upperdir=$run/upper,workdir=$run/work" "$run/merged"
  echo "$run" >"$STATE/run"
  # --private-network: the container has only its own `lo`, so Synapse/PostgreSQL/Redis
  # ports never clash with the host; HTTP checks run curl inside via exec.
  # The helper shell joins a dedicated host cgroup so nspawn's payload/supervisor cgroups
  # land below it (and stop can remove them), then execs nspawn: $! is nspawn itself.
  # shellcheck disable=SC2016 # $1..$3 and $$ belong to the inner sh
  setsid unshare --mount --propagation private sh -c '
      for h in unified systemd; do
        mkdir -p "/sys/fs/cgroup/$h/$2" && echo $$ >"/sys/fs/cgroup/$h/$2/cgroup.procs"
      done
      mkdir -p /run/systemd/nspawn && mount -t tmpfs tmpfs /run/systemd/nspawn &&
      SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 exec systemd-nspawn -q -D "$1" -M "$3" --boot \
        --private-network --console=read-only --register=no --keep-unit' \
    sh "$run/merged" "$CGROUP" "$MACHINE" >"$run/console.log" 2>&1 </dev/null &
  echo $! >"$STATE/nspawn.pid"
  local state=""
  for _ in $(seq 1 100); do init_pid >/dev/null && break; sleep 0.1; done
  init_pid >/dev/null || { cat "$run/console.log" >&2; die "container did not start"; }
  # nsenter can race the container's own mount setup: retry until systemctl answers
  for _ in $(seq 1 120); do
    state=$(cin systemctl is-system-running --wait 2>/dev/null) || true
    [[ $state == running || $state == degraded ]] && break
    sleep 0.5
  done
  log "system state: ${state:-unknown}"
  if [[ $state == degraded ]]; then
    log "failed units:"
    cin systemctl --failed --no-legend --plain >&2 || true
  elif [[ $state != running ]]; then
    tail -n 30 "$run/console.log" >&2
    die "container did not reach running/degraded"
  fi
  trap - EXIT
  log "container init pid $(init_pid)"
  init_pid
  took boot "$t"
}

cmd_stop() {
  local t pid ipid run h
  t=$(now)
  if pid=$(nspawn_pid); then
    ipid=$(init_pid) || ipid=""
    kill -TERM "$pid"        # nspawn turns this into a clean halt of the container
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      log "nspawn still alive after 30s, SIGKILL"
      # killing the container's init (validated PID) ends its whole PID namespace
      [[ $ipid =~ ^[0-9]+$ && $ipid -gt 1 ]] && kill -KILL "$ipid" 2>/dev/null
      kill -KILL "$pid" 2>/dev/null
      sleep 1
    fi
  fi
  rm -f "$STATE/nspawn.pid"
  # One container per instance, so once this instance's nspawn is gone every overlay run dir
  # of this instance is stale (including ones from boots killed half-way): unmount and remove
  # them all. Other instances' run dirs ($CACHE/run-<other>.*) are not matched.
  for run in "$RUNS".*; do
    [[ -d $run ]] || continue
    if mountpoint -q "$run/merged"; then umount "$run/merged" || umount -l "$run/merged"; fi
    rm -rf "$run"
  done
  rm -f "$STATE/run"
  for h in unified systemd; do   # empty cgroups nspawn leaves behind
    [[ -d /sys/fs/cgroup/$h/$CGROUP ]] &&
      find "/sys/fs/cgroup/$h/$CGROUP" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  took stop "$t"
}

cmd_exec() {
  [[ $# -gt 0 ]] || die "usage: exec CMD..."
  local t rc=0
  t=$(now)
  cin "$@" || rc=$?
  took "exec $1" "$t"
  return "$rc"
}

# Streams the file through the container's own filesystem view (so symlinks inside the
# container resolve inside it), keeping the source's permission bits.
cmd_copy_in() {
  [[ $# -eq 2 ]] || die "usage: copy-in HOSTFILE CONTAINERPATH"
  local t mode
  t=$(now)
  [[ -f $1 ]] || die "no such file: $1"
  mode=$(stat -c %a "$1")
  # shellcheck disable=SC2016 # expanded by the sh inside the container
  cin sh -c 'mkdir -p "$(dirname "$1")" && cat >"$1" && chmod "$2" "$1"' sh "$2" "$mode" <"$1"
  took copy-in "$t"
}

cmd_journal() {
  [[ $# -ge 1 ]] || die "usage: journal UNIT [N]"
  local t
  t=$(now)
  cin journalctl -u "$1" -n "${2:-50}" --no-pager || true
  took journal "$t"
}

cmd=${1:-}
shift || true
case $cmd in
  root) cmd_root ;;
  boot) cmd_boot ;;
  exec) cmd_exec "$@" ;;
  copy-in) cmd_copy_in "$@" ;;
  journal) cmd_journal "$@" ;;
  stop) cmd_stop ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
