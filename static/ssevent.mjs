// ES module entry of the ssevent browser client, for bundlers and
// <script type="module">. It loads ssevent.wasm and wasm_exec.js from beside
// this file unless options say otherwise.
import './ssevent.js';

const baseURL = new URL('./', import.meta.url).href;

/**
 * Connects to an ssevent hub. See ssevent.d.ts.
 * @param {string} url the hub's endpoint, e.g. "/events"
 * @param {import('./ssevent').ConnectOptions} [options]
 * @returns {import('./ssevent').SSEventClient}
 */
export function connectSSE(url, options) {
  // Anything but an object (or nothing) goes as it is, for connect to refuse.
  const withBase = options === undefined || options === null || (typeof options === 'object' && !Array.isArray(options));
  return globalThis.SSEvent.connect(url, withBase ? Object.assign({ baseURL }, options) : options);
}

export default connectSSE;
