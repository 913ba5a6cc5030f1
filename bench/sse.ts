/** A minimal SSE reader for benchmarks: calls back on each run event until closed. */
import { RunEventSchema, type RunEvent } from '../executor/contract/index.ts';

export function followEvents(url: string, token: string, onEvent: (event: RunEvent) => void): { ready: Promise<void>; close: () => void } {
  const controller = new AbortController();
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  void (async () => {
    const response = await fetch(`${url}/v1/events`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    markReady();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = buffer.slice(0, end).split('\n').find((line) => line.startsWith('data: '));
        buffer = buffer.slice(end + 2);
        if (data) onEvent(RunEventSchema.parse(JSON.parse(data.slice(6))));
      }
    }
  })().catch((error: unknown) => {
    if (!controller.signal.aborted) console.error('event stream failed', error);
  });
  return { ready, close: () => controller.abort() };
}
