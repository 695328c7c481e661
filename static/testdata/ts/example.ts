// A typed use of the client: tsc --noEmit must accept it against
// ../../ssevent.d.ts, and reject the lines marked @ts-expect-error.
import connectSSE, {
  connectSSE as named,
  type CallOptions,
  type ConnectedData,
  type SSEventClient,
  type SSEventConnected,
  type SSEventCustom,
  type SSEventError,
  type SSEventErrorCode,
  type SSEventMessage,
  type SSEventName,
} from '../../ssevent';

interface Notification { title: string; body: string }

const client: SSEventClient<Notification> = connectSSE<Notification>('/events', {
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
  const title: string = data.payload.title;
  console.log(channel, title, data.payload.body, raw.length, id);
});

client.on<Notification>('alert', ({ data }) => {
  console.log(data.title.toUpperCase());
});

client.on('open', () => {});
client.on('error', ({ error }) => console.log(error.code, error.status, error.retryAfter ?? 0));
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

// Typed payloads: connectSSE<TPayload> and SSEvent.connect<TPayload> type
// the payload of "message" events; unknown without a type argument.
const untyped = connectSSE('/events');
untyped.on('message', ({ data }) => {
  const p: unknown = data.payload;
  // @ts-expect-error without a type argument the payload is unknown
  console.log(data.payload.title, p);
});
SSEvent.connect<Notification>('/events').on('message', ({ data }) => console.log(data.payload.body.length));
// @ts-expect-error the payload is a Notification, which has no "missing"
client.on('message', ({ data }) => data.payload.missing);
const onMessage = (ev: SSEventMessage<Notification>) => console.log(ev.data.payload.title);
client.on('message', onMessage);
client.off('message', onMessage);

// Known names have their own event types; any other name is a custom
// event, typed by its type argument only.
const known: SSEventName[] = ['open', 'connected', 'message', 'heartbeat', 'gap', 'reconnect', 'closed', 'channels', 'error', 'reconnecting'];
client.on('heartbeat', ({ data }) => console.log(new Date(data).toISOString(), known.length));
client.on('custom-name', (ev: SSEventCustom) => console.log(ev.type, ev.data));
client.on<number[]>('scores', ({ data }) => console.log(data.map((n) => n + 1)));
const onConnected = ({ data }: { data: ConnectedData }) => console.log(data.clientId);
client.on('connected', onConnected);
const onConnectedEvent = (ev: SSEventConnected) => console.log(ev.data.resumed);
client.on('connected', onConnectedEvent);
// A misspelled known name is a custom event, whose data is unknown: a
// handler written for the known event does not type-check.
// @ts-expect-error "conected" is not "connected": its data has no clientId
client.on('conected', (e) => e.data.clientId);
// @ts-expect-error the handler expects the data of "connected"
client.on('conected', onConnected);
// @ts-expect-error a custom event's data is not inferred from the handler
client.on('alert', ({ data }: { data: Notification }) => data.title);
// @ts-expect-error the heartbeat's data is a number
client.on('heartbeat', ({ data }) => data.toUpperCase());
// @ts-expect-error the error event carries the error, not data
client.on('error', ({ data }) => data);

// Error codes are a closed union: a misspelled code is an error.
client.on('error', ({ error }) => {
  const code: SSEventErrorCode = error.code;
  if (code === 'too_many_connections' || code === 'max_reconnect_attempts') console.log(code);
  // @ts-expect-error there is no code "unauthorised"
  if (error.code === 'unauthorised') console.log('never');
});
// @ts-expect-error not a code
const badCode: SSEventErrorCode = 'timed_out';

// Timeouts, sharing, and the options of a subscribe/unsubscribe call.
const shared = connectSSE('/events', { connectTimeout: 5000, requestTimeout: 2000, shared: false, workerURL: new URL('/w.js', 'https://example.com') });
const ac = new AbortController();
shared.subscribe('a', 'b', { signal: ac.signal, timeout: 1000 }).catch((e: SSEventError) => {
  const newCodes: SSEventErrorCode[] = ['connect_timeout', 'timeout', 'aborted', 'wasm_load', 'stopped'];
  if (newCodes.includes(e.code)) console.log(e.code);
});
shared.unsubscribe('a', { timeout: 0 });
shared.subscribe('only');
const opts: CallOptions = { signal: AbortSignal.timeout(100) };
shared.subscribe('x', opts);
// @ts-expect-error the call's options come last
shared.subscribe({ timeout: 5 }, 'a');
// @ts-expect-error a call's timeout is a number of milliseconds
shared.subscribe('a', { timeout: '5s' });
// @ts-expect-error shared is a boolean
connectSSE('/events', { shared: 'yes' });
// @ts-expect-error connectTimeout is a number of milliseconds
connectSSE('/events', { connectTimeout: '10s' });

console.log(state, maybeId, up, badCode);
