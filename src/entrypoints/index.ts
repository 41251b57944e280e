// The one bundle the action's three phases share (dist/setup-dind.js): each phase's generated dist/<phase>/index.js
// imports it and runs its function.
import { FORWARDER_FLAG, runForwarder } from '../daemon/ports.js';
import { runMain, runPost, runPre } from '../phases.js';
import { githubPlatform } from '../platform/github.js';

export const pre = () => runPre(githubPlatform());
// The port forwarder main leaves running for the job's steps is main's own entry, started again with a flag.
export const main = () => (process.argv[2] === FORWARDER_FLAG ? runForwarder(process.argv[3] ?? '') : runMain(githubPlatform()));
export const post = () => runPost(githubPlatform());
