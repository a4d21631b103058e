// Owns choosing QEMU's accelerator: KVM only where it can really work (the
// device node is there AND the CPU advertises vmx/svm), else TCG. On some
// machines /dev/kvm exists but KVM guests hang at "Booting from ROM".
import { access, readFile, constants } from 'node:fs/promises';
import { LeaklabError } from '../../util/errors.ts';

export type Accel = 'kvm' | 'tcg';

/** `forced`: the configuration's LEAKLAB_ACCEL (already checked to be kvm or tcg), if set. */
export async function chooseAccel(forced: Accel | undefined): Promise<{ accel: Accel; why: string }> {
  if (forced === 'tcg') return { accel: 'tcg', why: 'LEAKLAB_ACCEL' };
  const kvm = await kvmUsable();
  if (forced === 'kvm') {
    // Forced KVM where it cannot work would wait out the boot timeout at "Booting from ROM": refuse now.
    if (!kvm.ok)
      throw new LeaklabError('usage', `LEAKLAB_ACCEL=kvm cannot work here: ${kvm.why}`, {
        hint: 'unset LEAKLAB_ACCEL (leaklab then uses TCG here), or enable virtualization for this machine',
      });
    return { accel: 'kvm', why: 'LEAKLAB_ACCEL' };
  }
  return kvm.ok ? { accel: 'kvm', why: kvm.why } : { accel: 'tcg', why: kvm.why };
}

async function kvmUsable(): Promise<{ ok: boolean; why: string }> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { ok: false, why: '/dev/kvm is not usable' };
  }
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  if (!/^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo)) {
    return { ok: false, why: '/dev/kvm exists but the CPU advertises neither vmx nor svm (KVM guests would hang)' };
  }
  return { ok: true, why: '/dev/kvm and vmx/svm present' };
}
