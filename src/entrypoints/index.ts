// The one bundle the action's three phases share (dist/setup-dind.js): each phase's generated dist/<phase>/index.js
// imports it and runs its function.
import { FORWARDER_FLAG, runForwarder } from '../background/forwarder.js';
import { RUN_CHECK_FLAG, runRunCheck } from '../background/run-check.js';
import { runMain, runPost, runPre } from '../phases.js';
import { githubPlatform } from '../platform/github.js';

/** The processes pre (or main) leave running: the run check and the port forwarder are the phase's entry with a flag. */
const helper = (): Promise<void> | undefined => {
  if (process.argv[2] === RUN_CHECK_FLAG) return runRunCheck(process.argv[3] ?? '');
  if (process.argv[2] === FORWARDER_FLAG) return runForwarder(process.argv[3] ?? '');
  return undefined;
};
export const pre = () => helper() ?? runPre(githubPlatform(), { helperScript: process.argv[1] });
export const main = () => helper() ?? runMain(githubPlatform());
export const post = () => runPost(githubPlatform());
