import { runCli } from '../cli.js';
import { FORWARDER_FLAG, runForwarder } from '../daemon/ports.js';

// docker-modem calls url.parse, which Node 24 reports on every run; it says nothing to the CLI's users.
process.noDeprecation = true;
// The port forwarder `start` leaves running for the job is this same bundle (daemon/ports.ts).
if (process.argv[2] === FORWARDER_FLAG) {
  await runForwarder(process.argv[3] ?? '');
  process.exit();
}
process.exit(await runCli(process.argv.slice(2), process.env));
