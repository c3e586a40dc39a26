#!/usr/bin/env bash
# Installs the Python test tools of scripts/test-tools.txt (AWS CLI, moto_server, boto3) into
# one virtualenv, ${ESB_TEST_TOOLS:-~/.esb/test-tools}, and prints its bin directory. Tests
# find the tools there (crates/*/tests read ESB_TEST_TOOLS or that default). Safe to rerun: a
# virtualenv whose requirements did not change is left alone.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv=${ESB_TEST_TOOLS:-$HOME/.esb/test-tools}
stamp="$venv/.requirements"

if [[ -x $venv/bin/python3 ]] && cmp -s scripts/test-tools.txt "$stamp"; then
    echo "$venv/bin"
    exit 0
fi
rm -rf "$venv"
python3 -m venv "$venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/test-tools.txt >&2
cp scripts/test-tools.txt "$stamp"
echo "$venv/bin"
