import { CronExpressionParser } from "cron-parser";
import { frontRuntimeApiPort, frontServerNamePrefix } from "./frontConfig";
import { registryDataDir, registryConfigDir, registryDebugPort, registryDrainSeconds } from "./registryConfig";

/** Name of the maintenance script installed on the Docker host for a registry container. */
export function maintenanceScriptName(containerName: string): string {
    return `private-registry-maintenance-${containerName}`;
}

/** What the maintenance script works on. */
export interface MaintenanceScriptOptions {
    /** The writable registry container; with replicas, the first. The script, its lock and its backups are named after it. */
    readonly primaryContainer: string;
    /** The other writable replicas, in the order of the front's servers. Default: none. */
    readonly replicaContainers?: readonly string[];
    /** A Redis container holding the registries' blob descriptors, restarted (it keeps nothing on disk) before they start again. Default: none. */
    readonly cacheContainer?: string;
    /** The read-only standby container, created stopped. */
    readonly standbyContainer: string;
    /** The front (HAProxy) container, whose runtime API moves connections between the two. */
    readonly frontContainer: string;
    /** The data volume both mount; empty when the data is in S3 and no volume is mounted. */
    readonly dataVolume: string;
    /** The writable registry's config volume (garbage-collect reads its config.yml). */
    readonly configVolume: string;
    /** Registry image reference, for one-off containers when no registry container exists (restore after a destroy). */
    readonly image: string;
    /** Absolute directory on the host that backups are written to. */
    readonly backupDir: string;
    /** Backups kept; older ones are removed after each successful backup. */
    readonly backupRetention: number;
    /** Numeric user:group the registry runs as; it owns the data. */
    readonly registryUser: string;
    /** Also delete manifests that no tag references (distribution's --delete-untagged). */
    readonly gcDeleteUntagged: boolean;
    /** The registry keeps its data in S3: gc reaches it over this Docker network, and backup and restore are the object store's own business. Default: none, the data volume. */
    readonly objectStorageNetwork?: string;
}

/** The two scheduled jobs, as five-field cron schedules; empty schedules none. */
export interface MaintenanceSchedules {
    /** When `gc` runs. */
    readonly gc: string;
    /** When `backup` runs. */
    readonly backup: string;
}

const cronMacros = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
const numericCronField = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$/;
const cronFieldNames = ["minute", "hour", "day of month", "month", "day of week"];

/**
 * Why a schedule is not one cron runs as written, or undefined. Five fields of numbers, `*`,
 * ranges, steps and lists (a field may also be one month or weekday name), or a macro such as
 * @daily. cron-parser checks the ranges; extensions cron lacks (seconds, L, W, ?, #, H) are refused.
 */
export function cronScheduleProblem(schedule: string): string | undefined {
    const trimmed = schedule.trim();
    if (cronMacros.includes(trimmed)) return undefined;
    if (trimmed.startsWith("@")) return `"${schedule}" is not one of cron's macros (${cronMacros.join(", ")})`;
    const fields = trimmed.split(/\s+/);
    if (fields.length !== 5) {
        return `"${schedule}" has ${fields.length} field${fields.length === 1 ? "" : "s"}; cron takes five (minute hour day-of-month month day-of-week)`;
    }
    for (const [i, field] of fields.entries()) {
        const isName = (i === 3 || i === 4) && /^[A-Za-z]{3}$/.test(field);
        if (!isName && !numericCronField.test(field)) return `the ${cronFieldNames[i]} field "${field}" is not numbers, *, ranges, steps and lists`;
    }
    try {
        CronExpressionParser.parse(trimmed);
    } catch (err) {
        return `"${schedule}": ${(err as Error).message}`;
    }
    return undefined;
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The maintenance script: `gc`, `backup`, `restore <archive>` and `list`. It needs only a shell
 * and the docker CLI on the host (its work runs in one-off containers of the registry image),
 * so it runs as any user Docker lets in. A gc or backup runs in a window in which the writable
 * registry is stopped and a read-only standby serves pulls: the script starts the standby, waits
 * until the front sees it healthy, puts the writable registry in maintenance through the front's
 * runtime API (new connections go to the standby; a failing health check instead would make the
 * registry answer 503 to everything at once), stops it (requests in flight finish), does the
 * work, and reverses it all, also when the work fails. Restarting the writable registry also
 * empties its blob descriptor cache, which would otherwise claim collected blobs still exist.
 */
export function renderMaintenanceScript(o: MaintenanceScriptOptions): string {
    const archivePattern = `${o.primaryContainer}-[0-9]{8}T[0-9]{6}Z\\.tar\\.gz`;
    return `#!/bin/sh
# Maintenance of the private registry in container ${o.primaryContainer}; written by pulumi up (edits are overwritten).
# Usage: ${maintenanceScriptName(o.primaryContainer)} gc | backup | restore <archive> | list
# The quoted scripts run inside one-off containers, with their own arguments.
# shellcheck disable=SC2016
set -eu
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
PRIMARY=${shellQuote(o.primaryContainer)}
WRITABLE=${shellQuote([o.primaryContainer, ...(o.replicaContainers ?? [])].join(" "))}
CACHE=${shellQuote(o.cacheContainer ?? "")}
STANDBY=${shellQuote(o.standbyContainer)}
FRONT=${shellQuote(o.frontContainer)}
DATA_VOLUME=${shellQuote(o.dataVolume)}
CONFIG_VOLUME=${shellQuote(o.configVolume)}
REGISTRY_IMAGE=${shellQuote(o.image)}
REGISTRY_USER=${shellQuote(o.registryUser)}
BACKUP_DIR=\${PRIVATE_REGISTRY_BACKUP_DIR:-${shellQuote(o.backupDir)}}
RETENTION=${o.backupRetention}
GC_FLAGS=${shellQuote(o.gcDeleteUntagged ? "--delete-untagged" : "")}
OBJECT_STORAGE_NETWORK=${shellQuote(o.objectStorageNetwork ?? "")}
ARCHIVE_PATTERN=${shellQuote(`^${archivePattern}$`)}
DRAIN_SECONDS=${registryDrainSeconds + 10}
LOCK_WAIT_SECONDS=\${PRIVATE_REGISTRY_LOCK_WAIT_SECONDS:-3600}
LOCK_DIR="\${TMPDIR:-/tmp}/${maintenanceScriptName(o.primaryContainer)}.lock"
PROG=$(basename "$0")
WINDOW_OPEN=0
LOCKED=0
IMAGE=

say() { printf '%s %s: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$PROG" "$*"; }
fail() { say "error: $*" >&2; exit 1; }
exists() { docker container inspect "$1" >/dev/null 2>&1; }
running() { [ "$(docker container inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }

# The writable registry's own image, else the configured one (by digest, else by its tag).
registry_image() {
  if exists "$PRIMARY"; then docker container inspect -f '{{.Image}}' "$PRIMARY"; return; fi
  if exists "$STANDBY"; then docker container inspect -f '{{.Image}}' "$STANDBY"; return; fi
  if docker image inspect "$REGISTRY_IMAGE" >/dev/null 2>&1; then echo "$REGISTRY_IMAGE"; return; fi
  if docker image inspect "\${REGISTRY_IMAGE%@*}" >/dev/null 2>&1; then echo "\${REGISTRY_IMAGE%@*}"; return; fi
  echo "$REGISTRY_IMAGE"
}

# A one-off container on network $1 ("none" but for gc on S3), with no capabilities but those added in the rest.
oneoff() {
  network=$1
  shift
  docker run --rm --network "$network" --security-opt no-new-privileges:true --cap-drop ALL "$@"
}

lock() {
  waited=0
  until mkdir "$LOCK_DIR" 2>/dev/null; do
    holder=$(cat "$LOCK_DIR/pid" 2>/dev/null || true)
    if [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null; then
      say "removing the lock of process $holder, which has ended"
      rm -rf "$LOCK_DIR"
      continue
    fi
    [ "$waited" -lt "$LOCK_WAIT_SECONDS" ] || fail "another maintenance run (process $holder) holds $LOCK_DIR; gave up after $LOCK_WAIT_SECONDS s"
    sleep 5
    waited=$((waited + 5))
  done
  echo $$ >"$LOCK_DIR/pid"
  LOCKED=1
  # A run that was killed may have left the writable registries out of the front's rotation.
  if running "$FRONT"; then set_writable_state ready >/dev/null 2>&1 || true; fi
}

unlock() {
  if [ "$LOCKED" = 1 ]; then rm -rf "$LOCK_DIR"; LOCKED=0; fi
}

front_api() {
  echo "$1" | docker exec -i "$FRONT" nc 127.0.0.1 ${frontRuntimeApiPort}
}

# The front's server of each writable registry, in WRITABLE's order: "<server> <container>" lines.
writable_servers() {
  i=0
  for c in $WRITABLE; do
    i=$((i + 1))
    echo "${frontServerNamePrefix}$i $c"
  done
}

set_writable_state() {
  writable_servers | while read -r server _; do
    front_api "set server registry/$server state $1" >/dev/null || exit 1
  done
}

# Waits until the front's health checks find the server UP (operational state 2).
wait_front_up() {
  for _ in $(seq 1 60); do
    if front_api "show servers state $1" 2>/dev/null | awk -v s="$2" '$4 == s && $6 == 2 { found = 1 } END { exit !found }'; then return 0; fi
    sleep 1
  done
  return 1
}

wait_healthy() {
  for _ in $(seq 1 60); do
    if docker exec "$1" wget -q -O /dev/null http://127.0.0.1:${registryDebugPort}/debug/health 2>/dev/null; then return 0; fi
    sleep 1
  done
  return 1
}

window_begin() {
  for c in $WRITABLE; do
    running "$c" || fail "the registry container $c is not running; start it (pulumi up) first"
  done
  exists "$STANDBY" || fail "the standby container $STANDBY does not exist; run pulumi up with maintenanceEnabled true"
  WINDOW_OPEN=1
  say "starting the read-only standby $STANDBY"
  docker start "$STANDBY" >/dev/null
  wait_healthy "$STANDBY" || fail "the standby $STANDBY did not become healthy within 60 s (docker logs $STANDBY)"
  wait_front_up standby standby || fail "the front $FRONT does not see the standby $STANDBY healthy (docker logs $FRONT)"
  set_writable_state maint
  # shellcheck disable=SC2086 # one argument per container; names have no spaces
  docker stop -t "$DRAIN_SECONDS" $WRITABLE >/dev/null
  # Said only now: until the registry has stopped, a kept-alive connection can still reach it.
  say "read-only window: the front sends every connection to the standby; pushes are refused until the window ends"
}

window_end() {
  [ "$WINDOW_OPEN" = 1 ] || return 0
  WINDOW_OPEN=0
  status=0
  if [ -n "$CACHE" ]; then
    # Before any registry starts: the cache would otherwise claim collected blobs still exist.
    say "emptying the blob descriptor cache: restarting $CACHE, which keeps nothing on disk"
    docker restart "$CACHE" >/dev/null || status=1
  fi
  # shellcheck disable=SC2086 # one argument per container; names have no spaces
  docker start $WRITABLE >/dev/null || status=1
  healthy=1
  for c in $WRITABLE; do
    if ! wait_healthy "$c"; then
      say "error: $c is not healthy after the window (docker logs $c)" >&2
      healthy=0
    fi
  done
  if [ "$healthy" = 1 ]; then
    set_writable_state ready || status=1
    writable_servers | while read -r server _; do wait_front_up registry "$server" || exit 1; done || status=1
    docker stop -t "$DRAIN_SECONDS" "$STANDBY" >/dev/null || status=1
    say "window closed: $WRITABLE accepting pushes again"
  else
    say "error: the standby $STANDBY keeps serving pulls until every registry is healthy" >&2
    status=1
  fi
  return $status
}

on_exit() {
  status=$?
  trap - EXIT INT TERM
  window_end || status=1
  unlock
  exit $status
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# With S3 storage the one-off gc reaches the bucket as the registry does; otherwise it needs no network.
gc_network() {
  if [ -n "$OBJECT_STORAGE_NETWORK" ]; then echo "$OBJECT_STORAGE_NETWORK"; else echo none; fi
}

refuse_object_storage() {
  [ -z "$OBJECT_STORAGE_NETWORK" ] || fail "the registry keeps its data in S3, not in a volume: $1 the bucket with the object store's own tools (versioning, replication, snapshots)"
}

cmd_gc() {
  lock
  IMAGE=$(registry_image)
  window_begin
  # With S3 and no volume, an anonymous one (removed with the container) stands in.
  if [ -n "$DATA_VOLUME" ]; then say "garbage collection of $DATA_VOLUME"; data_mount="$DATA_VOLUME:${registryDataDir}"; else say "garbage collection of the bucket"; data_mount=${registryDataDir}; fi
  # Marking lines name every blob of every image; the sizes, deletions and errors are what a log needs.
  oneoff "$(gc_network)" --user "$REGISTRY_USER" --tmpfs /tmp -v "$data_mount" -v "$CONFIG_VOLUME:${registryConfigDir}:ro" \\
    --entrypoint /bin/sh "$IMAGE" -c '
      set -eu
      before=$(du -sk ${registryDataDir} | cut -f1)
      registry garbage-collect $1 ${registryConfigDir}/config.yml >/tmp/gc.log 2>&1 || { cat /tmp/gc.log; exit 1; }
      grep -v ": marking " /tmp/gc.log || true
      after=$(du -sk ${registryDataDir} | cut -f1)
      echo "volume: $before KiB before, $after KiB after, $((before - after)) KiB freed"
    ' sh "$GC_FLAGS"
  say "garbage collection done"
}

cmd_backup() {
  refuse_object_storage "back up"
  lock
  IMAGE=$(registry_image)
  window_begin
  name="$PRIMARY-$(date -u +%Y%m%dT%H%M%SZ).tar.gz"
  say "backing up $DATA_VOLUME to $BACKUP_DIR/$name"
  mkdir -p "$BACKUP_DIR" 2>/dev/null || true
  oneoff none --user 0:0 --cap-add DAC_OVERRIDE -v "$DATA_VOLUME:/data:ro" -v "$BACKUP_DIR:/backup" --entrypoint /bin/sh "$IMAGE" -c '
      set -eu
      cd /backup
      rm -f ".partial-$1"
      tar -czf ".partial-$1" -C /data docker
      gzip -t ".partial-$1"
      sha256sum ".partial-$1" | sed "s/\\.partial-//" >"$1.sha256"
      mv ".partial-$1" "$1"
      ls | grep -E "$2" | sort -r | tail -n +$(($3 + 1)) | while read -r old; do
        rm -f "$old" "$old.sha256"
        echo "removed $old (keeping the newest $3)"
      done
    ' sh "$name" "$ARCHIVE_PATTERN" "$RETENTION"
  say "backup written: $BACKUP_DIR/$name ($(du -h "$BACKUP_DIR/$name" 2>/dev/null | cut -f1 || echo '?'))"
}

cmd_restore() {
  [ $# -eq 1 ] || fail "usage: $PROG restore <archive>"
  refuse_object_storage "restore"
  [ -f "$1" ] || fail "no archive at $1 (backups are in $BACKUP_DIR; $PROG list shows them)"
  dir=$(cd "$(dirname "$1")" && pwd)
  base=$(basename "$1")
  lock
  IMAGE=$(registry_image)
  say "checking $dir/$base"
  # Everything is checked before the volume is touched: a bad archive changes nothing.
  if ! oneoff none --user 0:0 --cap-add DAC_OVERRIDE -v "$dir:/backup:ro" --tmpfs /scratch --entrypoint /bin/sh "$IMAGE" -c '
      set -eu
      cd /backup
      if [ -f "$1.sha256" ] && ! sha256sum -c "$1.sha256" >/dev/null 2>&1; then
        echo "its checksum does not match $1.sha256: the archive is corrupt or was changed" >&2; exit 1
      fi
      gzip -t "$1" 2>/dev/null || { echo "it is not a complete gzip file (truncated or corrupt)" >&2; exit 1; }
      tar -tzf "$1" >/scratch/list 2>/dev/null || { echo "it is not a readable tar archive" >&2; exit 1; }
      grep -q "^docker/registry/v2/" /scratch/list || { echo "it holds no registry data (docker/registry/v2/)" >&2; exit 1; }
    ' sh "$base"; then
    fail "refusing to restore $dir/$base; nothing was changed"
  fi
  primary_was_running=0
  if running "$PRIMARY"; then primary_was_running=1; fi
  if running "$STANDBY"; then docker stop -t "$DRAIN_SECONDS" "$STANDBY" >/dev/null; fi
  if [ "$primary_was_running" = 1 ]; then
    say "stopping $PRIMARY: a restore replaces its data, so it serves nothing until the restore ends"
    docker stop -t "$DRAIN_SECONDS" "$PRIMARY" >/dev/null
  fi
  if ! docker volume inspect "$DATA_VOLUME" >/dev/null 2>&1; then
    say "creating the volume $DATA_VOLUME"
    docker volume create --label private-registry.role=data "$DATA_VOLUME" >/dev/null
  fi
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  oneoff none --user 0:0 --cap-add DAC_OVERRIDE --cap-add CHOWN --cap-add FOWNER -v "$DATA_VOLUME:/data" -v "$dir:/backup:ro" \\
    --entrypoint /bin/sh "$IMAGE" -c '
      set -eu
      rm -rf /data/.restore-partial
      mkdir /data/.restore-partial
      tar -xzf "/backup/$1" -C /data/.restore-partial
      chown -R "$3" /data/.restore-partial/docker
      if [ -e /data/docker ]; then
        mkdir -p "/data/.pre-restore-$2"
        mv /data/docker "/data/.pre-restore-$2/docker"
        echo "the data it replaced is kept in the volume under .pre-restore-$2"
      fi
      mv /data/.restore-partial/docker /data/docker
      rmdir /data/.restore-partial
      chown "$3" /data
    ' sh "$base" "$stamp" "$REGISTRY_USER"
  if [ "$primary_was_running" = 1 ]; then
    docker start "$PRIMARY" >/dev/null
    wait_healthy "$PRIMARY" || fail "$PRIMARY is not healthy after the restore (docker logs $PRIMARY)"
  fi
  say "restored $DATA_VOLUME from $base"
}

cmd_list() {
  for a in "$BACKUP_DIR/$PRIMARY"-*.tar.gz; do
    if [ -f "$a" ] && basename "$a" | grep -Eq "$ARCHIVE_PATTERN"; then echo "$a"; fi
  done
}

case "\${1:-}" in
  gc) cmd_gc ;;
  backup) cmd_backup ;;
  restore) shift; cmd_restore "$@" ;;
  list) cmd_list ;;
  *) echo "usage: $PROG gc | backup | restore <archive> | list" >&2; exit 2 ;;
esac
`;
}

const installMarker = (containerName: string): string => `# private-registry-maintenance:${containerName}`;

/** Serialises crontab edits by this user: two registries installed at once must not drop each other's lines. */
const crontabLock = `CRONTAB_LOCK="\${TMPDIR:-/tmp}/private-registry-crontab.$(id -u).lock"
tries=0
until mkdir "$CRONTAB_LOCK" 2>/dev/null; do
  tries=$((tries + 1))
  if [ "$tries" -ge 600 ]; then echo "private-registry maintenance: $CRONTAB_LOCK is held; remove it if no install is running" >&2; exit 1; fi
  sleep 0.1
done
trap 'rmdir "$CRONTAB_LOCK"' EXIT`;

/**
 * Installs the script, as the user the command runs as (root: /usr/local/sbin and /var/log;
 * another user: ~/.local/bin and ~/.local/state), and puts the schedules in that user's crontab,
 * replacing its earlier lines. Without cron the script is still installed, and a warning says so.
 */
export function renderMaintenanceInstallScript(options: MaintenanceScriptOptions, schedules: MaintenanceSchedules): string {
    const name = maintenanceScriptName(options.primaryContainer);
    const tag = installMarker(options.primaryContainer);
    const jobs = ([["gc", schedules.gc], ["backup", schedules.backup]] as const).filter(([, schedule]) => schedule.trim() !== "");
    const cronLines = jobs.map(([job, schedule]) =>
        `  echo "${schedule.trim()} '$SCRIPT' ${job} >>'$LOG' 2>&1 ${tag}"`).join("\n");
    return `set -eu
if [ "$(id -u)" -eq 0 ]; then BIN_DIR=/usr/local/sbin; LOG_DIR=/var/log; else BIN_DIR="$HOME/.local/bin"; LOG_DIR="$HOME/.local/state"; fi
mkdir -p "$BIN_DIR" "$LOG_DIR"
SCRIPT="$BIN_DIR/${name}"
LOG="$LOG_DIR/${name}.log"
cat >"$SCRIPT.new" <<'PRIVATE_REGISTRY_MAINTENANCE_SCRIPT'
${renderMaintenanceScript(options)}PRIVATE_REGISTRY_MAINTENANCE_SCRIPT
chmod 0755 "$SCRIPT.new"
mv "$SCRIPT.new" "$SCRIPT"
if command -v crontab >/dev/null 2>&1; then
  ${crontabLock.split("\n").join("\n  ")}
  # Read in full before the crontab is replaced.
  others=$(crontab -l 2>/dev/null | grep -vF '${tag}' || true)
  {
  if [ -n "$others" ]; then printf '%s\\n' "$others"; fi
${cronLines}
  } | crontab -
  echo "private-registry maintenance: installed $SCRIPT; ${jobs.length === 0 ? "no schedules" : `${jobs.map(([j]) => j).join(" and ")} scheduled in $(id -un)'s crontab, logging to $LOG`}"
else
  echo "private-registry maintenance: installed $SCRIPT, but this host has no crontab command, so nothing runs on schedule; install cron, or run '$SCRIPT gc' and '$SCRIPT backup' from another scheduler" >&2
fi
`;
}

/** Takes the schedules out of the crontab. The script stays: it is what restores a destroyed stack's backups. */
export function renderMaintenanceRemoveScript(containerName: string): string {
    const tag = installMarker(containerName);
    return `set -eu
if command -v crontab >/dev/null 2>&1; then
  ${crontabLock.split("\n").join("\n  ")}
  # Idempotent: no crontab, or none of its lines, is already the goal.
  others=$(crontab -l 2>/dev/null | grep -vF '${tag}' || true)
  if [ -n "$others" ]; then printf '%s\\n' "$others" | crontab -; else crontab -r 2>/dev/null || true; fi
fi
echo "private-registry maintenance: schedules removed; ${maintenanceScriptName(containerName)} stays installed, so backups can still be restored"
`;
}
