import { runPost } from '../phases.js';
import { githubPlatform } from '../platform/github.js';

await runPost(githubPlatform());
