#!/bin/sh
# Installs Debian's headless-capable Chromium and its WebDriver for the browser tests
# (tests/browser). Idempotent: does nothing when both are already on PATH. Needs root (apt-get).
# Debian's builds only: no browser is downloaded from anywhere but the Debian archive.
set -eu
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# Another apt-get may hold the dpkg lock (CI machines run several at once): wait up to 10 minutes.
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
command -v chromium >/dev/null && command -v chromedriver >/dev/null
