/** Suggests the closest known name for a misspelt key, stage or flag (Damerau-Levenshtein). */

export const editDistance = (a: string, b: string): number => {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[a.length]![b.length]!
}

/** The parts of a compound name: `node-gpu` -> node, gpu. */
const parts = (name: string): ReadonlyArray<string> => name.toLowerCase().split(/[-_.]/)

/**
 * The closest candidate within a distance that scales with the word's length, if any. A
 * one-letter word only matches by case (`x` -> `X`): any other letter is one edit from it.
 * A word that is a whole part of one compound candidate names it (`gpu` -> `node-gpu`), even
 * when a short candidate is fewer edits away (`cpu`): short names are all near each other,
 * while a shared part is what the user meant.
 */
export const didYouMean = (word: string, candidates: Iterable<string>): string | undefined => {
  // No name is this long: a word beyond it is not a typo (and edit distance would cost seconds).
  if (word.length > 64) return undefined
  const limit = word.length <= 1 ? 0 : Math.max(1, Math.floor(word.length / 3))
  const all = [...candidates]
  const lower = word.toLowerCase()
  const sameButCase = all.find((c) => c.toLowerCase() === lower)
  if (sameButCase !== undefined) return sameButCase
  const byPart = all.filter((c) => parts(c).length > 1 && parts(c).includes(lower))
  if (byPart.length === 1) return byPart[0]
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of all) {
    const dist = editDistance(lower, c.toLowerCase())
    if (dist < bestDistance) {
      best = c
      bestDistance = dist
    }
  }
  return bestDistance <= limit ? best : undefined
}
