import connectSSE from 'ssevent';

window.events = [];
const client = connectSSE('/events');
client.on('connected', (ev) => {
  events.push({ type: 'connected', clientId: ev.data.clientId });
  client.subscribe('news').then(() => events.push({ type: 'subscribed' }), (e) => events.push({ type: 'failed', code: e.code }));
});
client.on('message', (ev) => events.push({ type: 'message', channel: ev.data.channel, payload: ev.data.payload }));
client.on('error', (ev) => events.push({ type: 'error', code: ev.error.code, message: ev.error.message }));
