#!/usr/bin/env bash
# Installs the browser the playground's tests drive (`npm run test:browser`): Debian's/Ubuntu's
# `chromium` package, at /usr/bin/chromium. puppeteer-core launches it; nothing is downloaded
# from anywhere but the system's package archive. Chromium's WebGPU runs on its own SwiftShader
# (Vulkan on the CPU) adapter where the machine has no GPU.
#
# A no-op when /usr/bin/chromium (or $LOOM_CHROMIUM) exists. Needs root (or sudo) only to install.
set -euo pipefail

log() { echo "setup-browser: $*" >&2; }

bin=${LOOM_CHROMIUM:-/usr/bin/chromium}
if [ -x "$bin" ]; then
  log "$bin present; nothing to do."
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  log "no apt-get here. Install Chromium (or Chrome) yourself and set LOOM_CHROMIUM to its binary."
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    log "need root to install chromium; rerun as root."
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
log "installing chromium from the system's packages"
$SUDO apt-get update -q >&2
$SUDO apt-get install -y -q --no-install-recommends chromium >&2
[ -x /usr/bin/chromium ] || { log "chromium installed but /usr/bin/chromium is missing"; exit 1; }
log "done: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
