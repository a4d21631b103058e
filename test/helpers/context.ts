// A context for tests that call library code directly: no progress output,
// the configuration from this process's environment, its own cleanup scope.
import { createContext, type Context } from '../../src/util/context.ts';

export function testContext(): Context {
  return createContext({ quiet: true });
}
