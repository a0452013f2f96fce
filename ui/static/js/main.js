// @ts-check
// Entry point: index.html loads this module after /config.js.
import { App } from './app.js';
import { registerOffline } from './ui/offline.js';

const app = new App(window);
app.start();
registerOffline(window);
// The modules loaded: js/boot.js counts failed loads from here on afresh.
try {
  sessionStorage.removeItem('pixelPlayground.loadAttempts');
} catch {
  // storage refused: boot.js does not count, nor reload
}
