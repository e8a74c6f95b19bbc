//! An SNMPv1 walk of a table's columns side by side: one GETNEXT of several varbinds at a time.
//!
//! SNMPv1 has no GETBULK: a walk of one root is a GETNEXT per varbind, so a table of 8 columns
//! and 4 rows is 33 requests. Knowing the table's columns (from its last walk,
//! [`super::hints::Hint::columns`]: column `c` of a table root is `root.1.c`, its entry's
//! `c`-th object), a walk can ask for the next cell of every column in one request, as
//! `snmptable` does: 5 requests for that table.
//!
//! The walk is cut into ranges at the hinted columns' OIDs: cursor `k` starts at `start[k]`
//! (the first at where the walk is, the others at `root.1.c`) and reads every varbind after it
//! up to and including `start[k + 1]` (which its own cursor, a GETNEXT from there, skips), the
//! last cursor to the end of the root. The ranges cover exactly what a walk from the first
//! start covers, once each, and their rows, concatenated in cursor order, are in OID order: what
//! is read never depends on the hint (a column added, removed or renumbered costs requests, not
//! a varbind). Whether the agent takes several varbinds a request is another matter: an answer
//! that does not fit the request is [`ColumnError::Unsupported`], and the caller goes on with a
//! plain walk from the rows read in order.

use crate::snmp::{Oid, OidBuf, Value, VarBind};

use super::outcome::{FailureKind, Stored, VarBindStore};

/// Columns of a table walked side by side at most (bit 63 of the hint is not a column).
pub const MAX_COLUMNS: u32 = 63;

#[derive(Debug)]
struct Cursor {
    start: OidBuf,
    last: OidBuf,
    rows: Vec<Stored>,
    active: bool,
}

/// The cursors of one walk.
#[derive(Debug)]
pub struct ColumnWalk {
    root_arcs: usize,
    cursors: Vec<Cursor>,
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

/// Why an answer ended the side-by-side walk.
#[derive(Debug, PartialEq, Eq)]
pub enum ColumnError {
    /// The agent does not take this request as asked (a varbind count that does not match, an
    /// error-status or error-index that does not fit): go on with a plain walk.
    Unsupported,
    /// The walk fails as a plain one would (`loop`, `rowCap`, an exception value).
    Failed(FailureKind, String),
}

/// The column `c` of `oid` if it is `root.1.c...` under a root of `root_arcs` arcs.
#[must_use]
pub fn table_column(oid: Oid<'_>, root_arcs: usize) -> Option<u32> {
    let mut arcs = oid.arcs().skip(root_arcs);
    match (arcs.next(), arcs.next()) {
        (Some(1), Some(c)) => Some(c),
        _ => None,
    }
}

/// The bit of a table's column `c` (1 to [`MAX_COLUMNS`]) in [`super::hints::Hint::columns`].
#[must_use]
pub fn column_bit(column: Option<u32>) -> u64 {
    match column {
        Some(c @ 1..=MAX_COLUMNS) => 1 << (c - 1),
        _ => 0,
    }
}

impl ColumnWalk {
    /// A side-by-side walk of `root`, from `from` (the root, or the last varbind a plain walk
    /// read), over the hinted `columns` after it; None when no hinted column follows `from`
    /// (a plain walk is as quick).
    #[must_use]
    pub fn new(root: &OidBuf, from: &OidBuf, columns: u64) -> Option<Self> {
        let root_arcs: Vec<u32> = root.as_oid().arcs().collect();
        let mut cursors =
            vec![Cursor { start: from.clone(), last: from.clone(), rows: Vec::new(), active: true }];
        for c in (1..=MAX_COLUMNS).filter(|c| columns & (1 << (c - 1)) != 0) {
            let mut arcs = root_arcs.clone();
            arcs.extend([1, c]);
            let Ok(start) = OidBuf::from_arcs(&arcs) else { return None };
            if start.as_oid() > from.as_oid() {
                cursors.push(Cursor { start: start.clone(), last: start, rows: Vec::new(), active: true });
            }
        }
        if cursors.len() > 1 && table_column(from.as_oid(), root_arcs.len()).is_none() {
            cursors.remove(1); // from the root: the first cursor reads the first column
        }
        if cursors.len() < 2 {
            return None;
        }
        Some(Self {
            root_arcs: root_arcs.len(),
            cursors,
            asked: Vec::new(),
            per_request: MAX_COLUMNS as usize,
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

    /// An answer's varbinds (one per cursor asked, in order): each cursor's next varbind kept
    /// in `store` if it is in its range, `rows` counted against `max_rows`, `seen` given each
    /// row's column bit.
    ///
    /// Error handling: see [`ColumnError`].
    pub fn answer(
        &mut self,
        varbinds: &[VarBind<'_>],
        root: Oid<'_>,
        store: &mut VarBindStore,
        rows: &mut u32,
        max_rows: u32,
        seen: &mut u64,
    ) -> Result<Progress, ColumnError> {
        if varbinds.len() != self.asked.len() {
            return Err(ColumnError::Unsupported);
        }
        for (vb, &i) in varbinds.iter().zip(&self.asked) {
            let cursor = &self.cursors[i];
            if vb.value == Value::EndOfMibView {
                self.cursors[i].active = false;
                continue;
            }
            if vb.oid <= cursor.last.as_oid() {
                return Err(ColumnError::Failed(
                    FailureKind::Loop,
                    format!("{} after {}", vb.oid, cursor.last),
                ));
            }
            let bound = self.cursors.get(i + 1).map(|next| next.start.as_oid());
            if !vb.oid.starts_with(root) || bound.is_some_and(|b| vb.oid > b) {
                self.cursors[i].active = false; // past its range
                continue;
            }
            if vb.value.is_exception() {
                let detail = format!("{} for {}", vb.value.type_name(), vb.oid);
                return Err(ColumnError::Failed(FailureKind::BadResponse, detail));
            }
            if *rows >= max_rows {
                let detail = format!("more than {max_rows} varbinds under {root}");
                return Err(ColumnError::Failed(FailureKind::RowCap, detail));
            }
            *rows += 1;
            *seen |= column_bit(table_column(vb.oid, self.root_arcs));
            let last_one = bound == Some(vb.oid); // the next cursor's start: its own GETNEXT skips it
            let cursor = &mut self.cursors[i];
            cursor.last = vb.oid.to_owned();
            cursor.rows.push(store.push(vb));
            cursor.active = !last_one;
        }
        Ok(self.progress())
    }

    /// A v1 `noSuchName` at `error_index` (1-based) of the request: that cursor reached the end
    /// of the agent's MIB.
    ///
    /// Error handling: an index outside the request is [`ColumnError::Unsupported`].
    pub fn ended(&mut self, error_index: i32) -> Result<Progress, ColumnError> {
        let at = usize::try_from(error_index).ok().filter(|&i| (1..=self.asked.len()).contains(&i));
        let at = at.ok_or(ColumnError::Unsupported)?;
        self.cursors[self.asked[at - 1]].active = false;
        Ok(self.progress())
    }

    /// A `tooBig`: the next requests carry half as many varbinds; false if one was too big.
    pub fn too_big(&mut self) -> bool {
        if self.asked.len() <= 1 {
            return false;
        }
        self.per_request = (self.asked.len() / 2).max(1);
        true
    }

    /// The rows read, in OID order: all of them once every cursor ended, else those up to the
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
        let mut w = ColumnWalk::new(&root, &root, hinted).expect("a hinted column");
        let mut store = VarBindStore::default();
        let (mut rows, mut seen, mut requests) = (0, 0, 0);
        loop {
            requests += 1;
            let asked = w.next_request();
            // GETNEXT: each varbind's next OID in the agent's MIB; past the end, noSuchName.
            let next: Vec<Option<&OidBuf>> =
                asked.iter().map(|o| agent.iter().find(|a| a.as_oid() > o.as_oid())).collect();
            if let Some(at) = next.iter().position(Option::is_none) {
                if w.ended(i32::try_from(at).unwrap() + 1) == Ok(Progress::Done) {
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
    fn no_column_after_the_start_is_a_plain_walk() {
        let root = OidBuf::parse(ROOT).unwrap();
        assert!(ColumnWalk::new(&root, &root, bits(&[3])).is_none(), "the first cursor reads column 3");
        assert_eq!(ColumnWalk::new(&root, &root, bits(&[3, 5])).unwrap().cursors.len(), 2);
        assert!(ColumnWalk::new(&root, &root, 0).is_none());
        let late = OidBuf::parse(&format!("{ROOT}.1.3.1")).unwrap();
        assert!(ColumnWalk::new(&root, &late, bits(&[1, 2, 3])).is_none());
        assert_eq!(ColumnWalk::new(&root, &late, bits(&[1, 4, 5])).unwrap().cursors.len(), 3);
    }

    #[test]
    fn a_walk_from_a_later_row_reads_the_rest() {
        let agent = table(&[1, 2, 3, 4], 3);
        let root = OidBuf::parse(ROOT).unwrap();
        let from = agent[4].clone(); // column 2, row 2
        let mut w = ColumnWalk::new(&root, &from, bits(&[1, 2, 3, 4])).unwrap();
        let mut store = VarBindStore::default();
        let (mut rows, mut seen) = (0, 0);
        loop {
            let asked = w.next_request();
            let next: Vec<&OidBuf> =
                asked.iter().map(|o| agent.iter().find(|a| a.as_oid() > o.as_oid()).unwrap()).collect();
            let vbs: Vec<VarBind<'_>> =
                next.iter().map(|o| VarBind { oid: o.as_oid(), value: Value::Integer(1) }).collect();
            if w.answer(&vbs, root.as_oid(), &mut store, &mut rows, 100, &mut seen) == Ok(Progress::Done) {
                break;
            }
        }
        let read: Vec<String> =
            w.take_rows().into_iter().map(|s| store.get(s).unwrap().oid.to_string()).collect();
        assert_eq!(read, under_root(&agent)[5..].to_vec());
    }

    #[test]
    fn an_unfinished_walk_keeps_its_rows_up_to_the_first_gap() {
        let root = OidBuf::parse(ROOT).unwrap();
        let mut w = ColumnWalk::new(&root, &root, bits(&[1, 2])).unwrap();
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

    #[test]
    fn a_column_oid_value_after_an_empty_hinted_column_is_read_once() {
        // Column 2 was in the last walk but is empty now; the agent has a value at `ROOT.1.3`.
        let mut agent = table(&[1, 3], 2);
        agent.insert(2, OidBuf::parse(&format!("{ROOT}.1.3")).unwrap());
        let (read, _) = walk(&agent, bits(&[1, 2, 3]));
        assert_eq!(read, under_root(&agent));
    }

    #[test]
    fn first_arcs_past_2_pow_31_are_read() {
        let agent: Vec<OidBuf> = [
            format!("{ROOT}.1.1.1"),
            format!("{ROOT}.1.2.1"),
            format!("{ROOT}.2147483649.1.5"),
            "1.3.6.1.2.1.43.12.1.1.1".to_string(),
        ]
        .iter()
        .map(|o| OidBuf::parse(o).unwrap())
        .collect();
        let (read, _) = walk(&agent, bits(&[1, 2]));
        assert_eq!(read, under_root(&agent));
    }

    #[test]
    fn rows_stay_in_oid_order_whatever_the_agent_answers() {
        let root = OidBuf::parse(ROOT).unwrap();
        let mut w = ColumnWalk::new(&root, &root, bits(&[1, 2, 4])).unwrap();
        let mut store = VarBindStore::default();
        let (mut rows, mut seen) = (0, 0);
        let answer = |w: &mut ColumnWalk,
                      store: &mut VarBindStore,
                      rows: &mut u32,
                      seen: &mut u64,
                      oids: &[String]| {
            let oids: Vec<OidBuf> = oids.iter().map(|o| OidBuf::parse(o).unwrap()).collect();
            let vbs: Vec<VarBind<'_>> =
                oids.iter().map(|o| VarBind { oid: o.as_oid(), value: Value::Integer(1) }).collect();
            w.answer(&vbs, root.as_oid(), store, rows, 100, seen).unwrap()
        };
        assert_eq!(w.next_request().len(), 3);
        // The cursor from ROOT.1.2 is told ROOT.1.9.1 comes next (past its range, which ends at
        // ROOT.1.4): not read.
        let first = [format!("{ROOT}.1.1.1"), format!("{ROOT}.1.9.1"), format!("{ROOT}.1.4.1")];
        assert_eq!(answer(&mut w, &mut store, &mut rows, &mut seen, &first), Progress::More);
        let after = "1.3.6.1.2.1.43.12.1".to_string();
        assert_eq!(w.next_request().len(), 2);
        assert_eq!(answer(&mut w, &mut store, &mut rows, &mut seen, &[after.clone(), after]), Progress::Done);
        let read: Vec<OidBuf> =
            w.take_rows().into_iter().map(|s| store.get(s).unwrap().oid.to_owned()).collect();
        assert!(read.windows(2).all(|p| p[0].as_oid() < p[1].as_oid()), "not increasing: {read:?}");
    }
}
