/**
 * Entry point of `dist/server.js`. The transport comes from the command line, as every LSP client
 * expects: `--node-ipc` (what vscode-languageclient uses), `--stdio`, `--socket=<port>` or
 * `--pipe=<name>`.
 */
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startServer } from './server';

startServer(createConnection(ProposedFeatures.all));
