#!/usr/bin/env bash
# Installs code-server (VS Code's server build, workbench in a browser) into .cache/code-server,
# offline-capable: no postinstall downloads. Steps and their reasons: shared notes
# "vscode-offline-testing.md". Idempotent: a marker makes reruns take well under a second.
# Usage: bash scripts/vscode/install-code-server.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION="${CODE_SERVER_VERSION:-4.100.3}" # the last line with engines.node 20 (VS Code 1.100)
DIR="${CODE_SERVER_DIR:-$PWD/.cache/code-server}"
MARKER="$DIR/.installed"
WANT="code-server@$VERSION node@$(node -v)"

# One installer at a time (several test runs may start at once on a fresh checkout).
mkdir -p "$(dirname "$DIR")"
exec 9>"$DIR.lock"
flock 9

if [ "${1:-}" != "--force" ] && [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$WANT" ] \
  && [ -x "$DIR/node_modules/.bin/code-server" ]; then
  echo "code-server $VERSION already installed in $DIR"
  exit 0
fi

for tool in rg pkg-config make g++ python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run bash scripts/install-system-deps.sh first" >&2; exit 1; }
done

start=$(date +%s)
rm -rf "$DIR"
mkdir -p "$DIR"
# Its own package.json, so npm installs here and not into the repository's package.json.
echo '{ "name": "code-server-cache", "private": true }' > "$DIR/package.json"

# This machine's npm says `yes = false`; node-pty's build script runs `npx node-gyp`.
export npm_config_yes=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

echo "[1/5] npm install --ignore-scripts code-server@$VERSION"
(cd "$DIR" && npm install --no-save --ignore-scripts --loglevel=error "code-server@$VERSION")

VS="$DIR/node_modules/code-server/lib/vscode"
echo "[2/5] VS Code's own dependencies (lib/vscode)"
(cd "$VS" && npm install --omit=dev --ignore-scripts --loglevel=error)
# @vscode/ripgrep's postinstall downloads rg from GitHub unless bin/ exists: use Debian's.
mkdir -p "$VS/node_modules/@vscode/ripgrep/bin"
ln -sf "$(command -v rg)" "$VS/node_modules/@vscode/ripgrep/bin/rg"

echo "[3/5] npm rebuild (native modules for Node $(node -v))"
(cd "$VS" && npm rebuild --loglevel=error)
ln -sfn node_modules "$VS/node_modules.asar"

echo "[4/5] built-in extensions' dependencies"
(cd "$VS/extensions" && npm install --omit=dev --loglevel=error)

echo "[5/5] npm rebuild argon2"
(cd "$DIR" && npm rebuild argon2 --loglevel=error)

"$DIR/node_modules/.bin/code-server" --version >/dev/null
echo "$WANT" > "$MARKER"
echo "code-server $VERSION installed in $DIR in $(( $(date +%s) - start ))s"
