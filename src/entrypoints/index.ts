// The one bundle the action's three phases share (dist/setup-dind.js): each phase's generated dist/<phase>/index.js
// turns on Node's compile cache, imports it and runs its function, so a job's three processes parse the same file
// and the second and third reuse what the first compiled.
import { runMain, runPost, runPre } from '../phases.js';
import { githubPlatform } from '../platform/github.js';

export const pre = () => runPre(githubPlatform());
export const main = () => runMain(githubPlatform());
export const post = () => runPost(githubPlatform());
