#!/usr/bin/env bash
# The admin web app's toolchain: pnpm (pinned in package.json) and the workspace's packages.
# `scripts/web.sh install` installs them; `scripts/web.sh chromium` makes sure Debian's
# Chromium is there for the end-to-end tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

pnpm_version=$(sed -n 's/.*"packageManager": "pnpm@\([^"]*\)".*/\1/p' package.json)

install() {
  if ! command -v node >/dev/null 2>&1; then
    echo "web: Node.js is required (>= 20.19); install it from your distribution" >&2
    exit 1
  fi
  if [ "$(pnpm --version 2>/dev/null || true)" != "$pnpm_version" ]; then
    echo "web: installing pnpm $pnpm_version" >&2
    npm install --global --silent "pnpm@$pnpm_version"
  fi
  pnpm install --frozen-lockfile --reporter=append-only
}

chromium() {
  if [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
    return 0
  fi
  echo "web: installing Chromium for the end-to-end tests" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

case "${1:-install}" in
  install) install ;;
  chromium) chromium ;;
  *) echo "usage: $0 install|chromium" >&2; exit 2 ;;
esac
