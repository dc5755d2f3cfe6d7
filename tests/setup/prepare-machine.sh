#!/usr/bin/env bash
# Prepares this machine for the Docker-backed test suites. Idempotent and quiet:
# it prints one line for each thing it actually does, nothing when all is in place.
#
#  1. installs the Debian packages the suites use (only the missing ones);
#  2. starts dockerd in the background when `docker info` does not answer;
#  3. builds a local stand-in for the stack's pinned registry image (no image can be
#     pulled here), tagged with the name:tag of `private-registry:image` in Pulumi.yaml.
#
# Usage: bash tests/setup/prepare-machine.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/dockerd-tests.log}"
say() { echo "prepare-machine: $*"; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# ---- 1. packages ------------------------------------------------------------------
PACKAGES=(docker.io docker-registry busybox-static skopeo apache2-utils wrk nftables iproute2 curl openssl prometheus shellcheck)
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "apt-get update (missing: ${missing[*]})"
  $SUDO apt-get update -qq >/dev/null
  say "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- 2. dockerd -------------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd in the background (log: $DOCKERD_LOG)"
  # setsid: its own session, so a CI runner ending this script's process group leaves it alone.
  $SUDO setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then break; fi
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    say "dockerd did not answer within 60 s; last lines of $DOCKERD_LOG:" >&2
    tail -n 20 "$DOCKERD_LOG" >&2 || true
    exit 1
  fi
fi

# ---- 3. stand-in registry image -----------------------------------------------------
# The reference is the default of private-registry:image in Pulumi.yaml, e.g.
#   registry:2.8.3@sha256:a3d8...  ->  stand-in tag registry:2.8.3
IMAGE_REF="$(cd "$ROOT" && node -e '
  const YAML = require("yaml"); const fs = require("fs");
  const doc = YAML.parse(fs.readFileSync(process.argv[1], "utf8"));
  const v = doc && doc.config && doc.config["private-registry:image"];
  const d = v && typeof v === "object" ? v.default : v;
  if (!d) { console.error("Pulumi.yaml has no default for private-registry:image"); process.exit(1); }
  process.stdout.write(String(d));
' "$ROOT/Pulumi.yaml")"
IMAGE_TAG="${IMAGE_REF%%@*}"
case "$IMAGE_TAG" in
  *:*) ;;
  *) IMAGE_TAG="$IMAGE_TAG:latest" ;;
esac

REGISTRY_BIN="$(command -v docker-registry || echo /usr/bin/docker-registry)"
# busybox-static installs a statically linked /bin/busybox (no libraries needed in the image).
BUSYBOX_BIN=/bin/busybox
BUSYBOX_APPLETS=(sh ash wget chown chmod stat install cat ls echo test "[" sleep mkdir rm cp mv ln touch
  grep sed awk head tail id env ps kill nc true false printf date du df find xargs tr cut wc sort uniq
  hostname whoami basename dirname readlink realpath vi more less tee which sha256sum md5sum base64 tar
  gzip gunzip netstat ip ifconfig mount umount su uname)

THIS_SCRIPT="${BASH_SOURCE[0]}"
inputs_hash="$( {
  echo "ref=$IMAGE_TAG"
  # Contents only: the same script reached by another path must not rebuild the image.
  ldd "$REGISTRY_BIN" 2>/dev/null | awk '/=>/ && $3 ~ /^\// {print $3} !/=>/ && $1 ~ /^\// {print $1}' | sort -u |
    cat - <(printf '%s\n' "$REGISTRY_BIN" "$BUSYBOX_BIN" "$THIS_SCRIPT") | xargs -r sha256sum | cut -d' ' -f1
} | sha256sum | cut -c1-32)"

current_hash="$(docker image inspect --format '{{ index .Config.Labels "org.private-registry.stand-in-inputs" }}' "$IMAGE_TAG" 2>/dev/null || true)"
if [ "$current_hash" != "$inputs_hash" ]; then
  previous_id="$(docker image inspect --format '{{.Id}}' "$IMAGE_TAG" 2>/dev/null || true)"
  say "building local stand-in image $IMAGE_TAG (from $REGISTRY_BIN and static busybox)"
  say "note: the local stand-in is matched by name:tag ($IMAGE_TAG) because it cannot carry the official digest ${IMAGE_REF#*@}"
  ctx="$(mktemp -d /tmp/registry-stand-in.XXXXXX)"
  trap 'rm -rf "$ctx"' EXIT
  mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/etc/docker/registry" "$ctx/rootfs/var/lib/registry" "$ctx/rootfs/tmp" \
    "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/root" "$ctx/rootfs/proc" "$ctx/rootfs/sys" "$ctx/rootfs/dev" \
    "$ctx/rootfs/usr/bin" "$ctx/rootfs/sbin"
  chmod 1777 "$ctx/rootfs/tmp"
  cp "$REGISTRY_BIN" "$ctx/rootfs/bin/registry"
  cp "$BUSYBOX_BIN" "$ctx/rootfs/bin/busybox"
  for a in "${BUSYBOX_APPLETS[@]}"; do
    [ -e "$ctx/rootfs/bin/$a" ] || ln -s busybox "$ctx/rootfs/bin/$a"
  done
  # Shared libraries of the registry binary (libc and the loader), at their own paths.
  ldd "$REGISTRY_BIN" 2>/dev/null | awk '/=>/ && $3 ~ /^\// {print $3} !/=>/ && $1 ~ /^\// {print $1}' | sort -u |
    while read -r lib; do
      mkdir -p "$ctx/rootfs$(dirname "$lib")"
      cp -L "$lib" "$ctx/rootfs$lib"
    done
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
  fi
  cat >"$ctx/rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/:/sbin/nologin
EOF
  cat >"$ctx/rootfs/etc/group" <<'EOF'
root:x:0:root
nobody:x:65534:
EOF
  # Same as the official image's /entrypoint.sh.
  cat >"$ctx/rootfs/entrypoint.sh" <<'EOF'
#!/bin/sh

set -e

case "$1" in
    *.yaml|*.yml) set -- registry serve "$@" ;;
    serve|garbage-collect|help|-*) set -- registry "$@" ;;
esac

exec "$@"
EOF
  chmod 755 "$ctx/rootfs/entrypoint.sh"
  # Same as the official image's default /etc/docker/registry/config.yml.
  cat >"$ctx/rootfs/etc/docker/registry/config.yml" <<'EOF'
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
EOF
  cat >"$ctx/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
VOLUME ["/var/lib/registry"]
EXPOSE 5000
ENTRYPOINT ["/entrypoint.sh"]
CMD ["/etc/docker/registry/config.yml"]
LABEL org.private-registry.stand-in="true" \\
      org.private-registry.stand-in-for="$IMAGE_REF" \\
      org.private-registry.stand-in-inputs="$inputs_hash"
EOF
  if ! out="$(DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE_TAG" "$ctx" 2>&1)"; then
    echo "$out" >&2
    say "docker build of the stand-in image failed" >&2
    exit 1
  fi
  rm -rf "$ctx"
  trap - EXIT
  say "built $IMAGE_TAG ($(docker image inspect --format '{{.Id}}' "$IMAGE_TAG"))"
  # The stand-in this one replaced is now untagged; remove it unless a container still uses it.
  if [ -n "$previous_id" ] && [ "$previous_id" != "$(docker image inspect --format '{{.Id}}' "$IMAGE_TAG")" ]; then
    docker image rm "$previous_id" >/dev/null 2>&1 || true
  fi
fi
