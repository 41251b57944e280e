// The one bundle every entry point shares (dist/setup-dind.js): each phase's tiny dist/<phase>/index.js imports it
// and runs its function, so a job's three processes parse the same file (one compile cache entry, one copy in dist/).
import { runCli } from '../cli.js';
import { runMain, runPost, runPre } from '../phases.js';
import { githubPlatform } from '../platform/github.js';

export const pre = () => runPre(githubPlatform());
export const main = () => runMain(githubPlatform());
export const post = () => runPost(githubPlatform());
export const cli = (argv: string[]) => runCli(argv, process.env);
