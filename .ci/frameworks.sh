#!/usr/bin/env bash
# The framework targets' block of CI: one venv per framework (their openai pins clash: DSPy
# needs openai<3, openai-agents 0.24 needs openai>=3), installed in parallel, and the variables
# the framework tests read. Source it from .ci/run before pytest:  source .ci/frameworks.sh
set -euo pipefail
# kept between runs on one machine: a second install into an existing venv takes seconds
VENVS="${AALP_VENVS:-$(python3 -c 'import tempfile; print(tempfile.gettempdir())')/aalp-venvs}"
mkdir -p "$VENVS"
start=$SECONDS

make_venv() {  # name, packages...
  local name=$1; shift
  if [ ! -x "$VENVS/$name/bin/python" ]; then
    python3 -m venv "$VENVS/$name" 2>/dev/null || {
      # a Python without the venv module: virtualenv does the same
      python3 -m pip install --quiet virtualenv && python3 -m virtualenv -q "$VENVS/$name"
    }
  fi
  "$VENVS/$name/bin/pip" install --quiet --disable-pip-version-check "$@" \
    > "$VENVS/$name.log" 2>&1 || { cat "$VENVS/$name.log"; return 1; }
}

make_venv langgraph 'langgraph>=1.0,<2' 'langchain-core>=1.0,<2' 'langchain-openai>=1.0,<2' \
  'langgraph-checkpoint-sqlite>=2.0,<4' &
p1=$!
make_venv dspy 'dspy>=3.0,<4' 'openai<3' &
p2=$!
make_venv openai_agents 'openai-agents>=0.24,<1' 'openai>=3' &
p3=$!
make_venv autogen 'autogen-agentchat>=0.7,<0.8' 'autogen-ext[openai]>=0.7,<0.8' &
p4=$!
# about 1 GB; it pins openai<3 itself
make_venv crewai 'crewai>=1.15,<2' &
p5=$!
wait $p1 && wait $p2 && wait $p3 && wait $p4 && wait $p5
echo "framework venvs ready in $((SECONDS - start)) s"

export AALP_VENV_LANGGRAPH="$VENVS/langgraph"
export AALP_VENV_DSPY="$VENVS/dspy"
export AALP_VENV_OPENAI_AGENTS="$VENVS/openai_agents"
export AALP_VENV_AUTOGEN="$VENVS/autogen"
export AALP_VENV_CREWAI="$VENVS/crewai"
export AALP_REQUIRE_TARGETS=1
