import { FLOW_TEMPLATE_MAX_PLACEHOLDERS, type ProblemFieldError } from '@fleece/sdk/contract';

/** A `{{…}}` placeholder of a step's input template, with optional spaces inside the braces. */
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const STEP_OUTPUT = /^steps\.([A-Za-z0-9][A-Za-z0-9_-]{0,63})\.output$/;

/** What a placeholder refers to: the run's input, an earlier step's output, or nothing Fleece knows. */
export type TemplateReference =
  | { kind: 'input'; text: string }
  | { kind: 'step'; name: string; text: string }
  | { kind: 'unknown'; text: string };

/** The placeholders of `template`, in order (`text` is the placeholder as written, braces included). */
export function templateReferences(template: string): TemplateReference[] {
  const refs: TemplateReference[] = [];
  for (const match of template.matchAll(PLACEHOLDER)) {
    const inner = match[1]!;
    const text = match[0];
    const step = STEP_OUTPUT.exec(inner);
    if (inner === 'input') refs.push({ kind: 'input', text });
    else if (step) refs.push({ kind: 'step', name: step[1]!, text });
    else refs.push({ kind: 'unknown', text });
  }
  return refs;
}

/**
 * Checks the steps of a flow before it is saved: step names unique, and every placeholder either
 * `{{input}}` or `{{steps.<name>.output}}` of a step that runs earlier. Returns one error per problem, with
 * the field path (`steps[2].input`) and a message naming the step and the reference; empty when valid.
 */
export function checkSteps(steps: readonly { name: string; input: string }[]): ProblemFieldError[] {
  const errors: ProblemFieldError[] = [];
  const position = new Map<string, number>();
  steps.forEach((step, i) => {
    const first = position.get(step.name);
    if (first === undefined) position.set(step.name, i);
    else
      errors.push({
        path: `steps[${i}].name`,
        message: `step names must be unique: "${step.name}" is already the name of step ${first + 1}`,
      });
  });
  steps.forEach((step, i) => {
    const refs = templateReferences(step.input);
    if (refs.length > FLOW_TEMPLATE_MAX_PLACEHOLDERS) {
      errors.push({
        path: `steps[${i}].input`,
        message: `step "${step.name}" has ${refs.length} placeholders; a step's input template may have at most ${FLOW_TEMPLATE_MAX_PLACEHOLDERS}`,
      });
      return;
    }
    for (const ref of refs) {
      if (ref.kind === 'input') continue;
      let message: string | undefined;
      if (ref.kind === 'unknown') {
        message = `step "${step.name}" uses ${ref.text}, which is not a template reference; use {{input}} or {{steps.<name>.output}}`;
      } else {
        const at = position.get(ref.name);
        if (at === undefined) {
          message = `step "${step.name}" refers to ${ref.text}, but the flow has no step named "${ref.name}"`;
        } else if (at >= i) {
          message = `step "${step.name}" refers to ${ref.text}, but step "${ref.name}" does not run before it; a step can use only the outputs of earlier steps`;
        }
      }
      if (message) errors.push({ path: `steps[${i}].input`, message });
    }
  });
  return errors;
}

/** The value a placeholder (`inner`: the text between the braces, trimmed) is filled with. */
function placeholderValue(
  text: string,
  inner: string,
  input: string,
  outputs: ReadonlyMap<string, string>,
): string {
  if (inner === 'input') return input;
  const step = STEP_OUTPUT.exec(inner);
  const value = step ? outputs.get(step[1]!) : undefined;
  if (value === undefined) throw new Error(`template reference ${text} has no value`);
  return value;
}

/**
 * Fills a checked template: `{{input}}` with `input`, `{{steps.<name>.output}}` with that step's output.
 * One pass, so text inserted from an input or output is never expanded again.
 *
 * The length of the result (in UTF-16 code units, as `String.length` counts) is worked out from the
 * template and the values' lengths first, without building anything: when it would exceed `maxChars`,
 * nothing is rendered and the result is `{ tooLarge: length }`.
 *
 * @throws {Error} for a reference with no value (a template that {@link checkSteps} did not pass).
 */
export function renderTemplate(
  template: string,
  input: string,
  outputs: ReadonlyMap<string, string>,
  maxChars: number = Number.POSITIVE_INFINITY,
): { text: string } | { tooLarge: number } {
  let length = template.length;
  for (const match of template.matchAll(PLACEHOLDER)) {
    length += placeholderValue(match[0], match[1]!, input, outputs).length - match[0].length;
  }
  if (length > maxChars) return { tooLarge: length };
  return {
    text: template.replace(PLACEHOLDER, (text, inner: string) =>
      placeholderValue(text, inner, input, outputs),
    ),
  };
}
