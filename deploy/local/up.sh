#!/usr/bin/env bash
# Start a local Kafka (KRaft) + Redis on free loopback ports for running the roles by hand.
# Then: source .local/services.env  (it sets VIDSENTRY_BUS__* and VIDSENTRY_REDIS__URL)
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/local/install.sh --services
exec .venv/bin/vidsentry dev up --dir "${1:-.local}"
