#!/usr/bin/env bash
# Installs the Debian packages used to render WAV (fluidsynth + GM SoundFont) and to test the
# HTML report (chromium). Needs root (or sudo); without it, prints what to install and goes on:
# everything else works without these packages.
set -uo pipefail
pkgs="fluidsynth fluid-soundfont-gm chromium chromium-driver"
missing=""
command -v fluidsynth >/dev/null 2>&1 || missing="$missing fluidsynth fluid-soundfont-gm"
[ -e /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || missing="$missing fluid-soundfont-gm"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium chromium-driver"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; else
  echo "setup_system: optional Debian packages missing:$missing (install with apt-get as root); continuing" >&2
  exit 0
fi
$SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $pkgs >/dev/null \
  || echo "setup_system: apt-get failed; WAV rendering and browser tests will be skipped" >&2
