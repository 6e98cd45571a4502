#!/usr/bin/env bash
# Installs the Debian 12 packages hookd needs to build and test. Idempotent: quiet and
# fast when everything is already there. Extra packages may be passed as arguments.
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-test1.81-dev
  libssl-dev openssl libsqlite3-dev sqlite3 libyaml-cpp-dev
  libspdlog-dev libfmt-dev libcli11-dev curl
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
