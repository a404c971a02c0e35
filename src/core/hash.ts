/** FNV-1a, 32 bits: the offset basis and the prime (`LabelReader` hashes labels with the same steps). */
export const FNV_OFFSET = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;

/** FNV-1a, 32 bits, over a string's UTF-16 code units: cheap and well spread for lane choice. */
export function hashString(text: string): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}
