#!/usr/bin/env bash
# Installs the Debian packages the tests, the benchmark and the demo use (idempotent).
set -euo pipefail
# passwd: useradd/chpasswd, for the password and keyboard-interactive login tests
packages=(openssh-server openssh-client curl iperf3 procps iproute2 passwd)
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
