// @ts-check
// Entry point: index.html loads this module after /config.js.
import { App } from './app.js';

const app = new App(window);
app.start();
