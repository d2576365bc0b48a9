#!/bin/sh
# Re-create tests/data/mta-dsn: real DSNs from a real Postfix and a real Exim (Debian's packages), nothing
# hand-written.
#
#   sh tests/corpus/mta/make_corpus.sh            (as root, from the project root)
#
# Each MTA runs in a private network namespace (`unshare --net`): its only interface is loopback, so
# outbound delivery is impossible by construction and its ports collide with no other MTA on the machine.
# A private mount namespace points /etc/resolv.conf at the script's own DNS server on that loopback. Each
# instance has its own config, queue and log directories in a temporary directory and never touches
# /etc/postfix, the system-wide instance, or any file outside the namespace.
set -eu
cd "$(dirname "$0")/../../.."
PYTHON=${PYTHON:-.venv/bin/python}
if ! command -v postfix >/dev/null 2>&1; then
    # "No configuration": the package installs the programs and leaves the default instance unconfigured
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix
fi
# Exim's package conflicts with Postfix's (both are a mail-transport-agent): unpack it, install only its library
dpkg -s libidn12 >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libidn12
WORK=$(mktemp -d /tmp/mta-dsn.XXXXXX)
chmod 755 "$WORK"  # the postfix and Debian-exim users must reach their queue and spool directories
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
mkdir "$WORK/postfix" "$WORK/exim" "$WORK/debs" "$WORK/exim-root"
(cd "$WORK/debs" && apt-get download -q exim4-daemon-light exim4-base 2>/dev/null)
for deb in "$WORK"/debs/*.deb; do dpkg -x "$deb" "$WORK/exim-root"; done
echo "nameserver 127.0.0.1" > "$WORK/resolv.conf"
cp /etc/passwd "$WORK/passwd"
cp /etc/group "$WORK/group"
grep -q '^Debian-exim:' "$WORK/passwd" || echo 'Debian-exim:x:64990:64990:Exim:/nonexistent:/usr/sbin/nologin' >> "$WORK/passwd"
grep -q '^Debian-exim:' "$WORK/group" || echo 'Debian-exim:x:64990:' >> "$WORK/group"

unshare --net --mount -- sh -c "
    ip link set lo up
    mount --bind '$WORK/resolv.conf' /etc/resolv.conf
    exec '$PYTHON' -m tests.corpus.mta.postfix_dsns --work '$WORK/postfix' --out tests/data/mta-dsn
"
unshare --net --mount -- sh -c "
    ip link set lo up
    mount --bind '$WORK/resolv.conf' /etc/resolv.conf
    mount --bind '$WORK/passwd' /etc/passwd
    mount --bind '$WORK/group' /etc/group
    mount -t overlay overlay -o 'lowerdir=/usr/sbin:$WORK/exim-root/usr/sbin' /usr/sbin
    exec '$PYTHON' -m tests.corpus.mta.exim_dsns --work '$WORK/exim' --out tests/data/mta-dsn
"
