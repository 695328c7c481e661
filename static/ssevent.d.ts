// Type definitions for the ssevent browser client (ssevent.mjs and the
// SSEvent global of ssevent.js).

/** Headers to send, as a plain object of names and values. */
export type HeaderValues = Record<string, string>;

/**
 * Headers for the next request: called before every request (the stream,
 * each reconnection, each subscribe/unsubscribe), so it can hand out a
 * token it refreshes. A throw or a rejection fails that request (error
 * code "headers"; the stream backs off and tries again).
 */
export type HeadersFunction = () => HeaderValues | Promise<HeaderValues>;

/** Options of connectSSE and SSEvent.connect. */
export interface ConnectOptions {
  /** Reconnect after a dropped stream. Default true. */
  autoReconnect?: boolean;
  /** Consecutive failed attempts before giving up. Default Infinity; 0: the first failure is final. */
  maxReconnectAttempts?: number;
  /** Base of the exponential backoff, in ms. Default 3000; 0: the first attempt at once. */
  reconnectDelay?: number;
  /** Cap of the backoff, in ms. Default 30000. */
  maxReconnectDelay?: number;
  /**
   * Headers sent with every request (e.g. Authorization), the stream's
   * included. A function is called before every request;
   * after a 401 or 403 it is called once more and the request tried again
   * before the client gives up.
   */
  headers?: HeaderValues | HeadersFunction;
  /** Send cookies with cross-origin requests. Default false. */
  withCredentials?: boolean;
  /** Channels joined when the stream opens. */
  channels?: string[];
  /**
   * ms to wait for the stream's response headers before the attempt is
   * abandoned and retried (an "error" with code "connect_timeout", then
   * "reconnecting"). Default 10000; 0 waits for ever.
   */
  connectTimeout?: number;
  /**
   * ms a subscribe/unsubscribe may take before its promise rejects with
   * code "timeout". Default 10000; 0 waits for ever. A call's own timeout
   * overrides it.
   */
  requestTimeout?: number;
  /**
   * Share one stream per hub URL (and stream options) with the other tabs
   * of the origin, through a SharedWorker that runs the client once per
   * browser. Each client still has its own handlers and channels. Default
   * true; ignored (a stream per client, in the page) where SharedWorker is
   * missing and when headers is a function.
   */
  shared?: boolean;
  /** Where ssevent.wasm, wasm_exec.js and ssevent-worker.js live. Default: beside the script (the module: its own URLs). */
  baseURL?: string | URL;
  /** URL of ssevent.wasm, relative to baseURL. */
  wasmURL?: string | URL;
  /** URL of wasm_exec.js, relative to baseURL. */
  wasmExecURL?: string | URL;
  /** URL of ssevent-worker.js (the SharedWorker), relative to baseURL. */
  workerURL?: string | URL;
}

/** Options of one subscribe or unsubscribe call, given as its last argument. */
export interface CallOptions {
  /** Aborts the call: the promise rejects with code "aborted". */
  signal?: AbortSignal;
  /** ms before the promise rejects with code "timeout"; overrides requestTimeout, 0 waits for ever. */
  timeout?: number;
}

/** A channel refused by the server's OnSubscribe hook. */
export interface Rejection {
  channel: string;
  reason: string;
}

/** Data of the "connected" event. */
export interface ConnectedData {
  clientId: string;
  channels: string[];
  rejected?: Rejection[];
  resumed: boolean;
  /** Heartbeat interval in ms, 0 when off. */
  heartbeat: number;
}

/** Data of a "message" event. */
export interface MessageData<T = unknown> {
  /** The channel; "" for sendTo/broadcast without an event name. */
  channel: string;
  payload: T;
}

// Event objects are named SSEvent…: MessageEvent, ErrorEvent, CustomEvent
// and Event are DOM globals, and a module exporting the same names would
// shadow them in every file that imports it. Names that clash with no DOM
// global remain as deprecated aliases.

/** A stream opened, before "connected". */
export interface SSEventOpen { type: 'open'; }
/** The hub accepted the stream. */
export interface SSEventConnected { type: 'connected'; data: ConnectedData; raw: string; }
/** A channel message, or a sendTo/broadcast without an event name. TPayload is the application's payload. */
export interface SSEventMessage<TPayload = unknown> { type: 'message'; data: MessageData<TPayload>; raw: string; id?: string; lastEventId?: string; }
/** A failure; "reconnecting" follows unless the client stops for good. */
export interface SSEventErrorEvent { type: 'error'; error: SSEventError; }
export interface SSEventReconnecting {
  type: 'reconnecting';
  /** 1, 2, … for consecutive failures; 0 when the server asked for it with "reconnect" (not a failure). */
  attempt: number;
  /** ms */
  delay: number;
}
/** Events missed while disconnected are no longer held by the hub: reload the application's state. */
export interface SSEventGap { type: 'gap'; data: { lastEventId: string; channels: string[] }; raw: string; }
/** Data of the "reconnect" event. */
export interface ReconnectData {
  /** Why the server ends the stream: "shutdown" (shutting down or restarting). */
  reason: string;
  /** ms the client waits before it reconnects by itself: the server's delay, bounded to 0..300000. */
  retry: number;
}
/** The server ends the stream; the client reconnects by itself after data.retry ms, resuming where it was. */
export interface SSEventReconnect { type: 'reconnect'; data: ReconnectData; raw: string; }
/** The hub's keep-alive: data is its time in Unix ms. */
export interface SSEventHeartbeat { type: 'heartbeat'; data: number; raw: string; }
/** Data of the "channels" event. */
export interface ChannelsData {
  /** The client's channel set now; getChannels() returns it from now on. */
  channels: string[];
}
/** The server changed the client's channels (its own subscribe/unsubscribe, or a permission checked again). */
export interface SSEventChannels { type: 'channels'; data: ChannelsData; raw: string; }
/** Data of the "closed" event. */
export interface ClosedData {
  /** Why the server ended the session: "ended". */
  reason: string;
}
/**
 * The server ended the session for good: the client does not reconnect.
 * An "error" event with code "session_ended" follows, and the client is
 * closed (getReadyState() is 2).
 */
export interface SSEventClosed { type: 'closed'; data: ClosedData; raw: string; }
/**
 * A custom event sent with sendTo(id, data, name) or broadcast(data, name).
 * T is the type argument of on<T>(name, …); unknown without one.
 */
export interface SSEventCustom<T = unknown> { type: string; data: T; raw: string; id?: string; lastEventId?: string; }

/** The events the client itself knows, by name, with what handlers receive. */
export interface SSEventMap<TPayload = unknown> {
  open: SSEventOpen;
  connected: SSEventConnected;
  message: SSEventMessage<TPayload>;
  error: SSEventErrorEvent;
  reconnecting: SSEventReconnecting;
  gap: SSEventGap;
  heartbeat: SSEventHeartbeat;
  reconnect: SSEventReconnect;
  channels: SSEventChannels;
  closed: SSEventClosed;
}

/** The names of the known events. */
export type SSEventName = keyof SSEventMap;

/** @deprecated Use SSEventOpen. */
export type OpenEvent = SSEventOpen;
/** @deprecated Use SSEventConnected. */
export type ConnectedEvent = SSEventConnected;
/** @deprecated Use SSEventReconnecting. */
export type ReconnectingEvent = SSEventReconnecting;
/** @deprecated Use SSEventGap. */
export type GapEvent = SSEventGap;
/** @deprecated Use SSEventReconnect. */
export type ReconnectEvent = SSEventReconnect;
/** @deprecated Use SSEventHeartbeat. */
export type HeartbeatEvent = SSEventHeartbeat;
/** @deprecated Use SSEventChannels. */
export type ChannelsEvent = SSEventChannels;
/** @deprecated Use SSEventClosed. */
export type ClosedEvent = SSEventClosed;
/** @deprecated Use SSEventMap. */
export type EventMap<TPayload = unknown> = SSEventMap<TPayload>;

/**
 * Codes of SSEventError: the client's own, or the error code of a server's
 * refusal (docs/PROTOCOL.md, shared.Code*), or "error" for anything else
 * (an answer that is not the protocol's, a wasm that did not load).
 * The client's own:
 * - closed: the client was closed, or stopped for good.
 * - rejected: subscribe: the server refused some channels (see rejected).
 * - unauthorized, forbidden: a 401 or 403 (final for the stream).
 * - max_reconnect_attempts: maxReconnectAttempts failed in a row (final).
 * - session_ended: the server ended the session with "closed" (final).
 * - headers: the headers function threw or rejected.
 * - stale: no event for three heartbeat intervals.
 * - stream_ended: the stream broke or ended.
 * - connect_timeout: no response headers within connectTimeout (the client retries).
 * - timeout: a subscribe/unsubscribe took longer than its timeout.
 * - aborted: the AbortSignal of a subscribe/unsubscribe aborted.
 * - wasm_load: ssevent.wasm or wasm_exec.js could not be loaded or started
 *   (this client is closed; a later connect loads them again).
 * - stopped: the server answered the stream with 204 No Content (final).
 */
export type SSEventErrorCode =
  | 'closed'
  | 'rejected'
  | 'unauthorized'
  | 'forbidden'
  | 'max_reconnect_attempts'
  | 'session_ended'
  | 'headers'
  | 'stale'
  | 'stream_ended'
  | 'connect_timeout'
  | 'timeout'
  | 'aborted'
  | 'wasm_load'
  | 'stopped'
  | 'error'
  | SSEventServerErrorCode;

/** The stable codes of a server's refusal (docs/PROTOCOL.md). */
export type SSEventServerErrorCode =
  | 'bad_request'
  | 'invalid_json'
  | 'unsupported_media_type'
  | 'unknown_client'
  | 'payload_too_large'
  | 'invalid_channel'
  | 'too_many_channels'
  | 'unauthorized'
  | 'forbidden'
  | 'origin_not_allowed'
  | 'too_many_connections'
  | 'method_not_allowed'
  | 'hub_closed'
  | 'streaming_unsupported'
  | 'unavailable'
  | 'internal_error';

/** Errors given to "error" handlers and rejected by subscribe/unsubscribe. */
export interface SSEventError extends Error {
  name: 'SSEventError';
  code: SSEventErrorCode;
  /** HTTP status of a refusal. */
  status?: number;
  /** Refused channels (code "rejected"); the others were applied. */
  rejected?: Rejection[];
  /** ms the client waits before its next attempt, from the server's Retry-After (a 503 or 429). */
  retryAfter?: number;
}

/** Result of subscribe and unsubscribe. */
export interface SubscriptionResult {
  clientId: string;
  /** The client's channel set afterwards. */
  channels: string[];
}

/**
 * A client. TPayload types the payload of "message" events (the type
 * argument of connectSSE); custom events take theirs from on<T>.
 */
export interface SSEventClient<TPayload = unknown> {
  /** A known event: the handler receives its type. */
  on<K extends SSEventName>(event: K, callback: (ev: SSEventMap<TPayload>[K]) => void): this;
  /**
   * A custom event: its data is T, given as a type argument
   * (on<Alert>('alert', …)), never inferred from the handler, so that a
   * misspelled known name ('conected') with a handler written for the
   * known event does not type-check as a custom event.
   */
  on<T = unknown>(event: string & {}, callback: (ev: SSEventCustom<NoInfer<T>>) => void): this;
  off(event: SSEventName | (string & {}), callback?: (ev: never) => void): this;
  /**
   * Joins channels; a last argument that is an object is the call's
   * options ({signal, timeout}). Channel names must be strings (TypeError
   * otherwise), at least one.
   */
  subscribe(...channels: string[]): Promise<SubscriptionResult>;
  subscribe(...args: [...channels: string[], options: CallOptions]): Promise<SubscriptionResult>;
  /** Leaves channels; the same arguments as subscribe. */
  unsubscribe(...channels: string[]): Promise<SubscriptionResult>;
  unsubscribe(...args: [...channels: string[], options: CallOptions]): Promise<SubscriptionResult>;
  /**
   * The client's id, or null before "connected". Tabs sharing a stream
   * share its client: they have the same id (a server's sendTo reaches
   * each of them that listens to the event).
   */
  getClientId(): string | null;
  /** The client's channels as the server last reported them ("connected", "channels", subscribe). */
  getChannels(): string[];
  isConnected(): boolean;
  /** 0 connecting, 1 open, 2 closed. */
  getReadyState(): 0 | 1 | 2;
  close(): void;
  /** Resolves when the WebAssembly client is running. */
  readonly ready: Promise<void>;
}

/** Connects to an ssevent hub. TPayload types the payload of "message" events. */
export declare function connectSSE<TPayload = unknown>(url: string, options?: ConnectOptions): SSEventClient<TPayload>;
export default connectSSE;

declare global {
  /** The global of the script-tag build (ssevent.js). */
  var SSEvent: {
    connect<TPayload = unknown>(url: string, options?: ConnectOptions): SSEventClient<TPayload>;
    version: string;
  };
}
