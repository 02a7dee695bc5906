#!/usr/bin/env bash
# Installs the Debian packages the tests, the benchmark and the demo use (idempotent).
set -euo pipefail
# passwd: useradd/chpasswd, for the password and keyboard-interactive login tests
# netcat-openbsd: `nc -X connect` as a ProxyCommand in the ProxyCommand tests
packages=(openssh-server openssh-client curl iperf3 procps iproute2 passwd netcat-openbsd)
# net-tools (netstat) and lsof: what a server without ss lists its ports with, and who holds a busy local port (the ports tests)
packages+=(net-tools lsof)
# VS Code in a browser for the integration/UI tests and the demo (scripts/vscode/install-code-server.sh):
# headers and tools to build code-server's native modules, Debian's ripgrep instead of a download,
# Chromium for playwright-core, unzip to list the .vsix
packages+=(build-essential python3 pkg-config libkrb5-dev libsecret-1-dev libx11-dev libxkbfile-dev ripgrep chromium unzip)
# tmux: a pseudo-terminal for the tests of `ssh-tunnels up` (its live table, Ctrl-C, prompts)
packages+=(tmux)
# wine64: runs Node for Windows (node.exe, scripts/wine/install-node-win.sh) for the Windows tier (test/runners/wine.mjs)
packages+=(wine64)
# putty-tools: puttygen writes the PuTTY .ppk keys (versions 2 and 3, every key type and cipher) the login tests read
packages+=(putty-tools)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
