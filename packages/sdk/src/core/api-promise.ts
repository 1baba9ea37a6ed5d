import type { FleeceError } from './errors.js';
import type { FinalRequestOptions } from './request-options.js';

/** A response whose headers have arrived, with what is needed to read its body. @internal */
export interface APIResponseProps {
  response: Response;
  options: FinalRequestOptions;
  /** The response's `X-Request-Id`, or the one the SDK sent. */
  requestId: string;
  /** Stops the per-attempt timeout timer once the body is read (or handed over). */
  release(): void;
  /** Maps an error thrown while reading the body to the SDK error it stands for. */
  classify(error: unknown): FleeceError;
}

/**
 * The promise every SDK method returns. Await it for the parsed, typed body, or use:
 *
 * - `.asResponse()`: the raw `Response` as soon as its headers arrive, body unread;
 * - `.withResponse()`: `{ data, response, requestId }`.
 *
 * The request starts at once, whether or not the promise is awaited.
 */
export class APIPromise<T> extends Promise<T> {
  static override get [Symbol.species]() {
    return Promise;
  }

  readonly #responsePromise: Promise<APIResponseProps>;
  readonly #parse: (props: APIResponseProps) => Promise<T>;
  #parsed: Promise<T> | undefined;

  /** @internal Built by the client; resource code does not construct these directly. */
  constructor(responsePromise: Promise<APIResponseProps>, parse: (props: APIResponseProps) => Promise<T>) {
    super((resolve) => resolve(null as T));
    this.#responsePromise = responsePromise;
    this.#parse = parse;
  }

  /**
   * The raw `Response`, once its headers have arrived; reading its body is up to you (the timeout no
   * longer applies). Error statuses still reject with the `APIError` for them.
   *
   * @example
   * const response = await client.health.check().asResponse();
   * console.log(response.status, response.headers.get('x-request-id'));
   */
  asResponse(): Promise<Response> {
    return this.#responsePromise.then((props) => {
      props.release();
      return props.response;
    });
  }

  /**
   * The parsed body together with the raw `Response` (body already read) and the request id.
   *
   * @example
   * const { data, requestId } = await client.health.check().withResponse();
   */
  async withResponse(): Promise<{ data: T; response: Response; requestId: string }> {
    const [data, props] = await Promise.all([this.#getParsed(), this.#responsePromise]);
    return { data, response: props.response, requestId: props.requestId };
  }

  #getParsed(): Promise<T> {
    this.#parsed ??= this.#responsePromise.then((props) => this.#parse(props));
    return this.#parsed;
  }

  /**
   * Standard `Promise.then`, on the parsed body (read and checked on first use).
   *
   * @example
   * client.health.check().then((health) => console.log(health.status));
   */
  // biome-ignore lint/suspicious/noThenProperty: an APIPromise is a Promise; `then` parses the body lazily.
  override then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#getParsed().then(onfulfilled, onrejected);
  }

  /**
   * Standard `Promise.catch`.
   *
   * @example
   * const health = await client.health.check().catch(() => undefined);
   */
  override catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.#getParsed().catch(onrejected);
  }

  /**
   * Standard `Promise.finally`.
   *
   * @example
   * await client.health.check().finally(() => spinner.stop());
   */
  override finally(onfinally?: (() => void) | null): Promise<T> {
    return this.#getParsed().finally(onfinally);
  }
}
