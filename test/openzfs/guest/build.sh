#!/usr/bin/env bash
# Builds the OpenZFS test guest into OUT_DIR: a Debian bookworm root with Debian's 6.1 kernel and
# zfs-dkms/zfsutils-linux from bookworm-backports, as an ext4 image plus the kernel and initramfs
# for a direct boot. Runs as root on a Debian host with mmdebstrap and e2fsprogs; about 10 minutes on
# two cores, most of it dkms compiling zfs.ko for the guest kernel.
#
#   build.sh OUT_DIR
#
# OUT_DIR must not exist; it appears only when the build succeeded (built beside it, then renamed).
set -euo pipefail

out=${1:?usage: build.sh OUT_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -e $out ]] && { echo "build.sh: $out exists" >&2; exit 2; }
mkdir -p "$(dirname "$out")"
work=$(mktemp -d "$out.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mirror=${ZFERRY_GUEST_MIRROR:-http://deb.debian.org/debian}

# OpenZFS 2.3 comes from bookworm-backports (contrib); its libraries must come from the same suite
# or apt reports held broken packages.
bpo=bookworm-backports
packages=(
  linux-image-amd64 linux-headers-amd64 gcc make libc6-dev
  "zfs-dkms/$bpo" "zfsutils-linux/$bpo" "libnvpair3linux/$bpo" "libuutil3linux/$bpo"
  "libzfs6linux/$bpo" "libzpool6linux/$bpo"
  openssh-server openssh-client udev kmod iproute2 procps busybox zstd ca-certificates
)

# The harness logs in with this key; tests add their own forced-command keys to root's
# authorized_keys, which sshd reads after it.
ssh-keygen -q -t ed25519 -N "" -C zferry-test-control -f "$work/control_ed25519"

echo "guest: debootstrapping bookworm with OpenZFS from $bpo (dkms builds zfs.ko: several minutes)"
mmdebstrap --variant=minbase --components=main,contrib \
  --aptopt='APT::Install-Recommends "false"' \
  --include="$(IFS=,; echo "${packages[*]}")" \
  --customize-hook="$here/customize.sh \"\$1\" $work" \
  bookworm "$root" \
  "deb $mirror bookworm main contrib" \
  "deb $mirror bookworm-updates main contrib" \
  "deb $mirror $bpo main contrib"

cp "$root"/boot/vmlinuz-* "$work/vmlinuz"
cp "$root"/boot/initrd.img-* "$work/initrd.img"
# The image is booted with snapshot=on: the cache stays pristine, writes go to a temp overlay.
echo "guest: writing the root image"
mkfs.ext4 -q -F -L zferry-guest -d "$root" "$work/root.img" 6G
rm -rf "$root"
mv "$work" "$out"
trap - EXIT
echo "guest: built $(cat "$out/version") in $out"
