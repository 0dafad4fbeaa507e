#!/usr/bin/env bash
# CI check (issue 22): no import circle between the files of src/ (scripts/import-graph.py says
# how arrows are counted). Every arrow points down the pipeline, so a circle is a design error.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 scripts/import-graph.py
