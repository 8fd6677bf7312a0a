#!/usr/bin/env bash
# Sourced by the ensure-*.sh scripts: `apt_ensure PACKAGE WHAT` installs Debian's PACKAGE with apt
# (as root, or with password-less sudo). Where it cannot, it says that WHAT will be skipped and
# returns, except under CI=true, where it exits 1: CI must run every test.

apt_ensure() {
  local package="$1" what="$2" sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo="none"; fi
  fi
  if [ "$sudo" != "none" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's $package for $what"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$package" >/dev/null
    return 0
  fi
  echo "$package is not installed and cannot be installed here: $what will be skipped" >&2
  case "${CI:-}" in 1|true|yes) exit 1 ;; esac
}
