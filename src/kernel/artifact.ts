// Owns the description of a kernel ready to boot, whatever its origin
// (built from source, Debian package, user's bzImage), with its provenance.
export interface KernelArtifact {
  /** Catalog name. */
  name: string;
  bzImage: string;
  /** The kernel's .config, when known. */
  configPath?: string;
  /** lib/modules/<release> directory with modules.dep, for modular kernels. */
  modulesDir?: string;
  /** What `uname -r` says in the guest, when known. */
  release?: string;
  provenance: Record<string, string>;
  /** The uncompressed kernel of a source build, and the source directory its line tables name (file:line of stack frames). */
  vmlinux?: { path: string; sourceDir: string };
  /** Object directory of a source build (shared by variants of one source + config). */
  objdir?: string;
}
