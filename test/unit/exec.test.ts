import test from 'ava';
import { run } from '../../src/util/exec.ts';

test('onLine gets whole lines of stdout and stderr: a character split across writes stays whole, \\r\\n ends a line, the last line needs no newline', async (t) => {
  const lines: string[] = [];
  const script = "printf 'one\\r\\nt\\303'; sleep 0.2; printf '\\251te\\n'; printf 'err\\n' >&2; sleep 0.2; printf 'last'";
  await run('sh', ['-c', script], { timeoutMs: 10_000, what: 'printing lines', onLine: (l) => lines.push(l) });
  t.deepEqual(lines.sort(), ['err', 'last', 'one', 't\u00e9te'].sort());
});
