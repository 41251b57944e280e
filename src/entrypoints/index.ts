// The one bundle the action's three phases share (dist/setup-dind.js): each phase's generated dist/<phase>/index.js
// imports it and runs its function.
import { FORWARDER_FLAG, runForwarder } from '../daemon/ports.js';
import { RUN_CHECK_FLAG, runRunCheck } from '../daemon/run-check.js';
import { runMain, runPost, runPre } from '../phases.js';
import { githubPlatform } from '../platform/github.js';

// The run check pre leaves running until the daemon can be probed is pre's own entry, started again with a flag.
export const pre = () => (process.argv[2] === RUN_CHECK_FLAG ? runRunCheck(process.argv[3] ?? '') : runPre(githubPlatform(), { runCheckScript: process.argv[1] }));
// The port forwarder main leaves running for the job's steps is main's own entry, started again with a flag.
export const main = () => (process.argv[2] === FORWARDER_FLAG ? runForwarder(process.argv[3] ?? '') : runMain(githubPlatform()));
export const post = () => runPost(githubPlatform());
