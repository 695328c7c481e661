/*! ssevent shared worker: runs the Go client (ssevent.wasm) once per browser
 * for every tab of the origin, with one stream per hub URL and options.
 * Each tab's client is a view of it: its own event names and channels. The
 * worker's client holds the union of the views' channels and leaves a
 * channel only when no view wants it. Started by ssevent.js; not for pages. */
'use strict';
(function () {
  var g = globalThis;
  var loading = null;
  var streams = new Map(); // key -> stream
  var tabs = new Map(); // tab id -> { views: Set of view keys, port }
  var views = new Map(); // port-local view key -> view

  // The event names the worker itself needs, whatever the views listen to.
  var always = ['open', 'connected', 'error', 'reconnecting', 'channels', 'closed'];

  function plainError(e) {
    if (!e) return e;
    return { message: String(e.message || e), code: e.code || 'error', status: e.status, rejected: e.rejected, retryAfter: e.retryAfter };
  }

  // load starts the Go program once; a failure is not kept, the next
  // connect tries again. The wasm downloads while wasm_exec.js loads.
  function load(wasmURL, execURL) {
    if (g.__ssevent) return Promise.resolve(g.__ssevent);
    if (loading) return loading;
    loading = (async function () {
      try {
        var response = fetch(wasmURL, { credentials: 'same-origin' });
        response.catch(function () {});
        if (typeof g.Go === 'undefined') importScripts(execURL);
        var resp = await response;
        if (!resp.ok) throw new Error('cannot load ' + wasmURL + ': HTTP ' + resp.status);
        var go = new g.Go();
        var started = new Promise(function (resolve) { g.__sseventReady = resolve; });
        var result;
        if ((resp.headers.get('Content-Type') || '').indexOf('application/wasm') === 0) {
          result = await WebAssembly.instantiateStreaming(resp, go.importObject);
        } else {
          result = await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject);
        }
        var exited = go.run(result.instance).then(function () { throw new Error(wasmURL + ' exited'); });
        await Promise.race([started, exited]);
        return g.__ssevent;
      } catch (e) {
        var err = new Error('ssevent: ' + ((e && e.message) || String(e)));
        err.code = 'wasm_load';
        throw err;
      }
    })();
    loading.catch(function () { loading = null; });
    return loading;
  }

  function streamKey(url, o) {
    return JSON.stringify([url, o.autoReconnect, o.maxReconnectAttempts, o.reconnectDelay, o.maxReconnectDelay,
      o.connectTimeout, o.requestTimeout, o.headers, o.withCredentials]);
  }

  function viewState(view) {
    var s = view.stream;
    var ready = view.joined && s && s.id !== null;
    var rs = view.closed ? 2 : !ready ? 0 : s.bridge.readyState(s.id);
    return {
      rs: rs,
      conn: rs === 1 && ready && s.bridge.isConnected(s.id) && s.seen,
      id: s && s.id !== null ? s.bridge.clientId(s.id) : null,
      chs: Array.from(view.channels)
    };
  }

  function post(view, type, ev) {
    var msg = { v: view.v, st: viewState(view) };
    if (type) { msg.type = type; msg.ev = ev; }
    try { view.port.postMessage(msg); } catch (e) { /* the tab is gone */ }
  }

  function count(s, ch, d) {
    var n = (s.chans.get(ch) || 0) + d;
    if (n > 0) s.chans.set(ch, n); else s.chans.delete(ch);
    return n;
  }

  function wants(view, type) { return view.names.has(type); }

  // deliver routes one event of the worker's client to the views.
  function deliver(s, type, ev) {
    if (type === 'connected') s.seen = true;
    if (type === 'open' || type === 'error' || type === 'reconnecting' || type === 'closed') s.seen = false;
    if (type === 'connected' && ev.data) {
      s.connected = ev.data;
      // Channels the server put the client in by itself (its defaults) go
      // to every view; those it refused leave the views that asked.
      var held = new Set(s.chans.keys());
      var refused = new Set((ev.data.rejected || []).map(function (r) { return r.channel; }));
      s.views.forEach(function (view) {
        (ev.data.channels || []).forEach(function (ch) { if (!held.has(ch)) { view.channels.add(ch); s.own.add(ch); } });
        refused.forEach(function (ch) { view.channels.delete(ch); });
      });
      s.chans.clear();
      s.views.forEach(function (view) { view.channels.forEach(function (ch) { count(s, ch, 1); }); });
    }
    if (type === 'channels' && ev.data && Array.isArray(ev.data.channels)) {
      // The server changed the set: what it added goes to every view, what
      // it removed leaves every view.
      var now = new Set(ev.data.channels);
      var before = new Set(s.chans.keys());
      s.views.forEach(function (view) {
        view.channels.forEach(function (ch) { if (!now.has(ch)) view.channels.delete(ch); });
        now.forEach(function (ch) { if (!before.has(ch)) view.channels.add(ch); });
      });
      now.forEach(function (ch) { if (!before.has(ch)) s.own.add(ch); });
      s.own.forEach(function (ch) { if (!now.has(ch)) s.own.delete(ch); });
      s.chans.clear();
      s.views.forEach(function (view) { view.channels.forEach(function (ch) { count(s, ch, 1); }); });
    }
    s.views.forEach(function (view) {
      if (view.closed) return;
      var out = null;
      if (!view.joined) {
        if (type === 'error' || type === 'reconnecting' || type === 'closed') out = ev;
      } else if (type === 'message') {
        var ch = ev.data && ev.data.channel;
        if (!ch || view.channels.has(ch)) out = ev;
      } else if (type === 'connected' || type === 'channels') {
        out = Object.assign({}, ev, { data: Object.assign({}, ev.data, { channels: Array.from(view.channels) }) });
        if (type === 'connected' && ev.data && ev.data.rejected) {
          out.data.rejected = ev.data.rejected.filter(function (r) { return view.asked.has(r.channel); });
          if (!out.data.rejected.length) delete out.data.rejected;
        }
      } else if (type === 'gap') {
        var gch = (ev.data && ev.data.channels) || [];
        var mine = gch.filter(function (c) { return view.channels.has(c); });
        if (!gch.length || mine.length) out = Object.assign({}, ev, { data: Object.assign({}, ev.data, { channels: mine }) });
      } else {
        out = ev;
      }
      post(view, out && wants(view, type) ? type : null, out);
    });
    if (s.id !== null && s.bridge.readyState(s.id) === 2) {
      // Stopped for good: the views are closed; a later connect starts anew.
      streams.delete(s.key);
      s.views.forEach(function (view) { view.closed = true; post(view); });
    }
  }

  // open makes a view's stream: an existing one for the same URL and
  // options, or a new client.
  function join(port, tab, m, bridge) {
    var key = streamKey(m.url, m.opts);
    var s = streams.get(key);
    var chs = m.opts.channels || [];
    var view = {
      key: tab + ':' + m.v, v: m.v, port: port, tab: tab, stream: null, closed: false, joined: false,
      names: new Set(m.names), channels: new Set(chs), asked: new Set(chs)
    };
    // Calls made before the view has joined (its channels still being
    // added) wait for it.
    view.whenJoined = new Promise(function (resolve) { view.markJoined = resolve; });
    views.set(view.key, view);
    var t = tabs.get(tab);
    if (t) t.views.add(view.key);
    if (!s) {
      s = { key: key, bridge: bridge, id: null, views: new Set(), chans: new Map(), names: new Map(), seen: false, own: new Set() };
      streams.set(key, s);
      view.stream = s;
      view.joined = true;
      view.markJoined();
      s.views.add(view);
      chs.forEach(function (ch) { count(s, ch, 1); });
      view.names.forEach(function (n) { s.names.set(n, 1); });
      var names = new Set(always.concat(m.names));
      s.id = bridge.connect(m.url, m.opts, function (type, ev) {
        if (ev && ev.error) ev = Object.assign({}, ev, { error: plainError(ev.error) });
        deliver(s, type, ev);
      }, Array.from(names));
      post(view);
      return;
    }
    view.stream = s;
    s.views.add(view);
    post(view); // the tab's client is running: state first, events after
    // The channels the server put the client in by itself are every view's.
    s.own.forEach(function (ch) { if (!view.channels.has(ch)) { view.channels.add(ch); count(s, ch, 1); } });
    view.names.forEach(function (n) { listenName(s, n, 1); });
    var missing = chs.filter(function (ch) { return !s.chans.has(ch); });
    chs.forEach(function (ch) { count(s, ch, 1); });
    var joined = function (rejected) {
      view.markJoined();
      if (view.closed) return;
      view.joined = true;
      if (!s.seen) { post(view); return; }
      // The stream is up already: this view opens now.
      post(view, wants(view, 'open') ? 'open' : null, { type: 'open' });
      var data = Object.assign({}, s.connected || {}, { channels: Array.from(view.channels), resumed: false });
      if (rejected && rejected.length) data.rejected = rejected; else delete data.rejected;
      post(view, wants(view, 'connected') ? 'connected' : null, { type: 'connected', data: data, raw: JSON.stringify(data) });
    };
    if (!missing.length) { joined(); return; }
    bridge.subscribe(s.id, missing).then(function () { joined(); }, function (err) {
      if (err && err.code === 'rejected' && err.rejected) {
        err.rejected.forEach(function (r) { if (view.channels.delete(r.channel)) count(s, r.channel, -1); });
        joined(err.rejected);
        return;
      }
      view.markJoined();
      if (view.closed) return;
      // The client stopped before the view joined: it gets its error.
      view.closed = true;
      post(view, wants(view, 'error') ? 'error' : null, { type: 'error', error: plainError(err) });
    });
  }

  // listenName counts the views listening to an event name; the worker's
  // client listens to it while one does (and always to the names it needs).
  function listenName(s, name, d) {
    var old = s.names.get(name) || 0;
    var n = old + d;
    if (n > 0) s.names.set(name, n); else s.names.delete(name);
    if (always.indexOf(name) >= 0 || s.id === null) return;
    if (old <= 0 && n > 0) s.bridge.listen(s.id, name);
    if (old > 0 && n <= 0) s.bridge.unlisten(s.id, name);
  }

  // leave drops a view; its stream closes with its last view.
  function leave(view) {
    if (!views.delete(view.key)) return;
    if (view.markJoined) view.markJoined();
    var t = tabs.get(view.tab);
    if (t) t.views.delete(view.key);
    view.closed = true;
    var s = view.stream;
    if (!s) return;
    s.views.delete(view);
    if (s.views.size === 0) {
      streams.delete(s.key);
      if (s.id !== null) s.bridge.close(s.id);
      return;
    }
    view.names.forEach(function (n) { listenName(s, n, -1); });
    var drop = [];
    view.channels.forEach(function (ch) { if (count(s, ch, -1) === 0) drop.push(ch); });
    if (drop.length && s.bridge.readyState(s.id) !== 2) s.bridge.unsubscribe(s.id, drop).catch(function () {});
  }

  function dropTab(tab) {
    var t = tabs.get(tab);
    if (!t) return;
    tabs.delete(tab);
    t.views.forEach(function (k) { var v = views.get(k); if (v) leave(v); });
  }

  // change runs a view's subscribe or unsubscribe.
  function change(view, m, signal) {
    var s = view.stream;
    if (s && !view.closed && !view.joined) {
      return view.whenJoined.then(function () { return change(view, m, signal); });
    }
    if (!s || view.closed || !view.joined) {
      var e = new Error('ssevent: client closed');
      e.code = 'closed';
      return Promise.reject(e);
    }
    var call = { signal: signal, timeout: m.timeout };
    if (m.action === 'subscribe') {
      var added = m.channels.filter(function (ch) { return !view.channels.has(ch); });
      // Added before the server answers, so that nothing sent right after
      // it accepted is filtered out.
      added.forEach(function (ch) { view.channels.add(ch); count(s, ch, 1); });
      m.channels.forEach(function (ch) { view.asked.add(ch); });
      var undo = function (chs) {
        chs.forEach(function (ch) { if (added.indexOf(ch) >= 0 && view.channels.delete(ch)) count(s, ch, -1); });
      };
      return s.bridge.subscribe(s.id, m.channels, call).then(function () {
        return { clientId: s.bridge.clientId(s.id), channels: Array.from(view.channels) };
      }, function (err) {
        if (err && err.code === 'rejected' && err.rejected) undo(err.rejected.map(function (r) { return r.channel; }));
        else undo(added);
        throw err;
      });
    }
    var removed = m.channels.filter(function (ch) { return view.channels.has(ch); });
    removed.forEach(function (ch) { view.channels.delete(ch); });
    var drop = removed.filter(function (ch) { return count(s, ch, -1) === 0; });
    var done = function () { return { clientId: s.bridge.clientId(s.id), channels: Array.from(view.channels) }; };
    if (!drop.length) return Promise.resolve(done());
    return s.bridge.unsubscribe(s.id, drop, call).then(done, function (err) {
      removed.forEach(function (ch) { view.channels.add(ch); count(s, ch, 1); });
      throw err;
    });
  }

  var aborts = new Map(); // "tab:call" -> AbortController

  g.onconnect = function (e) {
    var port = e.ports[0];
    var tab = null;
    port.onmessage = function (ev) {
      var m = ev.data;
      switch (m.t) {
      case 'hello':
        if (tab && tab !== m.tab) dropTab(tab);
        tab = m.tab;
        if (!tabs.has(tab)) tabs.set(tab, { views: new Set(), port: port });
        return;
      case 'lock':
        // The tab holds this lock for as long as it lives: the worker is
        // granted it when the tab is gone, however it went.
        if (tab && g.navigator && g.navigator.locks) {
          var id = tab;
          g.navigator.locks.request(m.name, function () { dropTab(id); }).catch(function () {});
        }
        return;
      case 'bye':
        if (tab) dropTab(tab);
        return;
      case 'connect':
        load(m.wasm, m.exec).then(function (bridge) {
          if (!tabs.has(tab)) return;
          join(port, tab, m, bridge);
        }, function (err) {
          port.postMessage({ t: 'failed', v: m.v, error: plainError(err) });
        });
        return;
      case 'listen':
      case 'unlisten': {
        var view = views.get(tab + ':' + m.v);
        if (!view) return;
        var on = m.t === 'listen';
        if (view.names.has(m.name) === on) return;
        if (on) view.names.add(m.name); else view.names.delete(m.name);
        if (view.stream) listenName(view.stream, m.name, on ? 1 : -1);
        return;
      }
      case 'close': {
        var cv = views.get(tab + ':' + m.v);
        if (cv) leave(cv);
        return;
      }
      case 'abort': {
        var ac = aborts.get(tab + ':' + m.call);
        if (ac) ac.abort();
        return;
      }
      case 'change': {
        var v = views.get(tab + ':' + m.v);
        var key = tab + ':' + m.call;
        var ctl = typeof AbortController === 'function' ? new AbortController() : null;
        if (ctl) aborts.set(key, ctl);
        var p = v ? change(v, m, ctl && ctl.signal) : Promise.reject(Object.assign(new Error('ssevent: client closed'), { code: 'closed' }));
        p.then(function (value) {
          port.postMessage({ t: 'result', call: m.call, v: m.v, ok: true, value: value, st: v && viewState(v) });
        }, function (err) {
          port.postMessage({ t: 'result', call: m.call, v: m.v, ok: false, error: plainError(err), st: v && viewState(v) });
        }).finally(function () { aborts.delete(key); });
        return;
      }
      }
    };
    port.postMessage({ t: 'up' });
  };
})();
