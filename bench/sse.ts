/** A minimal SSE reader for benchmarks: calls back on each run event until closed. */
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { RunEventSchema, type RunEvent } from '../executor/contract/index.ts';

export function followEvents(url: string, token: string, onEvent: (event: RunEvent) => void): { ready: Promise<void>; close: () => void } {
  const controller = new AbortController();
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  void (async () => {
    const response = await fetch(`${url}/v1/events`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
    markReady();
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      const event = RunEventSchema.safeParse(JSON.parse(next.value.data));
      if (event.success) onEvent(event.data);
    }
  })().catch((error: unknown) => {
    if (!controller.signal.aborted) console.error('event stream failed', error);
  });
  return { ready, close: () => controller.abort() };
}
