import { runMain } from '../phases.js';
import { githubPlatform } from '../platform/github.js';

await runMain(githubPlatform());
