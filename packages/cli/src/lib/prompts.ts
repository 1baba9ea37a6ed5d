/** A yes/no question. */
export interface ConfirmQuestion {
  message: string;
  /** The answer when the user just presses Enter. */
  default: boolean;
}

/** A question whose answer is a secret: the input is masked and never echoed. */
export interface SecretQuestion {
  message: string;
}

/** A question answered with a line of free text (a chat message). */
export interface TextQuestion {
  message: string;
}

/**
 * Every question the CLI can ask, in one place, so tests can script the answers (see `scriptedPrompts`
 * in the tests) and so a non-interactive run can be shown never to reach one. Commands only call these
 * after checking `Output.interactive`; otherwise they fail with a message naming the flag that answers
 * the question.
 */
export interface Prompts {
  /** Asks a yes/no question. */
  confirm(question: ConfirmQuestion, signal: AbortSignal): Promise<boolean>;
  /** Asks for a secret (an API key or token); the input is masked. */
  secret(question: SecretQuestion, signal: AbortSignal): Promise<string>;
  /** Asks for a line of text, echoed as typed. */
  text(question: TextQuestion, signal: AbortSignal): Promise<string>;
}

/**
 * The real prompts: @inquirer/prompts on the process's terminal, loaded on first use. Ctrl+C rejects
 * with inquirer's `ExitPromptError`, which the entry point turns into exit code 130.
 */
export const terminalPrompts: Prompts = {
  async confirm(question, signal) {
    const { confirm } = await import('@inquirer/prompts');
    return confirm({ message: question.message, default: question.default }, { signal });
  },
  async secret(question, signal) {
    const { password } = await import('@inquirer/prompts');
    return password({ message: question.message, mask: true }, { signal });
  },
  async text(question, signal) {
    const { input } = await import('@inquirer/prompts');
    return input({ message: question.message }, { signal });
  },
};
