import type { Invocation } from '../../lib/invocation.js';
import { bashScript, completionTree, fishScript, zshScript } from './scripts.js';

/** Runs `fleece completion <shell>`. */
export async function run(inv: Invocation, _options: unknown, args: string[]): Promise<void> {
  const tree = completionTree(inv.program);
  const shell = args[0];
  const script = shell === 'bash' ? bashScript(tree) : shell === 'zsh' ? zshScript(tree) : fishScript(tree);
  inv.ctx.stdout.write(script);
}
