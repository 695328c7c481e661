/*! ssevent browser client: <script src="/ssevent/ssevent.js"></script>, then
 * SSEvent.connect(url, options). The work is done by ssevent.wasm (Go); this
 * file loads it once per page (with wasm_exec.js, found beside this script
 * unless options.baseURL, options.wasmURL or options.wasmExecURL say
 * otherwise) and queues calls until it is ready. */
(function () {
  'use strict';
  var g = globalThis;
  if (g.SSEvent && g.SSEvent.connect) return;

  var script = typeof document !== 'undefined' ? document.currentScript : null;
  var scriptBase = script && script.src ? new URL('./', script.src).href : null;
  var loading = null;

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = src;
      s.onload = resolve;
      s.onerror = function () { reject(new Error('ssevent: cannot load ' + src)); };
      document.head.appendChild(s);
    });
  }

  // load starts the Go program once for the page and resolves to its bridge.
  function load(options) {
    if (loading) return loading;
    loading = (async function () {
      var base = options.baseURL || scriptBase || (typeof location !== 'undefined' ? location.href : '');
      var execURL = new URL(options.wasmExecURL || 'wasm_exec.js', base).href;
      var wasmURL = new URL(options.wasmURL || 'ssevent.wasm', base).href;
      if (typeof g.Go === 'undefined') await loadScript(execURL);
      var go = new g.Go();
      var ready = new Promise(function (resolve) { g.__sseventReady = resolve; });
      var result;
      try {
        result = await WebAssembly.instantiateStreaming(fetch(wasmURL), go.importObject);
      } catch (e) {
        // A server that does not send application/wasm: compile from bytes.
        var resp = await fetch(wasmURL);
        if (!resp.ok) throw new Error('ssevent: cannot load ' + wasmURL + ': ' + resp.status);
        result = await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject);
      }
      go.run(result.instance);
      await ready;
      return g.__ssevent;
    })();
    return loading;
  }

  // Option checks: a value of the wrong type is refused with a TypeError
  // naming the option (a RangeError for a number out of range), never
  // ignored or coerced. Undefined and null mean the default.
  function typeName(v) {
    if (v === null) return 'null';
    if (Array.isArray(v)) return 'an array';
    return (typeof v === 'object' || typeof v === 'undefined' ? 'an ' : 'a ') + typeof v;
  }

  function given(v) { return v !== undefined && v !== null; }

  function checkChannels(list, what) {
    for (var i = 0; i < list.length; i++) {
      if (typeof list[i] !== 'string') {
        throw new TypeError('ssevent: ' + what + ': a channel name must be a string, got ' + typeName(list[i]) + ' at index ' + i);
      }
    }
  }

  var optionKinds = {
    autoReconnect: 'boolean',
    withCredentials: 'boolean',
    maxReconnectAttempts: 'count',
    reconnectDelay: 'ms',
    maxReconnectDelay: 'ms',
    baseURL: 'url',
    wasmURL: 'url',
    wasmExecURL: 'url'
  };

  function checkOptions(o) {
    if (!given(o)) return {};
    if (typeof o !== 'object' || Array.isArray(o)) {
      throw new TypeError('ssevent: options must be an object, got ' + typeName(o));
    }
    Object.keys(optionKinds).forEach(function (name) {
      var v = o[name], kind = optionKinds[name];
      if (!given(v)) return;
      var want = kind === 'boolean' ? 'boolean' : kind === 'url' ? 'string' : 'number';
      if (typeof v !== want && !(kind === 'url' && v instanceof URL)) {
        throw new TypeError('ssevent: option ' + name + ' must be a ' + want + ', got ' + typeName(v));
      }
      if (kind === 'ms' && !(v >= 0 && v < Infinity)) {
        throw new RangeError('ssevent: option ' + name + ' must be a finite number of milliseconds, 0 or more, got ' + v);
      }
      if (kind === 'count' && !(v >= 0)) {
        throw new RangeError('ssevent: option ' + name + ' must be 0 or more (0 or Infinity: unlimited), got ' + v);
      }
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

  function goOptions(o) {
    var headers = o.headers;
    if (typeof headers === 'function') {
      // Called before every request: the bridge awaits a Promise of the
      // headers, rejected with whatever the function throws.
      var fn = headers;
      headers = function () { return Promise.resolve().then(function () { return fn(); }); };
    }
    return {
      autoReconnect: o.autoReconnect,
      maxReconnectAttempts: o.maxReconnectAttempts,
      reconnectDelay: o.reconnectDelay,
      maxReconnectDelay: o.maxReconnectDelay,
      headers: headers,
      withCredentials: o.withCredentials,
      channels: o.channels
    };
  }

  // connect returns a client at once; its calls wait for the Go program.
  function connect(url, options) {
    options = checkOptions(options);
    var listeners = new Map(); // event name -> array of callbacks
    var bridge = null;
    var id = 0;
    var closed = false;

    function emit(type, ev) {
      var ls = listeners.get(type);
      if (!ls) return;
      ls.slice().forEach(function (cb) {
        try { cb(ev); } catch (e) { setTimeout(function () { throw e; }); }
      });
    }

    var ready = load(options).then(function (b) {
      if (closed) return null;
      bridge = b;
      id = b.connect(String(url), goOptions(options), emit, Array.from(listeners.keys()));
      return b;
    });
    ready.catch(function (err) {
      closed = true;
      if (err && typeof err === 'object' && !err.code) {
        err.name = 'SSEventError';
        err.code = 'error';
      }
      emit('error', { type: 'error', error: err });
    });

    function change(action, channels) {
      try {
        checkChannels(channels, action);
      } catch (e) {
        return Promise.reject(e);
      }
      return ready.then(function (b) {
        if (!b || closed) {
          var e = new Error('ssevent: client closed');
          e.name = 'SSEventError';
          e.code = 'closed';
          throw e;
        }
        return b[action](id, channels);
      });
    }

    return {
      on: function (event, cb) {
        var ls = listeners.get(event);
        if (!ls) {
          listeners.set(event, ls = []);
          if (bridge && !closed) bridge.listen(id, event);
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
          if (bridge && !closed) bridge.unlisten(id, event);
        }
        return this;
      },
      subscribe: function () { return change('subscribe', Array.from(arguments)); },
      unsubscribe: function () { return change('unsubscribe', Array.from(arguments)); },
      getClientId: function () { return bridge && !closed ? bridge.clientId(id) : null; },
      getChannels: function () { return bridge && !closed ? bridge.channels(id) : []; },
      isConnected: function () { return !!(bridge && !closed && bridge.isConnected(id)); },
      getReadyState: function () {
        if (closed) return 2;
        return bridge ? bridge.readyState(id) : 0;
      },
      close: function () {
        if (closed) return;
        closed = true;
        listeners.clear();
        if (bridge) bridge.close(id);
      },
      ready: ready.then(function () {})
    };
  }

  g.SSEvent = { connect: connect, version: '0.1.0' };
})();
