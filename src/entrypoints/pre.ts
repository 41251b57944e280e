import { runPre } from '../phases.js';
import { githubPlatform } from '../platform/github.js';

await runPre(githubPlatform());
