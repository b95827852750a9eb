#!/usr/bin/env bash
# Stop what up.sh started.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec .venv/bin/vidsentry dev down --dir "${1:-.local}"
