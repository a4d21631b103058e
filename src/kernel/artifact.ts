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
  /** Object directory of a source build (shared by variants of one source + config). */
  objdir?: string;
}
