// Owns the shapes a source build passes between its steps: the tree it
// compiles in, and a named text (a patch or a config fragment).

export interface SourceTree {
  kind: 'debian' | 'git' | 'worktree';
  /** The source directory make runs in. */
  dir: string;
  /** Identity of the source content (part of the kernel's cache key). */
  key: string;
  /** Identity of the object dir: shared by every content of the same directory. */
  objdirKey: string;
  identity: string;
  /** Puts the tree in the state this build needs (called holding the lock). */
  prepare: () => Promise<void>;
  /** Brings back the pristine source when patches will not revert; absent for the user's own tree. */
  reset?: () => Promise<void>;
  /** The commit a git tree builds; a later build in the same object dir asks what changed since (stale-objects.ts). */
  revision?: string;
  /** The files that differ between `revision` and an earlier one. */
  changedSince?: (revision: string) => Promise<string[]>;
}

export interface NamedText {
  name: string;
  path: string;
  text: string;
}

/** How an object directory inside leaklab's own source tree begins (source-build.ts); git clean and status leave it alone (git-tree.ts). */
export const OBJDIR_PREFIX = '.leaklab-objdir-';
