//! An SNMPv1 walk of a table's columns side by side: one GETNEXT of several varbinds at a time.
//!
//! SNMPv1 has no GETBULK: a walk of one root is a GETNEXT per varbind, so a table of 8 columns
//! and 4 rows is 33 requests. Knowing the table's columns (from its last walk,
//! [`super::hints::Hint::columns`]: column `c` of a table root is `root.1.c`, its entry's
//! `c`-th object), a walk can ask for the next cell of every column in one request, as
//! `snmptable` does: 5 requests for that table.
//!
//! A *column* here is what the first two arcs after the root name (`root.1.c` in a table; any
//! other layout under the root works too, each two-arc prefix a column).
//!
//! Each *cursor* walks from where it started until it reaches a column another cursor has
//! claimed, or leaves the root. The first cursor starts at the root itself, the others at the
//! hinted columns after the first; a cursor that finds its column gone, or runs past its
//! column's end into one nobody claimed, claims and walks it. So every varbind under the root
//! is read exactly once whatever the hint says (a column added, removed or renumbered costs
//! requests, never a varbind), and the cursors' rows, concatenated in their starting order,
//! are the walk's rows in OID order.

use crate::snmp::{Oid, OidBuf, VarBind};

use super::outcome::{FailureKind, Stored, VarBindStore};

/// Columns of a table walked side by side at most (a table's first 64 columns are hinted).
pub const MAX_COLUMNS: usize = 64;

#[derive(Debug)]
struct Cursor {
    /// Where it started (`root.1.c`; None for the first cursor, which starts at the root).
    start: Option<OidBuf>,
    last: OidBuf,
    /// The column it is in ([`column_of`]; None: the first cursor, before its first varbind).
    column: Option<u64>,
    rows: Vec<Stored>,
    active: bool,
}

/// The cursors of one walk.
#[derive(Debug)]
pub struct ColumnWalk {
    root_arcs: usize,
    cursors: Vec<Cursor>,
    /// Columns a cursor has walked or is walking.
    claimed: Vec<u64>,
    /// The cursors asked in the request out, in its varbinds' order.
    asked: Vec<usize>,
    /// Varbinds a request carries at most (halved by `tooBig`).
    per_request: usize,
}

/// What an answer did to the walk.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// Cursors are still walking: ask again.
    More,
    /// Every cursor ended.
    Done,
}

/// The column of `oid` under a root of `root_arcs` arcs: its next two arcs (the second absent
/// for a varbind one arc below the root), as one number.
#[must_use]
pub fn column_of(oid: Oid<'_>, root_arcs: usize) -> Option<u64> {
    let mut arcs = oid.arcs().skip(root_arcs);
    let first = arcs.next()?;
    let second = arcs.next().map_or(0, |a| u64::from(a) + 1);
    Some(u64::from(first) << 33 | second)
}

/// The bit of a table's column `c` (`root.1.c`, c in 1..=64) in [`super::hints::Hint::columns`].
#[must_use]
pub fn table_column_bit(column: u64) -> u64 {
    match (column >> 33, column & ((1 << 33) - 1)) {
        (1, c @ 2..=65) => 1 << (c - 2),
        _ => 0,
    }
}

impl ColumnWalk {
    /// A side-by-side walk of `root` over the hinted `columns` (bit `c - 1` for column `c`);
    /// None when fewer than two columns are hinted (a plain walk is as quick).
    #[must_use]
    pub fn new(root: &OidBuf, columns: u64) -> Option<Self> {
        if columns.count_ones() < 2 {
            return None;
        }
        let root_arcs: Vec<u32> = root.as_oid().arcs().collect();
        let hinted: Vec<u32> = (1..=64u32).filter(|c| columns & (1 << (c - 1)) != 0).collect();
        let mut cursors =
            vec![Cursor { start: None, last: root.clone(), column: None, rows: Vec::new(), active: true }];
        let mut claimed = Vec::new();
        // The first cursor reads the first column; one cursor for each of the others, from
        // `root.1.c` (a GETNEXT of it gives the column's first cell).
        for &c in &hinted[1..] {
            let mut arcs = root_arcs.clone();
            arcs.extend([1, c]);
            let Ok(start) = OidBuf::from_arcs(&arcs) else { return None };
            let column = column_of(start.as_oid(), root_arcs.len());
            cursors.push(Cursor {
                start: Some(start.clone()),
                last: start,
                column,
                rows: Vec::new(),
                active: true,
            });
            claimed.extend(column);
        }
        Some(Self {
            root_arcs: root_arcs.len(),
            cursors,
            claimed,
            asked: Vec::new(),
            per_request: MAX_COLUMNS,
        })
    }

    /// The OIDs of the next request (the active cursors' last OIDs, at most `per_request`).
    pub fn next_request(&mut self) -> Vec<OidBuf> {
        self.asked =
            (0..self.cursors.len()).filter(|&i| self.cursors[i].active).take(self.per_request).collect();
        self.asked.iter().map(|&i| self.cursors[i].last.clone()).collect()
    }

    fn progress(&self) -> Progress {
        if self.cursors.iter().any(|c| c.active) {
            Progress::More
        } else {
            Progress::Done
        }
    }

    /// An answer's varbinds (one per cursor asked, in order): each cursor's next cell kept in
    /// `store`, `rows` counted against `max_rows`, `seen` given each row's column bit.
    ///
    /// Error handling: a varbind count that does not match the request (`badResponse`), an OID
    /// not after the cursor's (`loop`), more than `max_rows` rows (`rowCap`).
    pub fn answer(
        &mut self,
        varbinds: &[VarBind<'_>],
        root: Oid<'_>,
        store: &mut VarBindStore,
        rows: &mut u32,
        max_rows: u32,
        seen: &mut u64,
    ) -> Result<Progress, (FailureKind, String)> {
        if varbinds.len() != self.asked.len() {
            let detail = format!("{} varbinds answered {} requested", varbinds.len(), self.asked.len());
            return Err((FailureKind::BadResponse, detail));
        }
        for (vb, &i) in varbinds.iter().zip(&self.asked) {
            let cursor = &self.cursors[i];
            if vb.oid <= cursor.last.as_oid() {
                return Err((FailureKind::Loop, format!("{} after {}", vb.oid, cursor.last)));
            }
            if !vb.oid.starts_with(root) {
                self.cursors[i].active = false;
                continue;
            }
            let Some(column) = column_of(vb.oid, self.root_arcs) else {
                self.cursors[i].active = false;
                continue;
            };
            let mut last_one = false;
            if cursor.column != Some(column) {
                if self.claimed.contains(&column) {
                    // Another cursor reads it; but not the OID it started from (a GETNEXT from
                    // there gives the one after), if the agent has one: this cursor reads that.
                    self.cursors[i].active = false;
                    let start = |c: &Cursor| c.start.as_ref().is_some_and(|s| s.as_oid() == vb.oid);
                    if !self.cursors.iter().any(start) {
                        continue;
                    }
                    last_one = true;
                } else {
                    self.claimed.push(column);
                    self.cursors[i].column = Some(column);
                }
            }
            if vb.value.is_exception() {
                return Err((FailureKind::BadResponse, format!("{} for {}", vb.value.type_name(), vb.oid)));
            }
            if *rows >= max_rows {
                return Err((FailureKind::RowCap, format!("more than {max_rows} varbinds under {root}")));
            }
            *rows += 1;
            *seen |= table_column_bit(column);
            let cursor = &mut self.cursors[i];
            cursor.last = vb.oid.to_owned();
            cursor.rows.push(store.push(vb));
            cursor.active = !last_one;
        }
        Ok(self.progress())
    }

    /// A v1 `noSuchName` at `error_index` (1-based) of the request: that cursor reached the end
    /// of the agent's MIB. None for an index outside the request.
    pub fn ended(&mut self, error_index: i32) -> Option<Progress> {
        let at = usize::try_from(error_index).ok().filter(|&i| (1..=self.asked.len()).contains(&i))?;
        self.cursors[self.asked[at - 1]].active = false;
        Some(self.progress())
    }

    /// A `tooBig`: the next requests carry half as many varbinds; false if one was too big.
    pub fn too_big(&mut self) -> bool {
        if self.asked.len() <= 1 {
            return false;
        }
        self.per_request = (self.asked.len() / 2).max(1);
        true
    }

    /// The rows read, in OID order: all of them once every cursor ended, else those before the
    /// first cursor still walking (what follows it would leave a gap).
    pub fn take_rows(&mut self) -> Vec<Stored> {
        let mut out = Vec::new();
        for cursor in &mut self.cursors {
            out.append(&mut cursor.rows);
            if cursor.active {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snmp::Value;

    const ROOT: &str = "1.3.6.1.2.1.43.11.1";

    /// A table of `columns` (numbers), `rows` rows each, and one OID after it.
    fn table(columns: &[u32], rows: u32) -> Vec<OidBuf> {
        let mut oids: Vec<OidBuf> = columns
            .iter()
            .flat_map(|c| (1..=rows).map(move |r| OidBuf::parse(&format!("{ROOT}.1.{c}.{r}")).unwrap()))
            .collect();
        oids.push(OidBuf::parse("1.3.6.1.2.1.43.12.1.1.1").unwrap());
        oids
    }

    /// Walks `agent` (sorted OIDs) with hinted `columns`; the rows read and the requests made.
    fn walk(agent: &[OidBuf], hinted: u64) -> (Vec<String>, usize) {
        let root = OidBuf::parse(ROOT).unwrap();
        let mut w = ColumnWalk::new(&root, hinted).expect("two columns or more");
        let mut store = VarBindStore::default();
        let (mut rows, mut seen, mut requests) = (0, 0, 0);
        loop {
            requests += 1;
            let asked = w.next_request();
            // GETNEXT: each varbind's next OID in the agent's MIB; past the end, noSuchName.
            let next: Vec<Option<&OidBuf>> =
                asked.iter().map(|o| agent.iter().find(|a| a.as_oid() > o.as_oid())).collect();
            if let Some(at) = next.iter().position(Option::is_none) {
                if w.ended(i32::try_from(at).unwrap() + 1) == Some(Progress::Done) {
                    break;
                }
                continue;
            }
            let vbs: Vec<VarBind<'_>> =
                next.iter().map(|o| VarBind { oid: o.unwrap().as_oid(), value: Value::Integer(1) }).collect();
            if w.answer(&vbs, root.as_oid(), &mut store, &mut rows, 10_000, &mut seen).unwrap()
                == Progress::Done
            {
                break;
            }
        }
        let read = w.take_rows().into_iter().map(|s| store.get(s).unwrap().oid.to_string()).collect();
        (read, requests)
    }

    fn bits(columns: &[u32]) -> u64 {
        columns.iter().fold(0, |b, c| b | 1 << (c - 1))
    }

    fn under_root(agent: &[OidBuf]) -> Vec<String> {
        agent[..agent.len() - 1].iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_columns_are_read_side_by_side() {
        let agent = table(&[1, 2, 3, 4, 5, 6, 7, 8], 4);
        let (read, requests) = walk(&agent, bits(&[1, 2, 3, 4, 5, 6, 7, 8]));
        assert_eq!(read, under_root(&agent));
        assert_eq!(requests, 5, "4 rows and the step past them (33 one at a time)");
    }

    #[test]
    fn a_wrong_hint_reads_every_varbind_once() {
        let agent = table(&[2, 3, 5, 9, 70], 3);
        for hinted in [&[1, 2][..], &[2, 3, 5, 9], &[4, 6, 8], &[1, 9, 63, 64], &[3, 5], &[5, 9, 64]] {
            let (read, _) = walk(&agent, bits(hinted));
            assert_eq!(read, under_root(&agent), "hinted {hinted:?}");
        }
    }

    #[test]
    fn other_layouts_under_the_root_are_read_whole() {
        // Scalars one and two arcs below the root, and a second entry.
        let mut agent: Vec<OidBuf> = [
            "1.3.6.1.2.1.43.11.1.0",
            "1.3.6.1.2.1.43.11.1.1.1.1",
            "1.3.6.1.2.1.43.11.1.1.2.1",
            "1.3.6.1.2.1.43.11.1.2",
            "1.3.6.1.2.1.43.11.1.2.1.1",
            "1.3.6.1.2.1.43.11.1.3.4",
        ]
        .iter()
        .map(|o| OidBuf::parse(o).unwrap())
        .collect();
        agent.push(OidBuf::parse("1.3.6.1.2.1.43.12").unwrap());
        for hinted in [&[1, 2][..], &[2, 3], &[1, 5, 9]] {
            assert_eq!(walk(&agent, bits(hinted)).0, under_root(&agent), "hinted {hinted:?}");
        }
        // A value at a column's own OID (where its cursor starts: a GETNEXT skips it).
        let mut odd = table(&[1, 2, 3], 2);
        odd.insert(2, OidBuf::parse("1.3.6.1.2.1.43.11.1.1.2").unwrap());
        odd.insert(5, OidBuf::parse("1.3.6.1.2.1.43.11.1.1.3").unwrap());
        for hinted in [&[1, 2, 3][..], &[2, 3], &[1, 3]] {
            assert_eq!(walk(&odd, bits(hinted)).0, under_root(&odd), "hinted {hinted:?}");
        }
    }

    #[test]
    fn an_empty_table_ends_at_once() {
        let after = vec![OidBuf::parse("1.3.6.1.2.1.43.12.1.1.1").unwrap()];
        assert_eq!(walk(&after, bits(&[1, 2])), (vec![], 1));
        assert_eq!(walk(&[], bits(&[1, 2])), (vec![], 2), "the end of the MIB: noSuchName each");
    }

    #[test]
    fn one_column_is_a_plain_walk() {
        let root = OidBuf::parse(ROOT).unwrap();
        assert!(ColumnWalk::new(&root, bits(&[3])).is_none());
        assert!(ColumnWalk::new(&root, 0).is_none());
    }

    #[test]
    fn an_unfinished_walk_keeps_its_rows_up_to_the_first_gap() {
        let root = OidBuf::parse(ROOT).unwrap();
        let mut w = ColumnWalk::new(&root, bits(&[1, 2])).unwrap();
        let mut store = VarBindStore::default();
        let (mut rows, mut seen) = (0, 0);
        w.next_request();
        let oids = [
            OidBuf::parse(&format!("{ROOT}.1.1.1")).unwrap(),
            OidBuf::parse(&format!("{ROOT}.1.2.1")).unwrap(),
        ];
        let vbs: Vec<VarBind<'_>> =
            oids.iter().map(|o| VarBind { oid: o.as_oid(), value: Value::Integer(1) }).collect();
        assert_eq!(w.answer(&vbs, root.as_oid(), &mut store, &mut rows, 100, &mut seen), Ok(Progress::More));
        assert_eq!(seen, 0b11);
        let kept: Vec<String> =
            w.take_rows().into_iter().map(|s| store.get(s).unwrap().oid.to_string()).collect();
        assert_eq!(kept, vec![format!("{ROOT}.1.1.1")], "column 2's row would follow a gap");
    }
}
