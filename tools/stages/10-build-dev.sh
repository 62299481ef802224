# shellcheck shell=bash
# what: configure and build the dev preset (gcc, Debug, ASan + UBSan, -Werror)
# budget: 130
# packages: gcc libcmocka-dev
set -euo pipefail
. "$VNAT_ROOT/tools/lib/common.sh"
vnat_configure dev
vnat_build dev
