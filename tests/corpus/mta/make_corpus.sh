#!/bin/sh
# Re-create tests/data/mta-dsn: real DSNs from a real Postfix (Debian's package), nothing hand-written.
#
#   sh tests/corpus/mta/make_corpus.sh            (as root, from the project root)
#
# Postfix runs in a private network namespace (`unshare --net`): its only interface is loopback, so
# outbound delivery is impossible by construction and its ports collide with no other Postfix on the
# machine. A private mount namespace points /etc/resolv.conf at the script's own DNS server on that
# loopback. The instance has its own config, queue and data directories in a temporary directory and
# never touches /etc/postfix or the system-wide instance.
set -eu
cd "$(dirname "$0")/../../.."
if ! command -v postfix >/dev/null 2>&1; then
    # "No configuration": the package installs the programs and leaves the default instance unconfigured
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix
fi
PYTHON=${PYTHON:-.venv/bin/python}
WORK=$(mktemp -d /tmp/mta-dsn.XXXXXX)
chmod 755 "$WORK"  # the postfix user must reach its queue and data directories
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
echo "nameserver 127.0.0.1" > "$WORK/resolv.conf"
unshare --net --mount -- sh -c "
    ip link set lo up
    mount --bind '$WORK/resolv.conf' /etc/resolv.conf
    exec '$PYTHON' -m tests.corpus.mta.postfix_dsns --work '$WORK' --out tests/data/mta-dsn
"
