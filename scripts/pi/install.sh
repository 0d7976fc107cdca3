#!/usr/bin/env bash
# Installs HilRig on a Raspberry Pi (Raspberry Pi OS / Debian, 64-bit): a self-contained hilrig under /opt/hilrig,
# udev rules for Spark Cores and hub port power, I2C enabled, the rig user in the gpio/i2c/dialout/plugdev groups,
# the dashboard service and the nightly soak timer. Safe to run again: it updates in place and keeps the config.
#
#   sudo scripts/pi/install.sh                      # publish from this checkout (needs the .NET 10 SDK) and install
#   sudo scripts/pi/install.sh --from DIR           # install a build published elsewhere:
#                                                   #   dotnet publish rig/HilRig.Cli -c Release -r linux-arm64 --self-contained -o DIR
#   scripts/pi/install.sh --prefix /tmp/stage --from DIR   # lay the files out under a folder only (no root, no system changes)
#
# Options: --user NAME (default hilrig), --rid RID (default from uname -m), --no-start (install units, start nothing).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
here="$repo/scripts/pi"
prefix=""
from=""
rig_user="hilrig"
rid=""
start=1

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a folder}"; shift 2 ;;
    --from) from="${2:?--from needs a folder with a published hilrig}"; shift 2 ;;
    --user) rig_user="${2:?--user needs a name}"; shift 2 ;;
    --rid) rid="${2:?--rid needs a runtime id, e.g. linux-arm64}"; shift 2 ;;
    --no-start) start=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

# With --prefix only files are laid out; every command that changes the system is printed instead of run.
system() {
  if [ -n "$prefix" ]; then
    echo "would run: $*"
  else
    "$@"
  fi
}

if [ -z "$prefix" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo), or use --prefix DIR to lay the files out without installing" >&2
  exit 2
fi

if [ -z "$rid" ]; then
  case "$(uname -m)" in
    aarch64|arm64) rid="linux-arm64" ;;
    armv7l|armv6l) rid="linux-arm" ;;
    x86_64) rid="linux-x64" ;;
    *) echo "install.sh: unknown machine $(uname -m); pass --rid" >&2; exit 2 ;;
  esac
fi

opt="$prefix/opt/hilrig"
etc="$prefix/etc/hilrig"
var="$prefix/var/lib/hilrig"
units="$prefix/etc/systemd/system"
rules="$prefix/etc/udev/rules.d"

# 1. Packages the Pi backend loads at run time (libgpiod, libusb) and the tools a maintainer checks the rig with.
echo "== packages"
gpiod_pkg="libgpiod2"
if apt-cache show libgpiod3 >/dev/null 2>&1; then gpiod_pkg="libgpiod3"; fi
packages=("$gpiod_pkg" libusb-1.0-0 i2c-tools uhubctl dfu-util)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  system apt-get update -qq
  system env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# 2. The self-contained build.
echo "== hilrig ($rid)"
if [ -z "$from" ]; then
  command -v dotnet >/dev/null || { echo "install.sh: no dotnet SDK here; publish on another machine and pass --from DIR" >&2; exit 2; }
  from="$(mktemp -d)"
  trap 'rm -rf "$from"' EXIT
  dotnet publish "$repo/rig/HilRig.Cli" -c Release -r "$rid" --self-contained -o "$from" -v q --nologo
fi
[ -x "$from/hilrig" ] || { echo "install.sh: $from/hilrig is missing or not executable (a self-contained publish of rig/HilRig.Cli)" >&2; exit 2; }
mkdir -p "$(dirname "$opt")"
rm -rf "$opt.new"
cp -a "$from" "$opt.new"
# Swap in one rename so a running service never sees a half-copied folder; the previous build stays as .old.
if [ -d "$opt" ]; then rm -rf "$opt.old"; mv "$opt" "$opt.old"; fi
mv "$opt.new" "$opt"
mkdir -p "$prefix/usr/local/bin"
ln -sfn /opt/hilrig/hilrig "$prefix/usr/local/bin/hilrig"

# 3. The rig user and its groups: gpio (/dev/gpiochip*), i2c (/dev/i2c-*), dialout (ttyACM), plugdev (USB).
echo "== user $rig_user"
for g in gpio i2c dialout plugdev; do
  getent group "$g" >/dev/null || system groupadd --system "$g"
done
if ! id "$rig_user" >/dev/null 2>&1; then
  system useradd --system --home-dir /var/lib/hilrig --shell /usr/sbin/nologin --user-group "$rig_user"
fi
system usermod -a -G gpio,i2c,dialout,plugdev "$rig_user"

# 4. Config and results: the config is the maintainer's, never overwritten; results live under /var/lib/hilrig.
echo "== config"
mkdir -p "$etc" "$var"
if [ ! -f "$etc/rig-config.yaml" ]; then
  sed -e 's/^backend: sim .*/backend: pi                     # the real rig on this Pi/' \
      -e 's/^backend: sim$/backend: pi/' \
      -e 's#path: results/hilrig.db.*#path: /var/lib/hilrig/hilrig.db#' \
      "$repo/rig-config.yaml" > "$etc/rig-config.yaml"
  echo "wrote $etc/rig-config.yaml (backend: pi): edit slots: to match the wiring, then run: hilrig doctor --config /etc/hilrig/rig-config.yaml"
else
  echo "kept $etc/rig-config.yaml"
fi
system chown -R "$rig_user:$rig_user" "$var"

# 5. udev rules for Spark Cores (DFU 1d50:607f, serial 1d50:607d) and hub port power.
echo "== udev"
mkdir -p "$rules"
install -m 0644 "$here/50-hilrig.rules" "$rules/50-hilrig.rules"
system udevadm control --reload-rules
system udevadm trigger --subsystem-match=usb --subsystem-match=tty

# 6. I2C: raspi-config where there is one, else the firmware config and the i2c-dev module.
echo "== i2c"
if [ -z "$prefix" ] && command -v raspi-config >/dev/null; then
  raspi-config nonint do_i2c 0
else
  boot_config=""
  for c in "$prefix/boot/firmware/config.txt" "$prefix/boot/config.txt"; do
    if [ -f "$c" ]; then boot_config="$c"; break; fi
  done
  if [ -n "$boot_config" ]; then
    grep -q '^dtparam=i2c_arm=on' "$boot_config" || echo 'dtparam=i2c_arm=on' >> "$boot_config"
  else
    echo "no config.txt found: enable I2C by hand (dtparam=i2c_arm=on) and reboot"
  fi
  mkdir -p "$prefix/etc/modules-load.d"
  echo i2c-dev > "$prefix/etc/modules-load.d/hilrig-i2c.conf"
fi
[ -e /dev/i2c-1 ] || echo "I2C is enabled from the next boot: reboot before running hilrig doctor"

# 7. systemd: the dashboard service and the nightly soak timer.
echo "== systemd"
mkdir -p "$units"
for u in hilrig-dashboard.service hilrig-soak.service hilrig-soak.timer; do
  sed "s/^User=hilrig$/User=$rig_user/; s/^Group=hilrig$/Group=$rig_user/" "$here/$u" > "$units/$u"
  chmod 0644 "$units/$u"
done
system systemctl daemon-reload
if [ "$start" -eq 1 ]; then
  system systemctl enable --now hilrig-dashboard.service hilrig-soak.timer
else
  system systemctl enable hilrig-dashboard.service hilrig-soak.timer
fi

echo "installed: $opt/hilrig; check the rig with: hilrig doctor --config /etc/hilrig/rig-config.yaml"
