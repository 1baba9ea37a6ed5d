/**
 * Fleece from a Node script, with @fleece/sdk: create an agent, run it with its output streamed as it is
 * generated, then list the agent's executions. Credentials and server come from the environment:
 *
 *   pnpm build
 *   FLEECE_API_KEY=flc_… FLEECE_BASE_URL=http://127.0.0.1:3000 node examples/sdk.ts "The export stalls after page one"
 *
 * The key needs more than the default `read` scope: `fleece keys create --name examples --scopes
 * read,write,agents:execute`.
 *
 * (Node 24 runs this TypeScript file as it is; on Node 22 use `npx tsx examples/sdk.ts`.) Exits 1 when the
 * execution did not succeed, and prints the problem (status, code, request id) when a call fails.
 * Run by packages/cli/test/e2e/examples.e2e.test.ts against a real server.
 */
import { APIError, Fleece, FleeceError } from '@fleece/sdk';

const input = process.argv[2] ?? 'Summarise: the nightly export stalls after the first page.';
// Reads FLEECE_API_KEY and FLEECE_BASE_URL; retries connection errors, 429 and 5xx with backoff, and gives
// every POST an Idempotency-Key, so a retried execution never runs twice.
const client = new Fleece();

try {
  const agent = await client.agents.create({
    name: 'triage-example',
    instructions: 'Answer in one short paragraph.',
  });
  console.error(`agent ${agent.id} (model ${agent.model ?? 'the deployment default'})`);

  const stream = await client.agents.execute(agent.id, { input, stream: true });
  for await (const event of stream) {
    if (event.event === 'output.delta') process.stdout.write(event.data.text);
    else if (event.event === 'execution.completed' || event.event === 'execution.failed') {
      process.stdout.write('\n');
      console.error(
        `execution ${event.data.id}: ${event.data.status}, ${event.data.usage?.outputTokens ?? 0} output tokens`,
      );
      if (event.data.status !== 'succeeded') process.exitCode = 1;
    }
  }

  // Pages are async iterables: this walks every page of the agent's executions.
  for await (const execution of client.executions.list({ agentId: agent.id, limit: 20 })) {
    console.error(`${execution.id} ${execution.status} ${execution.createdAt}`);
  }
} catch (error) {
  if (error instanceof APIError) {
    console.error(`Fleece API error ${error.status}: ${error.message} (request id ${error.requestId})`);
  } else if (error instanceof FleeceError) {
    // The server could not be reached (APIConnectionError), a timeout, or a bad option.
    console.error(`${error.name}: ${error.message}`);
  } else {
    console.error(error);
  }
  process.exitCode = 1;
}
