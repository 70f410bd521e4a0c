#!/usr/bin/env bash
# Makes a WebGPU adapter available to Dawn (the npm package `webgpu`) on a Debian/Ubuntu machine.
#
# Dawn needs a Vulkan driver. On a machine without a GPU, Mesa's lavapipe (Vulkan on the CPU)
# works from Mesa 24 on. Debian 12 ships Mesa 22.3, which Dawn rejects, so there the driver comes
# from bookworm-backports. Ubuntu 24.04 and Debian 13 ship Mesa 24+ in their main archive.
#
# The script is a no-op when a usable Vulkan driver (Mesa >= 24 lavapipe, or any non-Mesa ICD)
# is already installed. It needs root (or sudo) only when it has to install something.
set -euo pipefail

log() { echo "setup-adapter: $*" >&2; }

mesa_major() {
  # Major version of the installed mesa-vulkan-drivers package, or 0.
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  v=${v#*:}
  echo "${v%%.*}" | grep -E '^[0-9]+$' || echo 0
}

has_other_icd() {
  # A vendor Vulkan driver (NVIDIA, AMD proprietary...) that is not Mesa's.
  local d f
  for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d; do
    [ -d "$d" ] || continue
    for f in "$d"/*.json; do
      [ -e "$f" ] || continue
      case "$(basename "$f")" in
        lvp_icd*|radeon_icd*|intel_icd*|intel_hasvk*|nouveau_icd*|virtio_icd*|broadcom*|freedreno*|panfrost*|powervr*|asahi*|gfxstream*|dzn*) ;;
        *) return 0 ;;
      esac
    done
  done
  return 1
}

if [ "$(mesa_major)" -ge 24 ] && dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q "ok installed"; then
  log "Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) Vulkan drivers present; nothing to do."
  exit 0
fi
if has_other_icd && dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q "ok installed"; then
  log "a vendor Vulkan driver is installed; nothing to do."
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  log "no apt-get here. Install a Vulkan driver yourself: Mesa >= 24 (lavapipe) or your GPU vendor's, plus the Vulkan loader (libvulkan1)."
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    log "need root to install mesa-vulkan-drivers and libvulkan1; rerun as root."
    exit 1
  fi
fi

. /etc/os-release
export DEBIAN_FRONTEND=noninteractive
target=()
if [ "${ID:-}" = "debian" ] && [ "${VERSION_CODENAME:-}" = "bookworm" ]; then
  # Debian 12: Mesa 24+ only in bookworm-backports. Add the suite with the archive URI and key
  # that the machine already uses for bookworm.
  list=/etc/apt/sources.list.d/loom-backports.sources
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    uri="http://deb.debian.org/debian"
    key="/usr/share/keyrings/debian-archive-keyring.gpg"
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      u=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
      k=$(awk '/^Signed-By:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
      [ -n "$u" ] && uri=$u
      [ -n "$k" ] && key=$k
    fi
    log "adding bookworm-backports ($uri) to apt sources"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' "$uri" "$key" \
      | $SUDO tee "$list" >/dev/null
  fi
  target=(-t bookworm-backports)
fi

log "installing Mesa's Vulkan drivers (lavapipe) and the Vulkan loader"
$SUDO apt-get update -q >&2
$SUDO apt-get install -y -q --no-install-recommends "${target[@]}" mesa-vulkan-drivers libvulkan1 >&2
if [ "$(mesa_major)" -lt 24 ]; then
  log "installed Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) is older than 24; Dawn will reject it."
  exit 1
fi
log "done: Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
