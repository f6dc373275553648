/** Entry point of the webview bundle (dist/webview.js + dist/webview.css), shared by all hosts. */
import './styles.css';
import { startApp } from './app';
import { detectHost } from './host';

const root = document.getElementById('app');
if (root) startApp(detectHost(), root);
