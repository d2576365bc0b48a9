#!/bin/sh
# Re-create tests/data/mta-dsn: real DSNs from a real Postfix, Exim, OpenSMTPD, Sendmail and Courier (Debian's
# packages), nothing hand-written.
#
#   sh tests/corpus/mta/make_corpus.sh [postfix] [exim] [opensmtpd] [sendmail] [courier]
#                                         (as root, from the project root; all five when none is named)
#
# Each MTA runs in a private network namespace (`unshare --net`): its only interface is loopback, so
# outbound delivery is impossible by construction and its ports collide with no other MTA on the machine.
# A private mount namespace points /etc/resolv.conf at the script's own DNS server on that loopback. Each
# instance has its own config, queue and log directories in a temporary directory and never touches
# /etc/postfix, the system-wide instance, or any file outside the namespace.
set -eu
cd "$(dirname "$0")/../../.."
PYTHON=${PYTHON:-.venv/bin/python}
MTAS=${*:-postfix exim opensmtpd sendmail courier}
wanted() { case " $MTAS " in *" $1 "*) return 0 ;; esac; return 1; }
if ! command -v postfix >/dev/null 2>&1; then
    # "No configuration": the package installs the programs and leaves the default instance unconfigured
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix
fi
# Exim's, OpenSMTPD's, Sendmail's and Courier's packages conflict with Postfix's (each is a mail-transport-agent):
# unpack them, and install only the libraries and tools they need (m4 builds Sendmail's configuration)
for lib in libidn12 libevent-2.1-7 m4; do
    dpkg -s $lib >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $lib
done
WORK=$(mktemp -d /tmp/mta-dsn.XXXXXX)
chmod 755 "$WORK"  # the postfix and Debian-exim users must reach their queue and spool directories
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
mkdir "$WORK/postfix" "$WORK/exim" "$WORK/opensmtpd" "$WORK/debs" "$WORK/opensmtpd-debs" "$WORK/exim-root" \
    "$WORK/opensmtpd-root"
(cd "$WORK/debs" && apt-get download -q exim4-daemon-light exim4-base 2>/dev/null)
for deb in "$WORK"/debs/*.deb; do dpkg -x "$deb" "$WORK/exim-root"; done
(cd "$WORK/opensmtpd-debs" && apt-get download -q opensmtpd 2>/dev/null)
dpkg -x "$WORK"/opensmtpd-debs/opensmtpd_*.deb "$WORK/opensmtpd-root"
mkdir "$WORK/sendmail" "$WORK/sendmail-debs" "$WORK/sendmail-root"
(cd "$WORK/sendmail-debs" && apt-get download -q sendmail-bin sendmail-cf 2>/dev/null)
for deb in "$WORK"/sendmail-debs/*.deb; do dpkg -x "$deb" "$WORK/sendmail-root"; done
printf '127.0.0.1 localhost\n127.0.0.1 sendmail.sender.test sendmail\n127.0.0.1 courier.sender.test courier\n' > "$WORK/hosts"
# Courier (and its authentication library, which it links): its own tree, with the package's configuration
# copied where it can be written, and a layer over /etc that adds /etc/courier and the /etc/environment its
# start-up file reads
mkdir "$WORK/courier" "$WORK/courier-debs" "$WORK/courier-root" "$WORK/courier-etc"
(cd "$WORK/courier-debs" && apt-get download -q courier-mta courier-base courier-authlib libcourier-unicode4 2>/dev/null)
for deb in "$WORK"/courier-debs/*.deb; do dpkg -x "$deb" "$WORK/courier-root"; done
ln -s makedat.courier "$WORK/courier-root/usr/bin/makedat"  # the alternative the package's postinst installs
cp -a "$WORK/courier-root/etc/courier" "$WORK/courier/etc"
mkdir "$WORK/courier-etc/courier"
touch "$WORK/courier-etc/environment"
echo "nameserver 127.0.0.1" > "$WORK/resolv.conf"
cp /etc/passwd "$WORK/passwd"
cp /etc/group "$WORK/group"
grep -q '^Debian-exim:' "$WORK/passwd" || echo 'Debian-exim:x:64990:64990:Exim:/nonexistent:/usr/sbin/nologin' >> "$WORK/passwd"
grep -q '^Debian-exim:' "$WORK/group" || echo 'Debian-exim:x:64990:' >> "$WORK/group"
for user in opensmtpd:64991 opensmtpq:64992; do
    grep -q "^${user%%:*}:" "$WORK/passwd" ||
        echo "${user%%:*}:x:${user#*:}:${user#*:}:OpenSMTPD:/var/lib/opensmtpd/empty:/usr/sbin/nologin" >> "$WORK/passwd"
    grep -q "^${user%%:*}:" "$WORK/group" || echo "${user%%:*}:x:${user#*:}:" >> "$WORK/group"
done
grep -q '^courier:' "$WORK/passwd" || echo 'courier:x:64993:64993:Courier:/var/lib/courier:/usr/sbin/nologin' >> "$WORK/passwd"
grep -q '^courier:' "$WORK/group" || echo 'courier:x:64993:' >> "$WORK/group"
# smtpctl talks to the daemon's queue only as group opensmtpq (the package's postinst sets the same mode)
chgrp "$(grep '^opensmtpq:' "$WORK/group" | cut -d: -f3)" "$WORK/opensmtpd-root/usr/sbin/smtpctl"
chmod 2755 "$WORK/opensmtpd-root/usr/sbin/smtpctl"

wanted postfix && unshare --net --mount -- sh -c "
    ip link set lo up
    mount --bind '$WORK/resolv.conf' /etc/resolv.conf
    exec '$PYTHON' -m tests.corpus.mta.postfix_dsns --work '$WORK/postfix' --out tests/data/mta-dsn
"
wanted exim && unshare --net --mount -- sh -c "
    ip link set lo up
    mount --bind '$WORK/resolv.conf' /etc/resolv.conf
    mount --bind '$WORK/passwd' /etc/passwd
    mount --bind '$WORK/group' /etc/group
    mount -t overlay overlay -o 'lowerdir=/usr/sbin:$WORK/exim-root/usr/sbin' /usr/sbin
    exec '$PYTHON' -m tests.corpus.mta.exim_dsns --work '$WORK/exim' --out tests/data/mta-dsn
"
# OpenSMTPD resolves an MX host with AI_ADDRCONFIG, which finds no address while 127.0.0.1 is the only one: a
# second loopback address (still loopback-only) lets it look hosts up. Its spool, chroot and control socket
# paths are compiled in, so private tmpfs mounts stand in for /var/spool, /var/lib and /run.
wanted opensmtpd && unshare --net --mount -- sh -c "
    ip link set lo up
    ip addr add 127.0.0.10/32 dev lo
    mount --bind '$WORK/resolv.conf' /etc/resolv.conf
    mount --bind '$WORK/passwd' /etc/passwd
    mount --bind '$WORK/group' /etc/group
    mount -t overlay overlay -o 'lowerdir=/usr/sbin:$WORK/opensmtpd-root/usr/sbin' /usr/sbin
    mount -t overlay overlay -o 'lowerdir=/usr/libexec:$WORK/opensmtpd-root/usr/libexec' /usr/libexec
    mount -t tmpfs tmpfs /var/spool
    mount -t tmpfs tmpfs /run
    mount -t tmpfs tmpfs /var/lib
    mkdir -p /var/lib/opensmtpd/empty
    exec '$PYTHON' -m tests.corpus.mta.opensmtpd_dsns --work '$WORK/opensmtpd' --out tests/data/mta-dsn
"
# Sendmail waits for its own host name to resolve: a private UTS namespace names the host, a private /etc/hosts
# resolves it
wanted sendmail && unshare --net --mount --uts -- sh -c "
    ip link set lo up
    hostname sendmail.sender.test
    mount --bind '$WORK/resolv.conf' /etc/resolv.conf
    mount --bind '$WORK/hosts' /etc/hosts
    exec '$PYTHON' -m tests.corpus.mta.sendmail_dsns --work '$WORK/sendmail' --out tests/data/mta-dsn \\
        --sendmail '$WORK/sendmail-root/usr/libexec/sendmail/sendmail' --cf '$WORK/sendmail-root/usr/share/sendmail/cf'
"
# Courier's configuration, queue, library and run directories are compiled in: read-only layers over /usr/lib,
# /usr/bin, /usr/sbin and /etc, a writable /etc/courier bound there, private tmpfs for /var/lib and /run
wanted courier && unshare --net --mount --uts -- sh -c "
    ip link set lo up
    hostname courier.sender.test
    mount -t overlay overlay -o 'lowerdir=$WORK/courier-etc:/etc' /etc
    mount --bind '$WORK/courier/etc' /etc/courier
    mount --bind '$WORK/resolv.conf' /etc/resolv.conf
    mount --bind '$WORK/hosts' /etc/hosts
    mount --bind '$WORK/passwd' /etc/passwd
    mount --bind '$WORK/group' /etc/group
    mount -t overlay overlay -o 'lowerdir=/usr/sbin:$WORK/courier-root/usr/sbin' /usr/sbin
    mount -t overlay overlay -o 'lowerdir=/usr/bin:$WORK/courier-root/usr/bin' /usr/bin
    mount -t overlay overlay -o 'lowerdir=/usr/lib:$WORK/courier-root/usr/lib' /usr/lib
    mount -t tmpfs tmpfs /var/lib
    mount -t tmpfs tmpfs /run
    cp -a '$WORK/courier-root/var/lib/courier' /var/lib/courier
    chown -R courier:courier /var/lib/courier
    mkdir -m 775 /run/courier && chgrp courier /run/courier
    exec '$PYTHON' -m tests.corpus.mta.courier_dsns --work '$WORK/courier' --out tests/data/mta-dsn
"
true
