import { runCli } from '../cli.js';

// docker-modem calls url.parse, which Node 24 reports on every run; it says nothing to the CLI's users.
process.noDeprecation = true;
process.exit(await runCli(process.argv.slice(2), process.env));
