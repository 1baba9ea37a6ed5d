/** One Server-Sent Event as received: its fields, and the parsed JSON of `data`. */
export interface ReceivedEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
  json: unknown;
}

/**
 * A Server-Sent Events client for tests over real HTTP: parses the stream as it arrives (WHATWG HTML §9.2
 * framing: blank-line separated blocks of `field: value` lines, `:` comments) and lets a test wait for the
 * next event or comment. Waits are bounded by the test's timeout, never by sleeping.
 */
export class SseClient {
  readonly events: ReceivedEvent[] = [];
  readonly comments: string[] = [];
  readonly status: number;
  readonly headers: Headers;
  private waiters: (() => void)[] = [];
  private readonly controller: AbortController;
  private done = false;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;

  private constructor(response: Response, controller: AbortController) {
    this.status = response.status;
    this.headers = response.headers;
    this.controller = controller;
    this.ended = this.read(response);
  }

  /**
   * Opens `url` with `headers` (a GET, or `init.method` with `init.body`, e.g. a streaming POST);
   * resolves once the response headers arrived.
   */
  static async open(
    url: string,
    headers: Record<string, string> = {},
    init: { method?: string; body?: string } = {},
  ): Promise<SseClient> {
    const controller = new AbortController();
    const response = await fetch(url, {
      ...init,
      headers: { accept: 'text/event-stream', ...headers },
      signal: controller.signal,
    });
    return new SseClient(response, controller);
  }

  private async read(response: Response): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          this.parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // Aborted by close().
    } finally {
      this.done = true;
      this.wake();
    }
  }

  private parse(block: string): void {
    const fields: Record<string, string> = {};
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const name = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (name === 'data') data.push(value);
      else fields[name] = value;
    }
    if (data.length > 0 || fields.id !== undefined || fields.event !== undefined) {
      const text = data.join('\n');
      this.events.push({
        id: fields.id,
        event: fields.event,
        data: text,
        json: text ? JSON.parse(text) : undefined,
      });
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async until(condition: () => boolean): Promise<void> {
    while (!condition()) {
      if (this.done) throw new Error('The stream ended');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Waits until at least `count` events have arrived; returns them all. */
  async waitForEvents(count: number): Promise<ReceivedEvent[]> {
    await this.until(() => this.events.length >= count);
    return this.events;
  }

  /** Waits until at least `count` comments have arrived. */
  async waitForComments(count: number): Promise<string[]> {
    await this.until(() => this.comments.length >= count);
    return this.comments;
  }

  /** Disconnects. */
  close(): void {
    this.controller.abort();
  }
}
