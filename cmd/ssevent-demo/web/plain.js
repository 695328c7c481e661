// The plain page: the script-tag client and the DOM, no framework. Every
// piece of data from the network or the forms goes in through textContent
// or an attribute value, never innerHTML, so a message holding HTML or a
// script shows as text.
'use strict';

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  return e;
};

const PRIVATE = 'private (SendTo)';
const BROADCAST = 'broadcast';
const MAX_FEED = 50;
let clientId = '';
let reconnects = 0;
let channels = []; // the client's set: from "connected", then our changes
const feeds = new Map(); // key -> <ul>

const client = SSEvent.connect('/events', {
  channels: ['clock', 'news'],
  reconnectDelay: 1000,
  maxReconnectDelay: 5000,
});

function setState(state, detail) {
  $('state').textContent = state;
  $('state').className = 'state state-' + state;
  if (detail !== undefined) $('state-detail').textContent = detail;
}

function say(msg, bad) {
  const n = $('notice');
  n.textContent = msg;
  n.className = 'notice ' + (msg ? (bad ? 'bad' : 'ok') : 'empty');
}

function showChannels(list) {
  const ul = $('my-channels');
  ul.replaceChildren();
  for (const ch of list) {
    const li = el('li');
    li.dataset.channel = ch;
    li.append(el('span', '', ch));
    const b = el('button', 'unsub', '×');
    b.type = 'button';
    b.title = 'Unsubscribe';
    b.addEventListener('click', () => change('unsubscribe', ch));
    li.append(b);
    ul.append(li);
  }
}

function clockText(t) {
  const d = new Date(t.time);
  const time = isNaN(d) ? String(t.time) : d.toLocaleTimeString('en-GB');
  return time + ' · up ' + t.uptime + ' · ' + t.goroutines + ' goroutines';
}

function add(key, payload) {
  let ul = feeds.get(key);
  if (!ul) {
    const div = el('div', 'feed');
    div.dataset.feed = key;
    div.append(el('h3', '', key));
    ul = el('ul');
    div.append(ul);
    $('feeds').append(div);
    feeds.set(key, ul);
  }
  const li = el('li', 'msg');
  if (payload && typeof payload === 'object' && typeof payload.text === 'string' && payload.text) {
    const d = new Date(payload.time);
    li.append(el('span', 'time', isNaN(d) ? '' : d.toLocaleTimeString('en-GB')));
    li.append(el('span', 'from', payload.from || ''));
    li.append(el('span', 'text', payload.text));
  } else {
    li.append(el('span', 'time', ''), el('span', 'from', ''), el('span', 'text', JSON.stringify(payload)));
  }
  ul.prepend(li);
  while (ul.children.length > MAX_FEED) ul.lastChild.remove();
}

client.on('open', () => setState('open', 'stream open, waiting for the hub'));
client.on('connected', ({ data }) => {
  clientId = data.clientId;
  $('client-id').textContent = clientId;
  setState('open', data.resumed ? 'session resumed' : '');
  channels = data.channels || [];
  showChannels(channels);
});
client.on('error', ({ error }) => {
  $('state-detail').textContent = error ? error.message : '';
  if (client.getReadyState() === 2) setState('closed');
});
client.on('reconnecting', ({ attempt, delay }) => {
  reconnects++;
  $('reconnects').textContent = reconnects;
  setState('reconnecting', 'attempt ' + attempt + ' in ' + (delay / 1000).toFixed(2) + 's');
});
client.on('gap', () => say('Some messages were missed while disconnected and are no longer held by the server.', true));
client.on('message', ({ data }) => {
  if (data.channel === 'clock') {
    $('clock').textContent = clockText(data.payload);
    return;
  }
  add(data.channel || PRIVATE, data.payload);
});
client.on('private', ({ data }) => add(PRIVATE, data));
client.on('broadcast', ({ data }) => add(BROADCAST, data));

async function change(action, ch) {
  ch = ch.trim();
  try {
    await client[action](ch);
    channels = action === 'subscribe'
      ? (channels.includes(ch) ? channels : channels.concat([ch]))
      : channels.filter((c) => c !== ch);
    showChannels(channels);
    say((action === 'subscribe' ? 'Subscribed to ' : 'Unsubscribed from ') + ch + '.', false);
  } catch (err) {
    say(err.code === 'invalid_channel' || /invalid channel/.test(err.message)
      ? 'Invalid channel name: 1 to 128 characters, no comma, no control character.'
      : err.message, true);
  }
}

async function post(path, body, ok, clear) {
  let res;
  try {
    res = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (err) {
    say('The request failed: ' + err.message, true);
    return;
  }
  if (res.ok) {
    say(ok, false);
    $(clear).value = '';
    return;
  }
  let msg = 'The server answered ' + res.status + '.';
  try {
    const e = await res.json();
    if (e && e.message) msg = e.message;
  } catch (_) { /* not JSON */ }
  say(msg, true);
}

$('sub-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const ch = $('sub-channel').value;
  if (!ch.trim()) { say('Type a channel name to subscribe to.', true); return; }
  change('subscribe', ch);
  $('sub-channel').value = '';
});

$('pub-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const channel = $('pub-channel').value.trim();
  post('/api/publish', { channel, text: $('pub-text').value, from: 'plain page' }, 'Published to ' + channel + '.', 'pub-text');
});
$('direct-form').addEventListener('submit', (e) => {
  e.preventDefault();
  post('/api/private', { clientId, text: $('direct-text').value, from: 'plain page' }, 'Sent to your own client id.', 'direct-text');
});
$('broadcast-btn').addEventListener('click', () => {
  post('/api/broadcast', { text: $('direct-text').value, from: 'plain page' }, 'Broadcast to every client.', 'direct-text');
});

async function pollStats() {
  try {
    const res = await fetch('/api/stats');
    if (res.ok) {
      const s = await res.json();
      $('clients').textContent = s.clients;
      $('instance').textContent = s.instance;
      const rows = (s.channels || []).map((c) => {
        const tr = el('tr');
        tr.dataset.channel = c.name;
        const n = el('td', 'n', c.subscribers);
        tr.append(el('td', '', c.name), n);
        return tr;
      });
      $('stats').tBodies[0].replaceChildren(...rows);
    }
  } catch (_) { /* the server is restarting: the next poll will do */ }
}
pollStats();
setInterval(pollStats, 1000);
