/*! ssevent browser client: <script src="/ssevent/ssevent.js"></script>, then
 * SSEvent.connect(url, options). The work is done by ssevent.wasm (Go).
 * Tabs of one origin share one stream per hub URL: the Go client runs once
 * per browser in a SharedWorker (ssevent-worker.js) and each tab's clients
 * are views of it, with their own handlers and channels. Where SharedWorker
 * is missing, with options.shared false, or with a headers function (it
 * cannot cross into the worker), the client runs in the page. The files are
 * found beside this script unless options.baseURL, options.wasmURL,
 * options.wasmExecURL or options.workerURL say otherwise. */
(function () {
  'use strict';
  var g = globalThis;
  if (g.SSEvent && g.SSEvent.connect) return;

  var script = typeof document !== 'undefined' ? document.currentScript : null;
  var scriptBase = script && script.src ? new URL('./', script.src).href : null;
  // The files' names. A server may give them content-hashed names: package
  // static rewrites this line when it serves the file.
  var names = /*ssevent:names*/{"wasm":"ssevent.wasm","exec":"wasm_exec.js","worker":"ssevent-worker.js"}/*end*/;

  function sseventError(message, code, props) {
    var e = new Error('ssevent: ' + message);
    e.name = 'SSEventError';
    e.code = code;
    if (props) Object.keys(props).forEach(function (k) { if (props[k] !== undefined) e[k] = props[k]; });
    return e;
  }

  function fileURLs(o) {
    var base = o.baseURL || scriptBase || (typeof location !== 'undefined' ? location.href : '');
    return {
      wasm: new URL(o.wasmURL || names.wasm, base).href,
      exec: new URL(o.wasmExecURL || names.exec, base).href,
      worker: new URL(o.workerURL || names.worker, base).href
    };
  }

  // ---- The Go program in the page ----

  var loading = null;

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = src;
      s.onload = resolve;
      s.onerror = function () { s.remove(); reject(new Error('cannot load ' + src)); };
      document.head.appendChild(s);
    });
  }

  // runWasm compiles the wasm while it downloads (when served as
  // application/wasm) and starts it; it resolves to the bridge.
  async function runWasm(response, url) {
    var resp = await response;
    if (!resp.ok) throw new Error('cannot load ' + url + ': HTTP ' + resp.status);
    var go = new g.Go();
    var started = new Promise(function (resolve) { g.__sseventReady = resolve; });
    var result;
    if ((resp.headers.get('Content-Type') || '').indexOf('application/wasm') === 0) {
      result = await WebAssembly.instantiateStreaming(resp, go.importObject);
    } else {
      result = await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject);
    }
    var exited = go.run(result.instance).then(function () { throw new Error(url + ' exited'); });
    await Promise.race([started, exited]);
    return g.__ssevent;
  }

  // loadInPage starts the Go program once for the page and resolves to its
  // bridge. The wasm downloads in parallel with wasm_exec.js. A failure
  // rejects with code "wasm_load" and is not kept: the next connect loads
  // again.
  function loadInPage(urls) {
    if (g.__ssevent) return Promise.resolve(g.__ssevent);
    if (loading) return loading;
    loading = (async function () {
      try {
        var response = fetch(urls.wasm, { credentials: 'same-origin' });
        response.catch(function () {});
        if (typeof g.Go === 'undefined') await loadScript(urls.exec);
        return await runWasm(response, urls.wasm);
      } catch (e) {
        throw sseventError((e && e.message) || String(e), 'wasm_load', { cause: e });
      }
    })();
    loading.catch(function () { loading = null; });
    return loading;
  }

  // ---- Checks: a value of the wrong type is refused with a TypeError
  // naming it (a RangeError for a number out of range), never ignored or
  // coerced. Undefined and null mean the default. ----

  function typeName(v) {
    if (v === null) return 'null';
    if (Array.isArray(v)) return 'an array';
    return (typeof v === 'object' || typeof v === 'undefined' ? 'an ' : 'a ') + typeof v;
  }

  function given(v) { return v !== undefined && v !== null; }

  function isPlainObject(v) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
    var p = Object.getPrototypeOf(v);
    return p === Object.prototype || p === null;
  }

  function checkChannels(list, what) {
    for (var i = 0; i < list.length; i++) {
      if (typeof list[i] !== 'string') {
        throw new TypeError('ssevent: ' + what + ': a channel name must be a string, got ' + typeName(list[i]) + ' at index ' + i);
      }
    }
  }

  // channelProblem mirrors the protocol's rule for a channel name (1 to
  // 128 bytes of UTF-8, no comma, no control character), so that a bad
  // name is refused at once, with code "invalid_channel", sending nothing.
  function channelProblem(ch) {
    if (ch === '') return 'empty';
    if (typeof ch.isWellFormed === 'function' && !ch.isWellFormed()) return 'not valid UTF-8';
    if (new TextEncoder().encode(ch).length > 128) return 'longer than 128 bytes';
    if (ch.indexOf(',') >= 0) return 'contains a comma';
    if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(ch)) return 'contains a control character';
    return null;
  }

  function checkValue(what, name, v, kind) {
    var want = kind === 'boolean' ? 'boolean' : kind === 'url' ? 'string' : 'number';
    if (typeof v !== want && !(kind === 'url' && v instanceof URL)) {
      throw new TypeError('ssevent: ' + what + name + ' must be a ' + want + ', got ' + typeName(v));
    }
    if (kind === 'ms' && !(v >= 0 && v < Infinity)) {
      throw new RangeError('ssevent: ' + what + name + ' must be a finite number of milliseconds, 0 or more, got ' + v);
    }
    if (kind === 'timeout' && !(v >= 0 && v < Infinity)) {
      throw new RangeError('ssevent: ' + what + name + ' must be a finite number of milliseconds, 0 or more (0: no timeout), got ' + v);
    }
    if (kind === 'count' && !(v >= 0)) {
      throw new RangeError('ssevent: ' + what + name + ' must be 0 or more (0: the first failure is final; Infinity: unlimited), got ' + v);
    }
  }

  var optionKinds = {
    autoReconnect: 'boolean',
    withCredentials: 'boolean',
    shared: 'boolean',
    maxReconnectAttempts: 'count',
    reconnectDelay: 'ms',
    maxReconnectDelay: 'ms',
    connectTimeout: 'timeout',
    requestTimeout: 'timeout',
    baseURL: 'url',
    wasmURL: 'url',
    wasmExecURL: 'url',
    workerURL: 'url'
  };

  function checkOptions(o) {
    if (!given(o)) return {};
    if (typeof o !== 'object' || Array.isArray(o)) {
      throw new TypeError('ssevent: options must be an object, got ' + typeName(o));
    }
    Object.keys(optionKinds).forEach(function (name) {
      if (given(o[name])) checkValue('option ', name, o[name], optionKinds[name]);
    });
    if (given(o.headers) && typeof o.headers !== 'function' && (typeof o.headers !== 'object' || Array.isArray(o.headers))) {
      throw new TypeError('ssevent: option headers must be an object or a function, got ' + typeName(o.headers));
    }
    if (given(o.channels)) {
      if (!Array.isArray(o.channels)) {
        throw new TypeError('ssevent: option channels must be an array of strings, got ' + typeName(o.channels));
      }
      checkChannels(o.channels, 'option channels');
    }
    return o;
  }

  // callOptions takes the options object of subscribe/unsubscribe off the
  // end of the arguments: {signal, timeout}.
  function callOptions(action, args) {
    if (args.length === 0 || !isPlainObject(args[args.length - 1])) return undefined;
    var o = args.pop();
    Object.keys(o).forEach(function (k) {
      if (k !== 'signal' && k !== 'timeout') throw new TypeError('ssevent: ' + action + ': unknown option ' + k + ' (signal, timeout)');
    });
    if (given(o.signal) && !(typeof AbortSignal !== 'undefined' && o.signal instanceof AbortSignal)) {
      throw new TypeError('ssevent: ' + action + ': option signal must be an AbortSignal, got ' + typeName(o.signal));
    }
    if (given(o.timeout)) checkValue(action + ': option ', 'timeout', o.timeout, 'timeout');
    return { signal: given(o.signal) ? o.signal : undefined, timeout: given(o.timeout) ? o.timeout : undefined };
  }

  function abortedError(signal) {
    var reason = signal && signal.reason;
    return sseventError('aborted' + (reason && reason.message ? ': ' + reason.message : ''), 'aborted', { cause: reason });
  }

  // streamOptions are what the Go client takes (the bridge's connect).
  function streamOptions(o) {
    return {
      autoReconnect: o.autoReconnect,
      maxReconnectAttempts: o.maxReconnectAttempts,
      reconnectDelay: o.reconnectDelay,
      maxReconnectDelay: o.maxReconnectDelay,
      connectTimeout: o.connectTimeout,
      requestTimeout: o.requestTimeout,
      headers: o.headers,
      withCredentials: o.withCredentials,
      channels: o.channels
    };
  }

  // ---- Backends: the page's own Go client, or a view of the worker's ----

  // pageBackend runs a Go client in the page.
  function pageBackend(url, o, ctx) {
    return loadInPage(fileURLs(o)).then(function (b) {
      if (ctx.closed()) return null;
      var so = streamOptions(o);
      if (typeof so.headers === 'function') {
        // Called before every request: the bridge awaits a Promise of the
        // headers, rejected with whatever the function throws.
        var fn = so.headers;
        so.headers = function () { return Promise.resolve().then(function () { return fn(); }); };
      }
      var id = b.connect(String(url), so, ctx.emit, ctx.names());
      return {
        listen: function (name) { b.listen(id, name); },
        unlisten: function (name) { b.unlisten(id, name); },
        change: function (action, chs, call) { return b[action](id, chs, call); },
        clientId: function () { return b.clientId(id); },
        channels: function () { return b.channels(id); },
        isConnected: function () { return b.isConnected(id); },
        readyState: function () { return b.readyState(id); },
        close: function () { b.close(id); }
      };
    });
  }

  var tabId = Date.now().toString(36) + Math.random().toString(36).slice(2);
  var workers = {}; // worker URL -> worker link

  function rebuildError(e) {
    if (!e) return e;
    return sseventError(String(e.message).replace(/^ssevent: /, ''), e.code || 'error', { status: e.status, rejected: e.rejected, retryAfter: e.retryAfter });
  }

  // workerLink connects the page to the shared worker once per worker URL.
  // Its up promise resolves to true once the worker answers, false when it
  // cannot start (the clients then run in the page).
  function workerLink(urls) {
    var link = workers[urls.worker];
    if (link) return link;
    link = workers[urls.worker] = { views: new Map(), calls: new Map(), nextView: 1, nextCall: 1, port: null };
    var w;
    try {
      w = new SharedWorker(urls.worker, { name: 'ssevent' });
    } catch (e) {
      link.up = Promise.resolve(false);
      return link;
    }
    var port = link.port = w.port;
    link.up = new Promise(function (resolve) {
      w.onerror = function () { resolve(false); };
      port.onmessage = function (m) {
        var d = m.data;
        if (d.t === 'up') { resolve(true); return; }
        if (d.t === 'result') {
          var call = link.calls.get(d.call);
          if (!call) return;
          link.calls.delete(d.call);
          if (d.st) { var cv = link.views.get(d.v); if (cv) cv.state = d.st; }
          if (d.ok) call.resolve(d.value); else call.reject(rebuildError(d.error));
          return;
        }
        var view = link.views.get(d.v);
        if (!view) return;
        if (d.t === 'failed') {
          // The worker could not load the wasm: this client fails as one
          // in the page would.
          link.views.delete(d.v);
          view.settle(rebuildError(d.error));
          return;
        }
        view.settle();
        if (d.st) view.state = d.st;
        if (d.type) {
          var ev = d.ev;
          if (ev && ev.error) ev.error = rebuildError(ev.error);
          view.emit(d.type, ev);
        }
      };
    });
    link.up.then(function (ok) {
      if (!ok) return;
      hello(link);
      // The page leaves: the worker drops its views at once. A page that
      // comes back from the back/forward cache joins again.
      g.addEventListener('pagehide', function () { port.postMessage({ t: 'bye' }); });
      g.addEventListener('pageshow', function (ev) {
        if (!ev.persisted) return;
        hello(link);
        link.views.forEach(function (view) { view.rejoin(); });
      });
    });
    return link;
  }

  // hello introduces the tab to the worker. With Web Locks the tab holds a
  // lock named after it for as long as it lives; the worker asks for the
  // same lock and is granted it when the tab is gone, however it went
  // (closed, crashed, discarded): SharedWorker ports have no close event.
  function hello(link) {
    link.port.postMessage({ t: 'hello', tab: tabId });
    var locks = g.navigator && g.navigator.locks;
    if (!locks || link.locked) return;
    link.locked = true;
    var name = 'ssevent-tab-' + tabId;
    locks.request(name, function () {
      link.port.postMessage({ t: 'lock', name: name });
      return new Promise(function () {}); // held until the tab dies
    }).catch(function () { link.locked = false; });
  }

  // sharedBackend makes this client a view of the worker's client for the
  // hub URL, or resolves to null when the worker cannot start.
  function sharedBackend(url, o, ctx) {
    var urls = fileURLs(o);
    var link = workerLink(urls);
    return link.up.then(function (ok) {
      if (!ok) return null;
      if (ctx.closed()) return undefined;
      var v = link.nextView++;
      var so = streamOptions(o);
      var view = {
        state: { rs: 0, conn: false, id: null, chs: [] },
        emit: ctx.emit,
        rejoin: function () {
          var opts = Object.assign({}, so, { channels: view.wanted() });
          view.state = { rs: 0, conn: false, id: null, chs: [] };
          link.port.postMessage({ t: 'connect', v: v, url: String(new URL(String(url), location.href)), opts: opts, names: ctx.names(), wasm: urls.wasm, exec: urls.exec });
        },
        wanted: function () { return view.state.chs.length ? view.state.chs.slice() : (so.channels || []); }
      };
      // Settled by the worker's first answer: the view is running, or the
      // wasm failed to load.
      var running = new Promise(function (resolve, reject) {
        view.settle = function (err) {
          view.settle = function () {};
          if (err) reject(err); else resolve();
        };
      });
      link.views.set(v, view);
      link.port.postMessage({ t: 'connect', v: v, url: String(new URL(String(url), location.href)), opts: so, names: ctx.names(), wasm: urls.wasm, exec: urls.exec });
      return running.then(function () { return {
        listen: function (name) { link.port.postMessage({ t: 'listen', v: v, name: name }); },
        unlisten: function (name) { link.port.postMessage({ t: 'unlisten', v: v, name: name }); },
        change: function (action, chs, call) {
          return new Promise(function (resolve, reject) {
            var c = link.nextCall++;
            link.calls.set(c, { resolve: resolve, reject: reject });
            link.port.postMessage({ t: 'change', v: v, call: c, action: action, channels: chs, timeout: call && call.timeout });
            if (call && call.signal) {
              call.signal.addEventListener('abort', function () {
                if (link.calls.has(c)) link.port.postMessage({ t: 'abort', call: c });
              }, { once: true });
            }
          });
        },
        clientId: function () { return view.state.id; },
        channels: function () { return view.state.chs.slice(); },
        isConnected: function () { return view.state.conn; },
        readyState: function () { return view.state.rs; },
        close: function () {
          link.views.delete(v);
          link.port.postMessage({ t: 'close', v: v });
        }
      }; });
    });
  }

  // connect returns a client at once; its calls wait for the Go program.
  function connect(url, options) {
    options = checkOptions(options);
    var listeners = new Map(); // event name -> array of callbacks
    var backend = null;
    var closed = false;

    function emit(type, ev) {
      var ls = listeners.get(type);
      if (!ls) return;
      ls.slice().forEach(function (cb) {
        try { cb(ev); } catch (e) { setTimeout(function () { throw e; }); }
      });
    }

    var ctx = {
      emit: emit,
      names: function () { return Array.from(listeners.keys()); },
      closed: function () { return closed; }
    };
    var share = options.shared !== false && typeof SharedWorker === 'function' &&
      typeof options.headers !== 'function' && typeof location !== 'undefined';
    var ready = (share ? sharedBackend(url, options, ctx) : Promise.resolve(null)).then(function (b) {
      if (b === null && !closed) return pageBackend(url, options, ctx);
      return b;
    }).then(function (b) {
      if (!b) return null;
      if (closed) { b.close(); return null; }
      backend = b;
      return b;
    });
    ready.catch(function (err) {
      closed = true;
      if (!err || typeof err !== 'object') err = sseventError(String(err), 'error');
      if (!err.code) { err.name = 'SSEventError'; err.code = 'error'; }
      emit('error', { type: 'error', error: err });
    });

    function change(action, args) {
      var chs = Array.from(args), call;
      try {
        call = callOptions(action, chs);
        checkChannels(chs, action);
        if (chs.length === 0) throw new TypeError('ssevent: ' + action + ': no channel name given');
        chs.forEach(function (ch) {
          var why = channelProblem(ch);
          if (why) throw sseventError(action + ': invalid channel ' + JSON.stringify(ch) + ': ' + why, 'invalid_channel');
        });
      } catch (e) {
        return Promise.reject(e);
      }
      var signal = call && call.signal;
      if (signal && signal.aborted) return Promise.reject(abortedError(signal));
      return new Promise(function (resolve, reject) {
        var onAbort = function () { reject(abortedError(signal)); };
        if (signal) signal.addEventListener('abort', onAbort, { once: true });
        ready.then(function (b) {
          if (signal && signal.aborted) return undefined;
          if (!b || closed) throw sseventError('client closed', 'closed');
          return b.change(action, chs, call);
        }).then(resolve, reject).finally(function () {
          if (signal) signal.removeEventListener('abort', onAbort);
        });
      });
    }

    return {
      on: function (event, cb) {
        var ls = listeners.get(event);
        if (!ls) {
          listeners.set(event, ls = []);
          if (backend && !closed) backend.listen(event);
        }
        ls.push(cb);
        return this;
      },
      off: function (event, cb) {
        var ls = listeners.get(event);
        if (!ls) return this;
        if (cb) {
          var i = ls.indexOf(cb);
          if (i >= 0) ls.splice(i, 1);
        } else {
          ls.length = 0;
        }
        if (ls.length === 0) {
          listeners.delete(event);
          if (backend && !closed) backend.unlisten(event);
        }
        return this;
      },
      subscribe: function () { return change('subscribe', arguments); },
      unsubscribe: function () { return change('unsubscribe', arguments); },
      getClientId: function () { var id = backend && !closed ? backend.clientId() : null; return id || null; },
      getChannels: function () { return backend && !closed ? backend.channels() : []; },
      isConnected: function () { return !!(backend && !closed && backend.isConnected()); },
      getReadyState: function () {
        if (closed) return 2;
        return backend ? backend.readyState() : 0;
      },
      close: function () {
        if (closed) return;
        closed = true;
        listeners.clear();
        if (backend) backend.close();
      },
      ready: ready.then(function () {})
    };
  }

  g.SSEvent = { connect: connect, version: '0.2.0' };
})();
