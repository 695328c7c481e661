// Type definitions for the ssevent browser client (ssevent.mjs and the
// SSEvent global of ssevent.js).

/** Options of connectSSE and SSEvent.connect. */
export interface ConnectOptions {
  /** Reconnect after a dropped stream. Default true. */
  autoReconnect?: boolean;
  /** Consecutive failed attempts before giving up. Default Infinity. */
  maxReconnectAttempts?: number;
  /** Base of the exponential backoff, in ms. Default 3000. */
  reconnectDelay?: number;
  /** Cap of the backoff, in ms. Default 30000. */
  maxReconnectDelay?: number;
  /** Headers sent with every request; when set, the stream is read with fetch (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Send cookies with cross-origin requests. Default false. */
  withCredentials?: boolean;
  /** Channels joined when the stream opens. */
  channels?: string[];
  /** Where ssevent.wasm and wasm_exec.js live. Default: beside the script. */
  baseURL?: string;
  /** URL of ssevent.wasm, relative to baseURL. */
  wasmURL?: string;
  /** URL of wasm_exec.js, relative to baseURL. */
  wasmExecURL?: string;
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

export interface OpenEvent { type: 'open'; }
export interface ConnectedEvent { type: 'connected'; data: ConnectedData; raw: string; }
export interface MessageEvent<T = unknown> { type: 'message'; data: MessageData<T>; raw: string; id?: string; lastEventId?: string; }
export interface ErrorEvent { type: 'error'; error: SSEventError; }
export interface ReconnectingEvent {
  type: 'reconnecting';
  /** 1, 2, … for consecutive failures; 0 when the server asked for it with "reconnect" (not a failure). */
  attempt: number;
  /** ms */
  delay: number;
}
export interface GapEvent { type: 'gap'; data: { lastEventId: string; channels: string[] }; raw: string; }
/** Data of the "reconnect" event. */
export interface ReconnectData {
  /** Why the server ends the stream: "shutdown" (shutting down or restarting). */
  reason: string;
  /** ms the client waits before it reconnects by itself: the server's delay, bounded to 0..300000. */
  retry: number;
}
/** The server ends the stream; the client reconnects by itself after data.retry ms, resuming where it was. */
export interface ReconnectEvent { type: 'reconnect'; data: ReconnectData; raw: string; }
export interface HeartbeatEvent { type: 'heartbeat'; data: number; raw: string; }
/** A custom event sent with sendTo(id, data, name) or broadcast(data, name). */
export interface CustomEvent<T = unknown> { type: string; data: T; raw: string; id?: string; lastEventId?: string; }

export interface EventMap {
  open: OpenEvent;
  connected: ConnectedEvent;
  message: MessageEvent;
  error: ErrorEvent;
  reconnecting: ReconnectingEvent;
  gap: GapEvent;
  heartbeat: HeartbeatEvent;
  reconnect: ReconnectEvent;
}

/** Errors given to "error" handlers and rejected by subscribe/unsubscribe. */
export interface SSEventError extends Error {
  name: 'SSEventError';
  /** closed, rejected, unauthorized, forbidden, max_reconnect_attempts, stale, stream_ended, a server code, or error. */
  code: string;
  /** HTTP status of a refusal. */
  status?: number;
  /** Refused channels (code "rejected"); the others were applied. */
  rejected?: Rejection[];
}

/** Result of subscribe and unsubscribe. */
export interface SubscriptionResult {
  clientId: string;
  /** The client's channel set afterwards. */
  channels: string[];
}

export interface SSEventClient {
  on<K extends keyof EventMap>(event: K, callback: (ev: EventMap[K]) => void): this;
  on<T = unknown>(event: string, callback: (ev: CustomEvent<T>) => void): this;
  off(event: string, callback?: (ev: any) => void): this;
  subscribe(...channels: string[]): Promise<SubscriptionResult>;
  unsubscribe(...channels: string[]): Promise<SubscriptionResult>;
  /** The client's id, or null before "connected". */
  getClientId(): string | null;
  isConnected(): boolean;
  /** 0 connecting, 1 open, 2 closed. */
  getReadyState(): 0 | 1 | 2;
  close(): void;
  /** Resolves when the WebAssembly client is running. */
  readonly ready: Promise<void>;
}

export declare function connectSSE(url: string, options?: ConnectOptions): SSEventClient;
export default connectSSE;

declare global {
  /** The global of the script-tag build (ssevent.js). */
  var SSEvent: {
    connect(url: string, options?: ConnectOptions): SSEventClient;
    version: string;
  };
}
