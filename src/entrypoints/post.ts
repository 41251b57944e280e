import { runPost } from '../phases.js';
import { githubPlatform } from '../platform/github.js';

await runPost(githubPlatform());
// Libraries may leave timers or sockets behind (the cache client's download segments): the phase is over.
process.exit();
