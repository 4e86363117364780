// Build step after tsc: copies the simulator page's HTML and CSS next to its compiled app.js in dist/.
import { copyFileSync, mkdirSync } from 'node:fs';

const from = new URL('./page/', import.meta.url);
const to = new URL('../../../dist/src/http/simulator/page/', import.meta.url);
mkdirSync(to, { recursive: true });
for (const file of ['index.html', 'style.css']) copyFileSync(new URL(file, from), new URL(file, to));
