import test from 'ava';
import { run } from '../../src/util/exec.ts';
import { testContext } from '../helpers/context.ts';

const ctx = testContext();

test('onLine gets whole lines of stdout and stderr: a character split across writes stays whole, \\r\\n ends a line, the last line needs no newline', async (t) => {
  const lines: string[] = [];
  const script = "printf 'one\\r\\nt\\303'; sleep 0.2; printf '\\251te\\n'; printf 'err\\n' >&2; sleep 0.2; printf 'last'";
  await run(ctx, 'sh', ['-c', script], { timeoutMs: 10_000, what: 'printing lines', onLine: (l) => lines.push(l) });
  t.deepEqual(lines.sort(), ['err', 'last', 'one', 't\u00e9te'].sort());
});

test('exit 127: a missing command is "not installed", a missing command inside sh -c is named as such', async (t) => {
  await t.throwsAsync(run(ctx, 'leaklab-no-such-tool', [], { what: 'a missing tool', timeoutMs: 10_000 }), {
    message: /a missing tool: leaklab-no-such-tool is not installed/,
  });
  const inner = await t.throwsAsync(run(ctx, 'sh', ['-c', 'true | leaklab-no-such-tool'], { what: 'a pipeline', timeoutMs: 10_000 }));
  t.regex(inner!.message, /a pipeline: a command that sh ran was not found \(exit 127\)/);
  t.regex((inner as any).details, /leaklab-no-such-tool: not found/);
});
