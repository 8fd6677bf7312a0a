#!/usr/bin/env bash
# Makes PostgreSQL's server binaries (initdb, pg_ctl) available for the tests, which start a
# throw-away cluster of their own on 127.0.0.1: installs Debian's `postgresql` when they are
# missing. Where it cannot (no apt, no root or sudo), the PostgreSQL tests are skipped with a
# message, except under CI=true, where this fails.
set -euo pipefail
source "$(dirname "$0")/apt-ensure.sh"

if command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  exit 0
fi
apt_ensure postgresql "the PostgreSQL tests"
