#!/usr/bin/env bash
# The whole test suite on a fresh machine of this kind (installs what it needs; see prepare.sh): type check, then
# unit, integration and end-to-end tests on a real engine. Extra arguments go to vitest (e.g. a test file).
set -euo pipefail
# The bed's images build while the type check and the unit tests run (those never use the engine).
PREPARE_BED_IMAGES=background
source "$(dirname "$0")/prepare.sh"

# gitlab-ci-local (the GitLab pipeline tests) needs Node 22; installed here, where the npm registry answers.
SETUP_DIND_NODE22=$(node_major 22)
export SETUP_DIND_NODE22

say "type check"
npx tsc --noEmit -p tsconfig.json

if [ $# -gt 0 ]; then
  bed_images_ready || fail "the test bed's images could not be built (its messages, marked [bed], are above); nothing was run"
  status=0
  in_bed npx vitest run "$@" || status=$?
  exit $status
fi
# One project after the other: end-to-end tests compare snapshots of the engine and must not overlap anything else.
REPORTS="$TMPDIR/reports"
mkdir -p "$REPORTS"
status=0
say "unit and integration tests"
in_bed npx vitest run --project unit --reporter=default --reporter=json --outputFile.json="$REPORTS/unit.json" || status=$?
if bed_images_ready; then
  say "end-to-end tests (DOCKER_HOST=$DOCKER_HOST; dist/ runs under Node $("$SETUP_DIND_NODE" --version))"
  in_bed npx vitest run --project e2e --reporter=default --reporter=json --outputFile.json="$REPORTS/e2e.json" || status=$?
else
  # No e2e report: the closing line counts that as a failure.
  printf "\nerror: the test bed's images could not be built (its messages, marked [bed], are above): no end-to-end tests ran\n" >&2
  status=1
fi
# One closing line for both runs, in the plain form CI reads.
node -e '
  let passed = 0, failed = 0, skipped = 0;
  for (const file of process.argv.slice(1)) {
    try {
      const r = JSON.parse(require("fs").readFileSync(file, "utf8"));
      passed += r.numPassedTests; failed += r.numFailedTests + (r.numFailedTestSuites && !r.numFailedTests ? 1 : 0);
      skipped += r.numPendingTests + r.numTodoTests;
    } catch { failed += 1; }
  }
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
' "$REPORTS/unit.json" "$REPORTS/e2e.json"
exit $status
