#!/usr/bin/env bash
# Makes PostgreSQL's server binaries (initdb, pg_ctl) available for the tests, which start a
# throw-away cluster of their own on 127.0.0.1: installs Debian's `postgresql` when they are
# missing. Where it cannot (no apt, no root or sudo), the PostgreSQL tests are skipped with a
# message, except under CI=true, where this fails.
set -euo pipefail

if command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo="none"; fi
fi
if [ "$sudo" != "none" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's postgresql for the tests"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  exit 0
fi

echo "PostgreSQL's server is not installed and cannot be installed here: its tests will be skipped" >&2
case "${CI:-}" in 1|true|yes) exit 1 ;; esac
