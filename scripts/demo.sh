#!/usr/bin/env bash
# One job end to end on a real engine: the built action (dist/, Node 24) runs through the runner harness — pre,
# a checkout, main, job steps that use the job's own daemon, post — and the engine is checked afterwards.
set -euo pipefail
source "$(dirname "$0")/prepare.sh"
rm -rf .demo-build
npx tsc -p scripts/tsconfig.demo.json
status=0
in_bed node .demo-build/scripts/demo.js "$@" || status=$?
rm -rf .demo-build
exit $status
