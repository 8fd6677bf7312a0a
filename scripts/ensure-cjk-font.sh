#!/usr/bin/env bash
# Makes a CJK font available for the printing tests, which print Chinese, Japanese and Korean
# names into a certificate's PDF: installs Debian's `fonts-wqy-microhei` (1.6 MB) when kpchain
# finds no CJK font (`kpchain.printing.cjk.find_cjk_font`: $KPCHAIN_CJK_FONT, fontconfig, then
# Debian's paths). Where it cannot (no apt, no root or sudo), those tests are skipped with a
# message, except under CI=true, where this fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/apt-ensure.sh

if .venv/bin/python -c "
import os, sys
from kpchain.printing.cjk import find_cjk_font
sys.exit(0 if find_cjk_font(os.environ.get('KPCHAIN_CJK_FONT', '')) else 1)
"; then
  exit 0
fi
apt_ensure fonts-wqy-microhei "the CJK printing tests"
