#!/usr/bin/env bash
# Vendors magenta.js (@magenta/music, pinned) for the report's play-it-live page (live.html):
# only its one-file browser bundle dist/magentamusic.js (MusicRNN, Player, visualizers, tfjs and
# Tone.js inside) goes into vendor/magenta_music/ (git-ignored), so the page loads nothing from a
# CDN. `npm pack` fetches the package tarball alone (no dependencies, no install scripts) through
# npm's configured registry, and the bundle's SHA-256 is checked against the pin below.
# Without npm (or offline) it says what is missing and exits 0: everything else works, the report
# leaves live.html out and the browser tests skip.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VERSION=1.23.1
BUNDLE_SHA256=015ead0de8761a7d3d317f8fa678c3de1fc3c7abbfd4972f8da9b8fe1d751a2a
dest=vendor/magenta_music
bundle="$dest/magentamusic.js"

if [ -f "$bundle" ] && echo "$BUNDLE_SHA256  $bundle" | sha256sum -c --quiet - >/dev/null 2>&1; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "setup_web: npm is not installed, so @magenta/music@$VERSION is not vendored: the report's" \
       "live.html is left out and the browser tests skip (install Node.js and npm, then rerun" \
       "make setup); continuing" >&2
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if ! npm pack --silent --pack-destination "$tmp" "@magenta/music@$VERSION" >/dev/null 2>"$tmp/npm.log"; then
  echo "setup_web: npm pack @magenta/music@$VERSION failed ($(tail -n 1 "$tmp/npm.log")); live.html" \
       "is left out; continuing" >&2
  exit 0
fi
tar -xzf "$tmp/magenta-music-$VERSION.tgz" -C "$tmp" package/dist/magentamusic.js package/package.json
if ! echo "$BUNDLE_SHA256  $tmp/package/dist/magentamusic.js" | sha256sum -c --quiet - >/dev/null 2>&1; then
  echo "setup_web: @magenta/music@$VERSION dist/magentamusic.js does not match the pinned SHA-256;" \
       "not vendored; continuing" >&2
  exit 0
fi
mkdir -p "$dest"
cp "$tmp/package/package.json" "$dest/package.json"
cp "$tmp/package/dist/magentamusic.js" "$bundle.tmp" && mv "$bundle.tmp" "$bundle"
echo "setup_web: vendored @magenta/music@$VERSION ($(wc -c <"$bundle") bytes) into $dest/"
