#!/usr/bin/env bash
# The whole test suite on a fresh machine of this kind (installs what it needs; see prepare.sh): type check, then
# unit, integration and end-to-end tests on a real engine. Extra arguments go to vitest.
set -euo pipefail
source "$(dirname "$0")/prepare.sh"

say "type check"
npx tsc --noEmit -p tsconfig.json

say "tests (DOCKER_HOST=$DOCKER_HOST; dist/ runs under Node $("$SETUP_DIND_NODE" --version))"
npx vitest run "$@"
