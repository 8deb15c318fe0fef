#!/usr/bin/env bash
# Make sure a headless Chromium and its driver are installed (tests/browser checks /docs with them).
# Installs Debian's chromium and chromium-driver with apt when missing and we are root;
# otherwise says what to do and fails.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing chromium and chromium-driver with apt (for the browser tests)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
else
  echo "Chromium is not installed: 'sudo apt-get install chromium chromium-driver', then retry." >&2
  exit 1
fi
