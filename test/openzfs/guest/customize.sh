#!/usr/bin/env bash
# mmdebstrap customize hook for build.sh: ROOT is the finished chroot, WORK the build folder
# (holding the harness's control key). Makes the root bootable without systemd and checks that
# dkms built the zfs module.
set -euo pipefail
root=${1:?ROOT}
work=${2:?WORK}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

kver=$(ls "$root/lib/modules" | sort -V | tail -n 1)
if ! find "$root/lib/modules/$kver" -name 'zfs.ko*' | grep -q .; then
  echo "customize: dkms built no zfs.ko for $kver" >&2
  exit 1
fi

# Without these in the initramfs the root disk and the project share never appear.
printf '%s\n' virtio_pci virtio_blk ext4 9p 9pnet_virtio >>"$root/etc/initramfs-tools/modules"
chroot "$root" update-initramfs -u -k "$kver"

# busybox init as PID 1: no systemd in the guest.
ln -sf /bin/busybox "$root/sbin/init"
install -m 0755 "$here/sysinit.sh" "$root/usr/local/sbin/zferry-sysinit"
cat >"$root/etc/inittab" <<'TAB'
::sysinit:/usr/local/sbin/zferry-sysinit
::ctrlaltdel:/bin/busybox poweroff -f
TAB
echo zferry-guest >"$root/etc/hostname"

install -d -m 0755 "$root/etc/zferry-test"
install -m 0644 "$work/control_ed25519.pub" "$root/etc/zferry-test/control_keys"
install -d -m 0700 "$root/root/.ssh"
cat >"$root/etc/ssh/sshd_config.d/zferry-test.conf" <<'CONF'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
AuthorizedKeysFile /etc/zferry-test/control_keys .ssh/authorized_keys
MaxSessions 64
MaxStartups 64
CONF
# openssh-server's postinst made the host keys; the harness pins the ed25519 one.
cut -d' ' -f1,2 "$root/etc/ssh/ssh_host_ed25519_key.pub" >"$work/known_host_key"

chroot "$root" dpkg-query -W -f='${Version}' zfsutils-linux | sed 's/^/zfsutils-linux /' >"$work/version"
echo " kernel $kver" >>"$work/version"
tr -d '\n' <"$work/version" >"$work/version.tmp" && mv "$work/version.tmp" "$work/version"

# Shrink the image: package lists and archives are not needed to boot.
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"* "$root/usr/share/doc" "$root/usr/share/man"
