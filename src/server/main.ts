/**
 * Entry point of `dist/server.js`. The transport comes from the command line, as every LSP client
 * expects: `--node-ipc` (what vscode-languageclient uses), `--stdio`, `--socket=<port>` or
 * `--pipe=<name>`.
 */
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startServer } from './server';

const connection = createConnection(ProposedFeatures.all);
// A bug in one request must not take the server (and every lens) down: log it and keep serving.
process.on('unhandledRejection', (e) => connection.console.error(`unhandled rejection: ${String(e)}`));
startServer(connection);
