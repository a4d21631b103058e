// Owns the JUnit XML of a run, for CI dashboards: one test case per
// scenario x kernel (grouped in one test suite per scenario). A verdict
// that contradicts the expectation is a failure, with the numbers; a run
// without a verdict (error, inconclusive) is an error. Both carry the tail
// of the guest's serial console when there is one, and the command that
// runs the case again.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cellName, type RunResult } from '../run/result.ts';
import { resultLine, reproduceCommand } from './text.ts';
import { tail } from '../util/exec.ts';
import { withoutTerminalCodes } from '../util/terminal.ts';
import { escapeXml as esc } from './xml.ts';

const CONSOLE_LINES = 30;

export async function junitXml(results: RunResult[]): Promise<string> {
  const byScenario = new Map<string, RunResult[]>();
  for (const r of results) byScenario.set(r.scenario, [...(byScenario.get(r.scenario) ?? []), r]);
  const suites: string[] = [];
  for (const [scenario, list] of byScenario) {
    const cases = await Promise.all(list.map(testCase));
    const count = (k: string) => cases.filter((c) => c.kind === k).length;
    suites.push(
      `  <testsuite name="${esc(scenario)}" tests="${list.length}" failures="${count('failure')}" errors="${count('error')}" skipped="0" time="${secs(list)}">\n${cases.map((c) => c.xml).join('\n')}\n  </testsuite>`,
    );
  }
  const all = await Promise.all(results.map(testCase));
  const count = (k: string) => all.filter((c) => c.kind === k).length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="leaklab" tests="${results.length}" failures="${count('failure')}" errors="${count('error')}" time="${secs(results)}">\n${suites.join('\n')}\n</testsuites>\n`;
}

async function testCase(r: RunResult): Promise<{ kind: 'pass' | 'failure' | 'error'; xml: string }> {
  const open = `    <testcase classname="leaklab.${esc(r.scenario)}" name="${esc(cellName(r))}" time="${r.seconds.total.toFixed(1)}">`;
  const out = `      <system-out>${esc(resultLine(r))}</system-out>`;
  const console = await consoleTail(r);
  const again = `to run again: ${reproduceCommand(r)}`;
  const body = (text: string) => esc([text, again, console && `serial console (last ${CONSOLE_LINES} lines):\n${console}`].filter(Boolean).join('\n\n'));
  if (r.error) {
    const text = [r.error.message, r.error.hint && `next step: ${r.error.hint}`, r.error.details].filter(Boolean).join('\n');
    return {
      kind: 'error',
      xml: `${open}\n      <error type="${esc(r.error.kind)}" message="${esc(r.error.message)}">${body(text)}</error>\n${out}\n    </testcase>`,
    };
  }
  if (r.verdict?.verdict === 'inconclusive') {
    return {
      kind: 'error',
      xml: `${open}\n      <error type="inconclusive" message="${esc(r.verdict.reason)}">${body(resultLine(r))}</error>\n${out}\n    </testcase>`,
    };
  }
  if (r.asExpected === false) {
    return {
      kind: 'failure',
      xml: `${open}\n      <failure type="unexpected-verdict" message="${esc(r.why ?? 'unexpected verdict')}">${body(resultLine(r))}</failure>\n${out}\n    </testcase>`,
    };
  }
  return { kind: 'pass', xml: `${open}\n${out}\n    </testcase>` };
}

async function consoleTail(r: RunResult): Promise<string> {
  const text = await readFile(join(r.runDir, 'console.log'), 'utf8').catch(() => '');
  // Terminal controls the guest wrote (colours, screen clears) are noise in a CI dashboard.
  return text ? tail(withoutTerminalCodes(text), CONSOLE_LINES) : '';
}

function secs(results: RunResult[]): string {
  return results.reduce((a, r) => a + r.seconds.total, 0).toFixed(1);
}
