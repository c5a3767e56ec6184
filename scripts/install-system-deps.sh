#!/usr/bin/env bash
# Debian packages Vigil's tests and rehearsals use. Installs only what is missing.
set -euo pipefail
packages=(
  softhsm2          # rehearsal tokens: a real PKCS#11 module
  opensc opensc-pkcs11  # Nitrokey HSM 2 / SmartCard-HSM module, and pkcs11-spy for tests
  openssl           # tests check every exported key with openssl, not our own code
  chromium          # the renderer under test (never a downloaded browser)
  xvfb xauth        # headful Chromium for the bridge mode
  zbar-tools        # decodes the fingerprint QR from screenshots
  poppler-utils     # pdftotext / pdftoppm read the transcript PDF back in tests
  fusefat fuse mtools dosfstools e2fsprogs  # FAT32 and ext4 media for export tests
  util-linux coreutils  # lsblk, losetup, sync -f; unshare gives each test file its own namespaces
  iproute2          # `ip link set lo up` inside a test file's network namespace
  pcscd libpcsclite-dev  # PC/SC daemon; headers for the `smartcard` N-API addon, built at npm ci
  vsmartcard-vpcd   # the virtual reader rehearsal smart cards plug into
  ykcs11 yubico-piv-tool yubikey-manager python3-pykcs11  # Yubico's tools judge the rehearsal YubiKey
  gnupg scdaemon    # GnuPG 2.2 judges the OpenPGP keys openpgp.js makes (import, sign, revoke)
  sq sq-keyring-linter  # Sequoia's linter checks exported public keys
  python3-securesystemslib  # judges TUF metadata: canonical bytes and signatures, as python-tuf reads them
  in-toto           # in-toto-run and in-toto-verify judge the layouts maintainers sign (1.3.1)
  python3-cryptography python3-requests  # python-yubihsm (../shared/clients) judges the rehearsal YubiHSM
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
