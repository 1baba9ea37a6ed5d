import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, useMsw } from '../../../testkit/src/index.js';
import { runCli } from '../helpers.js';

const server = useMsw();

const env = { FLEECE_API_KEY: 'flc_ci_key', FLEECE_BASE_URL: BASE_URL };

const MESSAGE = {
  seq: 2,
  role: 'assistant',
  content: 'Hi there.',
  model: 'mock',
  createdAt: '2026-03-01T12:00:00.000Z',
};
const REPLY = {
  conversationId: 'cnv_1',
  message: MESSAGE,
  usage: { inputTokens: 3, outputTokens: 2 },
  finishReason: 'stop',
};

/** A chat server that streams `reply` in two deltas (or fails with `failWith`), recording the bodies. */
function chatServer(options: { failWith?: string } = {}): unknown[] {
  const bodies: unknown[] = [];
  server.use(
    http.post(`${BASE_URL}/api/v1/chat`, async ({ request }) => {
      const body = (await request.json()) as { stream?: boolean };
      bodies.push(body);
      if (!body.stream) return HttpResponse.json(REPLY);
      const events: [string, unknown][] = [['conversation', { conversationId: 'cnv_1' }]];
      if (options.failWith) events.push(['error', { code: options.failWith }]);
      else
        events.push(
          ['message.delta', { text: 'Hi ' }],
          ['message.delta', { text: 'there.' }],
          ['message.completed', REPLY],
        );
      events.push(['done', {}]);
      const text = events
        .map(([event, data], i) => `id: ${i + 1}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
        .join('');
      return new HttpResponse(text, { headers: { 'content-type': 'text/event-stream' } });
    }),
  );
  return bodies;
}

describe('fleece chat', () => {
  it('sends piped stdin as one turn and streams the reply to stdout', async () => {
    const bodies = chatServer();
    const result = await runCli(['chat', '--model', 'mock'], { env, stdin: 'Hello\n' });
    expect(result).toMatchObject({
      exitCode: 0,
      stdout: 'Hi there.\n',
      stderr: 'Conversation cnv_1 (continue it with --conversation cnv_1).\n',
      asked: [],
    });
    expect(bodies).toEqual([{ message: 'Hello', model: 'mock', stream: true }]);
  });

  it("uses an agent's instructions as the system message and its model", async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/agents/:id`, () =>
        HttpResponse.json({
          id: 'agt_0123456789abcdefghijklmn',
          name: 'triage',
          description: '',
          instructions: 'Label the issue.',
          model: 'mock-large',
          temperature: null,
          maxOutputTokens: null,
          createdAt: '2026-01-01T00:00:00.000Z',
          updatedAt: '2026-01-01T00:00:00.000Z',
        }),
      ),
    );
    const bodies = chatServer();
    const result = await runCli(['chat', '--agent', 'agt_0123456789abcdefghijklmn', '-m', 'Crash on start'], {
      env,
    });
    expect(result.exitCode).toBe(0);
    expect(bodies).toEqual([
      {
        messages: [
          { role: 'system', content: 'Label the issue.' },
          { role: 'user', content: 'Crash on start' },
        ],
        model: 'mock-large',
        stream: true,
      },
    ]);
  });

  it("--agent takes the agent's exact name as well as its id, like agents run", async () => {
    const triage = {
      id: 'agt_0123456789abcdefghijklmn',
      name: 'triage',
      description: '',
      instructions: 'Label the issue.',
      model: 'mock-large',
      temperature: null,
      maxOutputTokens: null,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    };
    const fetched: string[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/agents`, () => HttpResponse.json({ data: [triage], nextCursor: null })),
      http.get(`${BASE_URL}/api/v1/agents/:id`, ({ params }) => {
        fetched.push(String(params.id));
        return HttpResponse.json(triage);
      }),
    );
    const bodies = chatServer();
    const result = await runCli(['chat', '--agent', 'triage', '-m', 'Crash on start'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fetched).toEqual([triage.id]);
    expect(bodies).toEqual([
      {
        messages: [
          { role: 'system', content: 'Label the issue.' },
          { role: 'user', content: 'Crash on start' },
        ],
        model: 'mock-large',
        stream: true,
      },
    ]);
    const unknown = await runCli(['chat', '--agent', 'triag', '-m', 'x'], { env });
    expect(unknown).toMatchObject({
      exitCode: 6,
      stderr:
        'error: No agent is named "triag".\nhint: Give the agent\'s id or exact name: `fleece agents list` shows them.\n',
    });
  });

  it('converses on a terminal until /exit, continuing the same conversation', async () => {
    const bodies = chatServer();
    const result = await runCli(['chat'], {
      env,
      stdin: 'tty',
      tty: true,
      answers: ['Hello', '', 'And again?', '/exit'],
    });
    expect(result.exitCode).toBe(0);
    expect(result.asked).toEqual(['you', 'you', 'you', 'you']);
    expect(result.stdout).toBe('Hi there.\nHi there.\n');
    expect(bodies).toEqual([
      { message: 'Hello', stream: true },
      { conversationId: 'cnv_1', message: 'And again?', stream: true },
    ]);
  });

  it('prints the reply as JSON with --json, without streaming', async () => {
    const bodies = chatServer();
    const result = await runCli(['chat', '--json', '--conversation', 'cnv_1'], { env, stdin: 'More' });
    expect(JSON.parse(result.stdout)).toEqual(REPLY);
    expect(bodies).toEqual([{ conversationId: 'cnv_1', message: 'More' }]);
  });

  it('exits 1 when the reply fails, saying nothing was stored', async () => {
    chatServer({ failWith: 'provider_unavailable' });
    const result = await runCli(['chat'], { env, stdin: 'Hello' });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      'error: The reply failed (provider_unavailable); nothing was stored for it.\n',
    );
  });

  it('exits 2 on empty piped input, and without a terminal or input, never prompting', async () => {
    chatServer();
    const empty = await runCli(['chat'], { env, stdin: '  \n' });
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toContain('error: Nothing to send: standard input was empty.\n');
    const noTerminal = await runCli(['chat'], { env, stdin: 'tty', tty: false });
    expect(noTerminal).toMatchObject({ exitCode: 2, asked: [] });
    expect(noTerminal.stderr).toContain(
      'hint: Pipe the message (`echo "Hello" | fleece chat`) or pass --message <text>.\n',
    );
  });
});
