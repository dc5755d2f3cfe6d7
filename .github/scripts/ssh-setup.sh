#!/usr/bin/env bash
# SSH for the prod stack in CI, shared by .github/workflows/*.yml and .gitlab-ci.yml: the Docker
# provider (ssh://deploy@…) and the firewall commands authenticate with the deploy key held by an
# agent, and OpenSSH checks the host against the pinned known_hosts lines.
#
# Environment:
#   SSH_PRIVATE_KEY  the deploy key (unencrypted, OpenSSH or PEM), or the path of a file holding it
#                    (GitLab "File" variables hold a path)
#   SSH_KNOWN_HOSTS  the host's known_hosts line(s), or the path of a file holding them
#   SSH_AUTH_SOCK    socket the agent listens on; later steps of the job use the same value
#   SSH_KEY_LIFETIME optional, seconds the agent keeps the key (default 3600)
#
# The key only ever goes into the agent, never onto disk or into the log.
set -euo pipefail

fail() {
    echo "ssh-setup: $*" >&2
    exit 1
}

# A value naming an existing file is read from it; CRs from a pasted Windows copy are dropped.
read_value() {
    if [[ -f $1 ]]; then cat -- "$1"; else printf '%s\n' "$1"; fi | tr -d '\r'
}

[[ -n ${SSH_AUTH_SOCK:-} ]] || fail "SSH_AUTH_SOCK is not set: set it to the socket path the agent should listen on"
[[ -n ${SSH_PRIVATE_KEY:-} ]] || fail "SSH_PRIVATE_KEY is empty: store the deploy key as a CI secret"
[[ -n ${SSH_KNOWN_HOSTS:-} ]] || fail "SSH_KNOWN_HOSTS is empty: store the host's known_hosts line, checked against the host's own key fingerprint"
command -v ssh-agent >/dev/null || fail "ssh-agent is missing: install the OpenSSH client (apt-get install openssh-client)"

known_hosts=$(read_value "$SSH_KNOWN_HOSTS")
# ssh-keygen -l lists a fingerprint per host key it can parse and fails when there is none.
if ! fingerprints=$(ssh-keygen -l -f /dev/stdin <<<"$known_hosts" 2>/dev/null); then
    fail "SSH_KNOWN_HOSTS holds no host key line (expected e.g. 'registry.example.com ssh-ed25519 AAAA…')"
fi
install -d -m 700 "$HOME/.ssh"
touch "$HOME/.ssh/known_hosts"
chmod 600 "$HOME/.ssh/known_hosts"
# Append only new lines, so a reused (self-hosted) runner does not collect duplicates.
while IFS= read -r line; do
    [[ -z $line || $line == \#* ]] && continue
    grep -qxF -- "$line" "$HOME/.ssh/known_hosts" || printf '%s\n' "$line" >>"$HOME/.ssh/known_hosts"
done <<<"$known_hosts"
echo "ssh-setup: pinned host keys:"
printf '  %s\n' "$fingerprints"

# Exit status 2 means no agent answers on the socket: start one there (dropping a stale socket).
agent_status=0
ssh-add -l >/dev/null 2>&1 || agent_status=$?
if ((agent_status == 2)); then
    rm -f -- "$SSH_AUTH_SOCK"
    agent_env=$(ssh-agent -s -a "$SSH_AUTH_SOCK")
    agent_pid=$(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' <<<"$agent_env")
    echo "ssh-setup: ssh-agent pid ${agent_pid} listens on ${SSH_AUTH_SOCK}"
fi
read_value "$SSH_PRIVATE_KEY" | ssh-add -q -t "${SSH_KEY_LIFETIME:-3600}" - 2>/dev/null \
    || fail "SSH_PRIVATE_KEY is not an unencrypted private key the agent accepts"
echo "ssh-setup: deploy key loaded: $(ssh-add -l)"
