// ES module entry of the ssevent browser client, for bundlers and
// <script type="module">. The files it needs are named by literal
// new URL('./…', import.meta.url) expressions, which bundlers (Vite,
// esbuild with its file loader, webpack 5) recognise: they copy the files
// into the build and rewrite the URLs. Options may still point elsewhere.
import './ssevent.js';

const files = {
  wasmURL: new URL('./ssevent.wasm', import.meta.url).href,
  wasmExecURL: new URL('./wasm_exec.js', import.meta.url).href,
  workerURL: new URL('./ssevent-worker.js', import.meta.url).href,
};

/**
 * Connects to an ssevent hub. See ssevent.d.ts.
 * @param {string} url the hub's endpoint, e.g. "/events"
 * @param {import('./ssevent').ConnectOptions} [options]
 * @returns {import('./ssevent').SSEventClient}
 */
export function connectSSE(url, options) {
  // Anything but an object (or nothing) goes as it is, for connect to refuse.
  const withFiles = options === undefined || options === null || (typeof options === 'object' && !Array.isArray(options));
  if (!withFiles) return globalThis.SSEvent.connect(url, options);
  const o = Object.assign({}, options);
  // A baseURL of the caller's names the files; otherwise the module's own.
  if (o.baseURL === undefined || o.baseURL === null) {
    for (const k of Object.keys(files)) if (o[k] === undefined || o[k] === null) o[k] = files[k];
  }
  return globalThis.SSEvent.connect(url, o);
}

export default connectSSE;
