#!/usr/bin/env bash
# Stands up the dev stack on the local Docker engine, with Pulumi's local file backend (no account).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pulumi >/dev/null 2>&1; then
    echo "error: the Pulumi CLI is not installed; see https://www.pulumi.com/docs/iac/download-install/" >&2
    exit 1
fi
if ! docker info >/dev/null 2>&1; then
    echo "error: no Docker engine answers on this machine; start Docker and run again" >&2
    exit 1
fi

# The local backend keeps state under ~/.pulumi; set only for this script, so a Pulumi Cloud login stays as it is.
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$HOME/.pulumi}"
if [[ -z "${PULUMI_CONFIG_PASSPHRASE+set}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
    echo "note: PULUMI_CONFIG_PASSPHRASE is not set; using an empty passphrase for the dev stack's secrets" >&2
    export PULUMI_CONFIG_PASSPHRASE=""
fi

npm run --silent build
pulumi stack select dev 2>/dev/null || pulumi stack init dev --secrets-provider passphrase
pulumi up --stack dev --yes "$@"
pulumi stack output --stack dev
