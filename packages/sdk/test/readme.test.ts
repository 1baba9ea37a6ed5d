import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SDK = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(SDK, 'dist');

/** The ```ts blocks of the SDK README, with the line each starts on. */
function codeBlocks(): { line: number; code: string }[] {
  const text = readFileSync(join(SDK, 'README.md'), 'utf8');
  const blocks: { line: number; code: string }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```ts') continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]!.trim() !== '```') end++;
    blocks.push({ line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return blocks;
}

/** The names a built declaration file exports (`export { A, B as C }` and `export declare …`). */
function exportedNames(file: string): Set<string> {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
  const names = new Set<string>();
  for (const statement of source.statements) {
    if (
      ts.isExportDeclaration(statement) &&
      statement.exportClause &&
      ts.isNamedExports(statement.exportClause)
    ) {
      for (const element of statement.exportClause.elements) names.add(element.name.text);
    }
  }
  return names;
}

/**
 * A README block as one module, as a reader would write it: the names it uses from the package are imported
 * (the blocks show usage, not their import lines; `@fleece/sdk` first, then `@fleece/sdk/contract`), and a block
 * that uses `client` without making one gets `declare const client: Fleece`. Every block is a module
 * (`export {}`), so top-level `await` is allowed, as in an ES module script. The prelude is one line.
 */
function asModule(code: string, sdk: Set<string>, contract: Set<string>): string {
  const declared = new Set(
    [
      ...code.matchAll(
        /\b(?:import\s*(?:type\s*)?\{([^}]*)\}|(?:const|let|class|function)\s+([A-Za-z_$][\w$]*))/g,
      ),
    ].flatMap((m) =>
      m[1]
        ? m[1].split(',').map(
            (n) =>
              n
                .trim()
                .split(/\s+as\s+/)
                .pop()!,
          )
        : [m[2]!],
    ),
  );
  const used = new Set(code.match(/\b[A-Za-z_$][\w$]*\b/g) ?? []);
  const fromSdk = [...used].filter((n) => sdk.has(n) && !declared.has(n));
  const fromContract = [...used].filter((n) => !sdk.has(n) && contract.has(n) && !declared.has(n));
  const prelude: string[] = [];
  if (/\bclient\b/.test(code) && !declared.has('client')) {
    if (!fromSdk.includes('Fleece') && !declared.has('Fleece')) fromSdk.push('Fleece');
    prelude.push('declare const client: Fleece;');
  }
  if (fromSdk.length) prelude.unshift(`import { ${fromSdk.join(', ')} } from '@fleece/sdk';`);
  if (fromContract.length)
    prelude.unshift(`import { ${fromContract.join(', ')} } from '@fleece/sdk/contract';`);
  return `${prelude.join(' ')}\n${code}\nexport {};\n`;
}

describe.runIf(existsSync(join(DIST, 'index.d.ts')))('SDK README', () => {
  it('type-checks every ts code block against the built package (dist/*.d.ts)', () => {
    const blocks = codeBlocks();
    expect(blocks.length).toBeGreaterThan(10);
    const sdk = exportedNames(join(DIST, 'index.d.ts'));
    const contract = exportedNames(join(DIST, 'contract/index.d.ts'));
    const files = new Map(
      blocks.map((b, i) => [join(SDK, `__readme_block_${i}.ts`), asModule(b.code, sdk, contract)]),
    );
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      types: ['node'],
      skipLibCheck: true,
      baseUrl: SDK,
      // The built package, as a user installs it: its declaration files, not the sources.
      paths: {
        '@fleece/sdk': [join(DIST, 'index.d.ts')],
        '@fleece/sdk/contract': [join(DIST, 'contract/index.d.ts')],
      },
    };
    const host = ts.createCompilerHost(options);
    const readFile = host.readFile.bind(host);
    const fileExists = host.fileExists.bind(host);
    host.readFile = (name) => files.get(name) ?? readFile(name);
    host.fileExists = (name) => files.has(name) || fileExists(name);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, version) => {
      const text = files.get(name);
      return text === undefined ? getSourceFile(name, version) : ts.createSourceFile(name, text, version);
    };
    const program = ts.createProgram([...files.keys()], options, host);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && files.has(d.file.fileName))
      .map((d) => {
        const index = Number(/__readme_block_(\d+)\.ts$/.exec(d.file!.fileName)![1]);
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
        // Line 0 is the prelude; line 1 is the block's first line.
        return `README.md:${blocks[index]!.line + line - 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(problems).toEqual([]);
  });
});
