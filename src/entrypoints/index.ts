// The one bundle the action's three phases share (dist/setup-dind.js): each phase's generated dist/<phase>/index.js
// imports it and runs its function.
import { runMain, runPost, runPre } from '../phases.js';
import { githubPlatform } from '../platform/github.js';

export const pre = () => runPre(githubPlatform());
export const main = () => runMain(githubPlatform());
export const post = () => runPost(githubPlatform());
