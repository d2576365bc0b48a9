#!/bin/sh
# Installs NSD, the authoritative DNS server the cold-batch benchmark serves its zone with
# (bench/nsd.py starts its own nsd on 127.0.0.1 at an ephemeral port, never the system service).
# Needs root and apt-get (Debian, Ubuntu). Does nothing when nsd is already installed.
set -eu
if command -v nsd >/dev/null 2>&1 || [ -x /usr/sbin/nsd ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-nsd: nsd is missing; install the Debian package 'nsd' as root" >&2
    exit 1
fi
apt-get install -y -qq --no-install-recommends nsd || { apt-get update -qq && apt-get install -y -qq --no-install-recommends nsd; }
