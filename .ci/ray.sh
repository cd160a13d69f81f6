#!/usr/bin/env bash
# The ray target's block of CI: a cached venv with Ray and the openai SDK (what the emitted
# programs need on every node), and the variable its tests read. Source it from .ci/run
# before pytest:  source .ci/ray.sh
set -euo pipefail
# kept between runs on one machine, beside the framework venvs
VENVS="${AALP_VENVS:-$(python3 -c 'import tempfile; print(tempfile.gettempdir())')/aalp-venvs}"
mkdir -p "$VENVS"
start=$SECONDS
if [ ! -x "$VENVS/ray/bin/python" ]; then
  python3 -m venv "$VENVS/ray" 2>/dev/null || {
    python3 -m pip install --quiet virtualenv && python3 -m virtualenv -q "$VENVS/ray"
  }
fi
"$VENVS/ray/bin/pip" install --quiet --disable-pip-version-check 'ray>=2.50,<3' 'openai>=1.40' \
  > "$VENVS/ray.log" 2>&1 || { cat "$VENVS/ray.log"; exit 1; }
echo "ray venv ready in $((SECONDS - start)) s"
export AALP_VENV_RAY="$VENVS/ray"
export AALP_REQUIRE_TARGETS=1
