#!/bin/sh
# Install the Debian packages the build and the tests need, when missing.
# As root it runs apt-get itself; otherwise it prints the exact command.
set -e
PKGS="nasm qemu-system-x86 ovmf grub-pc-bin grub-efi-amd64-bin grub-common \
xorriso mtools bochs bochsbios bochs-term vgabios libcmocka-dev"
missing=""
for p in $PKGS; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "Missing Debian packages:$missing" >&2
	echo "Install them with:" >&2
	echo "  sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends $missing >/dev/null
echo "deps: installed"
