// A typed use of the client: tsc --noEmit must accept it against
// ../../ssevent.d.ts, and reject the lines marked @ts-expect-error.
import connectSSE, { connectSSE as named, type SSEventClient, type SSEventError } from '../../ssevent';

interface Notification { title: string; body: string }

const client: SSEventClient = connectSSE('/events', {
  autoReconnect: true,
  maxReconnectAttempts: Infinity,
  reconnectDelay: 3000,
  headers: { Authorization: 'Bearer token' },
  channels: ['news'],
});

client.on('connected', async ({ data }) => {
  const id: string = data.clientId;
  const resumed: boolean = data.resumed;
  console.log(id, resumed, data.channels.join(','));
  try {
    const res = await client.subscribe('notifications', 'updates');
    console.log(res.channels.length);
  } catch (e) {
    const err = e as SSEventError;
    if (err.code === 'rejected') console.log(err.rejected?.map((r) => r.channel));
  }
});

client.on('message', ({ data, raw, id }) => {
  const channel: string = data.channel;
  console.log(channel, data.payload, raw.length, id);
});

client.on<Notification>('alert', ({ data }) => {
  console.log(data.title.toUpperCase());
});

client.on('open', () => {});
client.on('error', ({ error }) => console.log(error.code, error.status));
client.on('reconnecting', ({ attempt, delay }) => console.log(attempt * delay));
client.on('reconnect', ({ data }) => {
  const ms: number = data.retry;
  const reason: string = data.reason;
  console.log(`server ${reason}: back in ${ms} ms`);
});

const handler = () => {};
client.on('gap', handler);
client.off('gap', handler);
client.off('message');

const state: 0 | 1 | 2 = client.getReadyState();
const maybeId: string | null = client.getClientId();
const up: boolean = client.isConnected();
client.ready.then(() => client.unsubscribe('news'));
client.close();

client.on('channels', ({ data }) => {
  const now: string[] = data.channels;
  console.log(now.join(','), client.getChannels().length);
});
client.on('closed', ({ data }) => {
  const reason: string = data.reason;
  console.log(`session ${reason}`);
});
client.on('error', ({ error }) => {
  if (error.code === 'session_ended' || error.code === 'headers') console.log(error.message);
});

// Credentials that refresh: a function called before every request,
// returning the headers or a Promise of them.
let token = 'first';
connectSSE('/events', { headers: () => ({ Authorization: `Bearer ${token}` }) }).close();
connectSSE('/events', {
  headers: async () => {
    token = await Promise.resolve('refreshed');
    return { Authorization: `Bearer ${token}` };
  },
}).close();

const viaGlobal = SSEvent.connect('/events');
viaGlobal.close();
named('/other').close();

// @ts-expect-error reconnectDelay is a number of milliseconds
connectSSE('/events', { reconnectDelay: '3s' });
// @ts-expect-error channels are strings
client.subscribe(42);
// @ts-expect-error the reconnect event's retry is a number of milliseconds
client.on('reconnect', ({ data }) => data.retry.toUpperCase());
// @ts-expect-error the channels event's data holds a list
client.on('channels', ({ data }) => data.channels.toUpperCase());
// @ts-expect-error header values are strings
connectSSE('/events', { headers: () => ({ Authorization: 42 }) });
// @ts-expect-error the headers function takes no argument to fill in
connectSSE('/events', { headers: (h: Map<string, string>) => ({ a: h.get('a') ?? '' }) });

console.log(state, maybeId, up);
