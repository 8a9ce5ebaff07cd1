// Kubernetes `$(VAR)` expansion in env values, command and args, as kubelet does it
// (k8s.io/kubernetes third_party/forked/golang/expansion): `$(NAME)` becomes the variable's
// value when NAME is defined and stays `$(NAME)` verbatim when it is not; `$$` is an escaped `$`;
// an unclosed `$(` and any other `$x` are kept as written.

/** Expands `input` against `lookup` (undefined: the variable is not defined). */
export function expandKubeVars(
  input: string,
  lookup: (name: string) => string | undefined,
): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    let advance = 1;
    if (next === '$') {
      out += '$';
    } else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close === -1) {
        out += '$(';
      } else {
        const name = input.slice(cursor + 2, close);
        out += lookup(name) ?? `$(${name})`;
        advance = close - cursor;
      }
    } else {
      out += `$${next}`;
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}
