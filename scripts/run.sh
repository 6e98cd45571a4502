#!/usr/bin/env bash
# Sets up, builds (release preset) and serves the bundled default config
# (config/hookd.yaml: https://localhost:8443, self-signed TLS, data under data/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target hookd hookd_plugin_log hookd_plugin_jofi
exec build/release/app/hookd serve -c "${HOOKD_CONFIG:-config/hookd.yaml}"
