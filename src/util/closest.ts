// Owns "did you mean": the names closest to a misspelt one (edit distance,
// with names that contain it or that it contains first), for messages that
// refuse a name and must say what exists instead.

/** Levenshtein distance: insertions, deletions and substitutions of one character each. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** Up to `count` of `names` closest to `wanted`, closest first; none further than half its length (they would not help). */
export function closestNames(wanted: string, names: Iterable<string>, count = 3): string[] {
  const w = wanted.toLowerCase();
  const scored = [...new Set(names)].map((name) => {
    const n = name.toLowerCase();
    const contains = n.includes(w) || w.includes(n) ? 0 : 1;
    return { name, contains, distance: editDistance(w, n) };
  });
  return scored
    .filter((x) => x.contains === 0 || x.distance <= Math.max(2, Math.floor(w.length / 2)))
    .sort((a, b) => a.contains - b.contains || a.distance - b.distance || a.name.localeCompare(b.name))
    .slice(0, count)
    .map((x) => x.name);
}
