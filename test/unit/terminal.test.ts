import test from 'ava';
import { withoutTerminalCodes } from '../../src/util/terminal.ts';
import { fixture } from '../helpers/fixtures.ts';

test("a real console (SeaBIOS's ESC c, screen clears, colours; serial CR LF) keeps its text and loses every control character", (t) => {
  for (const name of ['clean-boot-v6.1.log', 'panic-no-root-debian-6.1-cloud.log']) {
    const raw = fixture('console', name);
    t.regex(raw, /\x1bc/, `${name} has the codes this test is about`);
    const text = withoutTerminalCodes(raw);
    t.notRegex(text, /[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/, name);
    t.regex(text, /^SeaBIOS \(version [^\n]*\)\nBooting from ROM\.\./m, name);
    t.is(text.split('\n').length, raw.split('\n').length, `${name}: one line for one line`);
  }
});

test('window-title and other escape sequences go too, their text with them', (t) => {
  t.is(withoutTerminalCodes('a\x1b]0;title\x07b\x1b(Bc\x1b[1;31md\x1b[0m\r\n'), 'abcd\n');
});
