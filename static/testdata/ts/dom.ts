// The typings export no name of a DOM global: an import of one is an
// error, and the DOM's own types stay what they are in a file that imports
// the typings.
import type { SSEventMessage } from '../../ssevent';
// @ts-expect-error MessageEvent is the DOM's, not exported by the typings
import type { MessageEvent } from '../../ssevent';
// @ts-expect-error ErrorEvent is the DOM's
import type { ErrorEvent } from '../../ssevent';
// @ts-expect-error CustomEvent is the DOM's
import type { CustomEvent } from '../../ssevent';
// @ts-expect-error Event is the DOM's
import type { Event } from '../../ssevent';

export function fromDOM(ev: globalThis.MessageEvent<string>, msg: SSEventMessage<{ n: number }>): string {
  return ev.data + ev.origin + msg.data.payload.n;
}
