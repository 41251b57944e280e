// The CLI (package.json bin, and the npm package): a bundle of its own in dist/cli/, self-contained, because the
// npm package ships only that directory. It never loads the GitHub cache client.
import { runCli } from '../cli.js';
import { FORWARDER_FLAG, runForwarder } from '../background/forwarder.js';

// The port forwarder `start` leaves running for the job is this same bundle (background/forwarder.ts).
if (process.argv[2] === FORWARDER_FLAG) {
  await runForwarder(process.argv[3] ?? '');
  process.exit();
}
process.exit(await runCli(process.argv.slice(2), process.env));
