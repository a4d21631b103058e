// Owns choosing QEMU's accelerator: KVM only where it can really work (the
// device node is there AND the CPU advertises vmx/svm), else TCG. On some
// machines /dev/kvm exists but KVM guests hang at "Booting from ROM".
import { access, readFile, constants } from 'node:fs/promises';
import { LeaklabError } from '../../util/errors.ts';

export type Accel = 'kvm' | 'tcg';

export async function chooseAccel(): Promise<{ accel: Accel; why: string }> {
  const forced = process.env.LEAKLAB_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, why: 'LEAKLAB_ACCEL' };
  if (forced) throw new LeaklabError('usage', `LEAKLAB_ACCEL must be kvm or tcg, not "${forced}"`, { hint: 'unset it to let leaklab detect whether KVM works' });
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', why: '/dev/kvm is not usable' };
  }
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  if (!/^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo)) {
    return { accel: 'tcg', why: '/dev/kvm exists but the CPU advertises neither vmx nor svm (KVM guests would hang)' };
  }
  return { accel: 'kvm', why: '/dev/kvm and vmx/svm present' };
}
