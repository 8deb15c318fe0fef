#!/usr/bin/env bash
# Make sure node and npm are installed (the docs' renderers and the test tools come from npm).
# Installs Debian's nodejs and npm with apt when missing and we are root; otherwise says what to do.
set -euo pipefail
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing nodejs and npm with apt..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
else
  echo "node and npm are not installed: 'sudo apt-get install nodejs npm', then retry." >&2
  exit 1
fi
