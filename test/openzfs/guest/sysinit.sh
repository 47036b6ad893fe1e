#!/bin/sh
# PID 1's sysinit in the OpenZFS test guest (busybox init runs it once at boot): mount the kernel
# filesystems, start udev (zpool create on a whole disk needs it), bring up the slirp NIC, load zfs,
# mount the project share read-only at the host's path, start sshd, then say so on the console.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -o remount,rw /
hostname zferry-guest

/lib/systemd/systemd-udevd --daemon
udevadm trigger --action=add
udevadm settle --timeout=30

ip link set lo up
# The NIC may be renamed from eth0; take the first that is not lo.
nic=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
ip link set "$nic" up
ip addr add 10.0.2.15/24 dev "$nic"
ip route add default via 10.0.2.2

modprobe zfs || echo "ZFERRY-GUEST-FAILED modprobe zfs" >/dev/ttyS0

for arg in $(cat /proc/cmdline); do
  case $arg in
    zferry.share=*) share=${arg#zferry.share=} ;;
  esac
done
if [ -n "${share:-}" ]; then
  mkdir -p "$share"
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288 zferry "$share" ||
    echo "ZFERRY-GUEST-FAILED mount $share" >/dev/ttyS0
fi

mkdir -p /run/sshd
/usr/sbin/sshd
echo "ZFERRY-GUEST-READY $(cat /sys/module/zfs/version 2>/dev/null)" >/dev/ttyS0
