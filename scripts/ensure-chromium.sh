#!/usr/bin/env bash
# Makes a Chromium available for the page tests, which drive it headless with Playwright (the
# browser Playwright would download cannot be fetched here; Debian's is used instead): installs
# Debian's `chromium` when neither $CHROMIUM nor `chromium`/`chromium-browser` is found. Where it
# cannot (no apt, no root or sudo), the browser tests are skipped with a message, except under
# CI=true, where this fails.
set -euo pipefail
source "$(dirname "$0")/apt-ensure.sh"

if [ -n "${CHROMIUM:-}" ] && [ -x "${CHROMIUM}" ]; then
  exit 0
fi
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
apt_ensure chromium "the browser tests"
