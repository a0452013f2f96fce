// @ts-check
// Entry point of the lobby (canvases.html, served at /canvases).
import { Lobby } from './ui/lobby.js';
import { registerOffline } from './ui/offline.js';

new Lobby(window).start();
registerOffline(window);
// The modules loaded: js/boot.js counts failed loads from here on afresh.
try {
  sessionStorage.removeItem('pixelPlayground.loadAttempts');
} catch {
  // storage refused: boot.js does not count, nor reload
}
