// The CLI (package.json bin, and the npm package): a bundle of its own in dist/cli/, self-contained, because the
// npm package ships only that directory. It never loads the GitHub cache client.
import { runCli } from '../cli.js';

process.exit(await runCli(process.argv.slice(2), process.env));
