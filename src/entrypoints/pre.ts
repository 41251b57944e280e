import { runPre } from '../phases.js';
import { githubPlatform } from '../platform/github.js';

// docker-modem calls url.parse, which Node 24 reports on every run; it says nothing to the action's users.
process.noDeprecation = true;
await runPre(githubPlatform());
// Libraries may leave timers or sockets behind (the cache client's download segments): the phase is over.
process.exit();
