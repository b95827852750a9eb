#!/usr/bin/env bash
# The README's test command: install everything, then run the whole suite (unit,
# integration and fault tests). The suite starts a real Kafka broker and a real Redis on
# free loopback ports itself and stops them when it ends, pass or fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/local/install.sh --services
.venv/bin/ruff check --quiet .
exec .venv/bin/python -m pytest "$@"
