#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian machine with the .NET 10 SDK: the real peers the tests use.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(dfu-util uhubctl socat libusb-1.0-0 gcc shellcheck chromium postgresql python3-serial python3-usb)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Node.js for the Allure 3 report (scripts/allure-report.sh installs the npm package "allure" itself). Only when
# there is no node at all: a Node.js from another source already brings its own npm.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing nodejs npm"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
