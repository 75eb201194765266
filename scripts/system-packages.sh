#!/usr/bin/env bash
# The Debian packages the project needs, from the distribution (nothing is downloaded
# by the tests themselves): Chromium and its driver for the browser test, Tesseract with
# English and Simplified Chinese data for scanned PDFs, and a CJK font for the OCR tests.
# Installs only what is missing, so a second run costs a dpkg query; sudo only when not root.
set -euo pipefail
packages=(chromium chromium-driver tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim fonts-noto-cjk)
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
