#!/usr/bin/env bash
# The real peers the tests run (Debian packages): checks that each is installed and, when some are
# missing, installs them with apt-get (as root, or through passwordless sudo) or says the command.
#   scripts/peers.sh check     exit 0 when every peer is there, else list what is missing (exit 1)
#   scripts/peers.sh ensure    check; install what is missing when allowed (npm test runs this)
#   scripts/peers.sh install   apt-get install every peer (.ci/run runs this)
set -euo pipefail

# command:package, one per peer. skopeo/podman: registry clients; nginx: the TLS-terminating
# proxy; openssl: test CAs; docker-registry: CNCF Distribution (the reference the doctor and the
# benchmark compare against); bind9 (named, tsig-keygen, nsupdate, dig): the RFC 2136 + TSIG
# server; pebble (+ pebble-challtestsrv): the ACME test CA; docker.io (dockerd, ctr) and
# busybox-static (a binary an image FROM scratch can run): the docker and containerd tests.
# postgresql-15 (initdb, pg_ctl outside PATH): the scale-out metadata store; ceph-mon, ceph-osd,
# radosgw, ceph-common: a one-node Ceph whose radosgw is the S3 server; haproxy: the load balancer
# in front of several replicas; rsyslog (rsyslogd): the syslog server audit forwarding is sent to;
# chromium (driven by playwright-core): the browser the web UI's end-to-end tests run in. gpg (and
# gpgconf): the keys and signatures of simple signing (skopeo/podman --sign-by).
# zstd, rpm (rpm, rpmbuild): the scanner tests compress layers with zstd and make a real rpmdb;
# dpkg and rpm are also the oracles of the scanner's version order (dpkg --compare-versions, rpm.vercmp).
PEERS=(
  skopeo:skopeo podman:podman nginx:nginx openssl:openssl curl:curl jq:jq tar:tar gzip:gzip
  htpasswd:apache2-utils docker-registry:docker-registry named:bind9 tsig-keygen:bind9-utils
  nsupdate:bind9-dnsutils dig:bind9-dnsutils pebble:pebble pebble-challtestsrv:pebble
  dockerd:docker.io ctr:docker.io busybox:busybox-static
  /usr/lib/postgresql/15/bin/initdb:postgresql-15 ceph-mon:ceph-mon ceph-osd:ceph-osd radosgw:radosgw
  radosgw-admin:ceph-common monmaptool:ceph-base haproxy:haproxy rsyslogd:rsyslog
  chromium:chromium gpg:gpg gpgconf:gpgconf
  zstd:zstd rpm:rpm rpmbuild:rpm dpkg:dpkg
)
# python3-cryptography (Debian's /usr/bin/python3): the independent signer of the signature tests.
EXTRA_PACKAGES=(ca-certificates fonts-dejavu-core python3-cryptography)

missing_packages() {
  local pair cmd pkg
  for pair in "${PEERS[@]}"; do
    cmd=${pair%%:*} pkg=${pair#*:}
    # /usr/sbin too: named and dockerd live there, outside a normal user's PATH.
    PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1 || echo "$pkg"
  done | sort -u
}

install() {
  local packages=("$@")
  [ ${#packages[@]} -gt 0 ] || packages=($(for p in "${PEERS[@]}"; do echo "${p#*:}"; done | sort -u) "${EXTRA_PACKAGES[@]}")
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo -n); fi
  echo "installing the test peers: ${packages[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
}

case "${1:-check}" in
  check)
    missing=$(missing_packages)
    [ -z "$missing" ] && exit 0
    echo "missing test peers (Debian packages): $(echo $missing)" >&2
    exit 1
    ;;
  ensure)
    missing=$(missing_packages)
    [ -z "$missing" ] && exit 0
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "the tests need these Debian packages, and this machine has no apt-get: $(echo $missing)" >&2
      exit 1
    fi
    if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
      echo "the tests need these Debian packages: $(echo $missing)" >&2
      echo "install them with: sudo scripts/peers.sh install   (then run npm test again)" >&2
      exit 1
    fi
    # shellcheck disable=SC2086
    install $missing "${EXTRA_PACKAGES[@]}"
    ;;
  install) install ;;
  *) echo "usage: scripts/peers.sh check|ensure|install" >&2; exit 2 ;;
esac
