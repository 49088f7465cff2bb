#!/usr/bin/env bash
# Debian packages some tests need: chromium + chromium-driver (browser tests, driven by
# Playwright with executablePath=/usr/bin/chromium; no browser is ever downloaded by a tool),
# poppler-utils (the PDF certificate rasterised with pdftoppm), and the certificate's fonts:
# fonts-noto-core (Latin, Greek, Cyrillic, Arabic, Hebrew), fonts-noto-cjk (Chinese, Japanese,
# Korean) and fonts-dejavu-core (fallback). Installed when missing and running as root; otherwise a
# warning, and those tests skip locally (they fail in CI, where CI or
# BXC_REQUIRE_SYSTEM_TOOLS is set).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
[ -f /usr/share/fonts/truetype/noto/NotoSansArabic-Bold.ttf ] || missing+=(fonts-noto-core)
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc ] || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "warning: missing system packages ${missing[*]} (not root: install them with apt-get);" \
       "browser and PDF-raster tests will be skipped or fail" >&2
fi
