// Whether a typed or keyed answer fits the rule of the question that asked for it.

export function validAnswer(
  rule: { keypad: boolean; digits?: number | undefined; pattern?: string | undefined },
  input: string,
): boolean {
  if (input === '') return false;
  if (rule.keypad && !/^[0-9]+$/.test(input)) return false;
  if (rule.digits !== undefined && input.length !== rule.digits) return false;
  if (rule.pattern !== undefined && !compiledPattern(rule.pattern).test(input)) return false;
  return true;
}

const patterns = new Map<string, RegExp>();
function compiledPattern(source: string): RegExp {
  let re = patterns.get(source);
  if (!re) {
    re = new RegExp(source);
    patterns.set(source, re);
  }
  return re;
}
