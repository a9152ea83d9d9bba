/**
 * A page of rows ordered by revision that never splits a revision: `first` is up to `limit + 1`
 * rows after the cursor. When the row past the limit shares the last revision, that revision
 * comes whole (`revision(rev)` reads all of its rows), so the page's last revision is always a
 * safe cursor. `after(rev)` says whether rows follow that revision.
 */
export function pageByRevision<Row extends { rev: number }>(
  first: Row[],
  limit: number,
  revision: (rev: number) => Row[],
  after: (rev: number) => boolean,
): { rows: Row[]; more: boolean } {
  if (first.length <= limit) return { rows: first, more: false };
  const lastRev = first[limit - 1]!.rev;
  const rows = first[limit]!.rev !== lastRev ? first.slice(0, limit) : [...first.filter((row) => row.rev < lastRev), ...revision(lastRev)];
  return { rows, more: after(lastRev) };
}
