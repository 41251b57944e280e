import { FORWARDER_FLAG, runForwarder } from '../daemon/ports.js';
import { runMain } from '../phases.js';
import { githubPlatform } from '../platform/github.js';

// docker-modem calls url.parse, which Node 24 reports on every run; it says nothing to the action's users.
process.noDeprecation = true;
// The port forwarder main leaves running for the job's steps is this same bundle (daemon/ports.ts).
if (process.argv[2] === FORWARDER_FLAG) await runForwarder(process.argv[3] ?? '');
else await runMain(githubPlatform());
// Libraries may leave timers or sockets behind (the cache client's download segments): the phase is over.
process.exit();
