#!/usr/bin/env bash
# Install what vidsentry needs on a fresh Debian/Ubuntu machine: uv, the locked Python
# environment (.venv), and, with --services, Redis + Java + Maven and Apache Kafka's jars
# for the local broker, and Prometheus (server + promtool) and docker-compose for the
# deployment tests.
# Downloads are cached per user: ~/.cache/uv, ~/.m2, ~/.cache/vidsentry.
set -euo pipefail
cd "$(dirname "$0")/../.."

with_services=0
[ "${1:-}" = "--services" ] && with_services=1

apt_install() {
  local missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ $with_services -eq 1 ]; then
  had_prometheus=0
  command -v prometheus >/dev/null 2>&1 && had_prometheus=1
  apt_install redis-server:redis-server java:openjdk-17-jre-headless mvn:maven prometheus:prometheus \
    docker-compose:docker-compose  # only `docker-compose config`, to check deploy/compose/ (no daemon needed)
  # Debian's headless Chromium and its driver, for the console's browser test (no test tool downloads a browser)
  apt_install chromium:chromium chromedriver:chromium-driver
  # The suite starts its own Prometheus on a free loopback port; the package's system service
  # (all interfaces, :9090) is not needed, so one this script installed is stopped and disabled.
  if [ $had_prometheus -eq 0 ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

if ! python3 -m uv --version >/dev/null 2>&1 && ! command -v uv >/dev/null 2>&1; then
  echo "installing uv"
  python3 -m pip install --quiet uv
fi
UV="uv"
command -v uv >/dev/null 2>&1 || UV="python3 -m uv"

export UV_PYTHON_DOWNLOADS=never
$UV sync --frozen --python 3.11

if [ $with_services -eq 1 ]; then
  (cd deploy/local/kafka && [ -n "$(ls lib/kafka_2.13-*.jar 2>/dev/null)" ] || \
     mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime)
fi
