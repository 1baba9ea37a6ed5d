import type { Fleece } from '../client.js';

/** The base of every resource (`client.health`, `client.auth`, …): holds the client it calls through. */
export abstract class APIResource {
  protected readonly _client: Fleece;

  constructor(client: Fleece) {
    this._client = client;
  }
}
