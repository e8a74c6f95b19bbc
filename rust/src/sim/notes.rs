//! A recording's notes: what the values of a `.snmprec` file mean, for the dynamics, when the
//! one who wrote it knows (printwatch's built-in models do). They live beside the recording as
//! `<name>.meta`, lines of `|`-separated fields like the recording's own (`#` starts a comment):
//!
//! ```text
//! versions|1                      the SNMP versions the firmware answers (1, 2c; default both)
//! share|copy|0.3                  how new pages split (see `meters`): copy, copy_color,
//!                                 print_color, fax, scan, duplex, large; 0 when not said
//! meter|OID|black                 the Counter32 (or Integer, Gauge32, Counter64) at OID counts
//!                                 the meter `black` (a meter name of the poll document)
//! meter|OID|total|10              OID is a list of Brother records (code, 1, 4, a 32-bit
//!                                 count); record 10's count is the meter `total`
//! supply|1|pages|7500|coverage    supply 1 (prtMarkerSuppliesIndex) drains with every page
//!                                 (`pages`) or the colour pages (`color`); a full one lasts 7,500
//!                                 pages at 5% coverage (`coverage`: each printer's own coverage
//!                                 scales it) or exactly that many impressions (`exact`)
//! ```
//!
//! A recording without notes answers as before: its life count, and numbers equal to it, grow
//! with all pages; its supplies drain over a cartridge drawn from the dynamics' range.

use std::fmt;

use super::meters::{Meter, Shares};
use crate::snmp::OidBuf;

/// The SNMP versions a printer answers (SNMPv3 only where it answers v2c).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    pub v1: bool,
    pub v2c: bool,
}

impl Default for Versions {
    fn default() -> Self {
        Self { v1: true, v2c: true }
    }
}

/// What drains a supply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// Every page (black toner, drums, fusers, kits, waste receptacles).
    Pages,
    /// The colour pages only (cyan, magenta, yellow).
    Color,
}

/// How one supply drains.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SupplyNote {
    pub index: u32,
    pub feed: Feed,
    /// Pages a full supply lasts (at 5% coverage unless `exact`).
    pub pages: f64,
    /// Counted in impressions: one unit a page, whatever the coverage.
    pub exact: bool,
}

/// A variable that counts a meter (in a Brother record list: the record `code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterNote {
    pub oid: OidBuf,
    pub meter: Meter,
    pub code: Option<u8>,
}

/// A recording's notes (see the module).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Notes {
    pub versions: Versions,
    pub shares: Shares,
    pub meters: Vec<MeterNote>,
    pub supplies: Vec<SupplyNote>,
}

/// A bad line of a notes file: its number (from 1) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotesError {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for NotesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for NotesError {}

impl Notes {
    /// Parses a notes file; the first bad line is an error naming it.
    pub fn parse(text: &str) -> Result<Self, NotesError> {
        let mut notes = Self::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split('|').map(str::trim).collect();
            notes.line(&fields).map_err(|reason| NotesError { line: n + 1, reason })?;
        }
        Ok(notes)
    }

    fn line(&mut self, fields: &[&str]) -> Result<(), String> {
        let number =
            |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or(format!("{s:?} is not a number"));
        match fields {
            ["versions", versions @ ..] if !versions.is_empty() => {
                let mut v = Versions { v1: false, v2c: false };
                for version in versions {
                    match *version {
                        "1" => v.v1 = true,
                        "2c" => v.v2c = true,
                        other => return Err(format!("version {other:?} is not 1 or 2c")),
                    }
                }
                self.versions = v;
            }
            ["share", name, fraction] => self.shares.set(name, number(fraction)?)?,
            ["meter", oid, name, code @ ..] if code.len() <= 1 => {
                let oid = OidBuf::parse(oid).map_err(|_| format!("{oid:?} is not an OID"))?;
                let meter = Meter::parse(name).ok_or(format!("{name:?} is not a meter name"))?;
                let code = match code.first() {
                    Some(c) => Some(c.parse::<u8>().map_err(|_| format!("record code {c:?} is not 0..255"))?),
                    None => None,
                };
                self.meters.push(MeterNote { oid, meter, code });
            }
            ["supply", index, feed, pages, how] => {
                let index =
                    index.parse::<u32>().map_err(|_| format!("supply index {index:?} is not a number"))?;
                let feed = match *feed {
                    "pages" => Feed::Pages,
                    "color" => Feed::Color,
                    other => return Err(format!("feed {other:?} is not pages or color")),
                };
                let pages =
                    number(pages).and_then(|p| (p >= 1.0).then_some(p).ok_or("pages must be >= 1".into()))?;
                let exact = match *how {
                    "exact" => true,
                    "coverage" => false,
                    other => return Err(format!("{other:?} is not exact or coverage")),
                };
                self.supplies.push(SupplyNote { index, feed, pages, exact });
            }
            _ => return Err(format!("not a notes line: {:?}", fields.join("|"))),
        }
        Ok(())
    }

    /// How supply `index` drains, if noted.
    #[must_use]
    pub fn supply(&self, index: u32) -> Option<&SupplyNote> {
        self.supplies.iter().find(|s| s.index == index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_of_line() {
        let notes = Notes::parse(
            "# hp_laserjet_2100\nversions|1\nshare|copy|0.3\nshare|print_color|0.35\n\
             meter|1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.5.0|total\n\
             meter|1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.10.0|black|1 # a Brother record\n\
             supply|1|pages|7500|coverage\nsupply|4|color|5000.5|exact\n",
        )
        .unwrap();
        assert_eq!(notes.versions, Versions { v1: true, v2c: false });
        assert_eq!((notes.shares.copy, notes.shares.print_color, notes.shares.scan), (300_000, 350_000, 0));
        assert_eq!(notes.meters.len(), 2);
        assert_eq!((notes.meters[1].meter, notes.meters[1].code), (Meter::Black, Some(1)));
        assert_eq!(
            notes.supply(4),
            Some(&SupplyNote { index: 4, feed: Feed::Color, pages: 5000.5, exact: true })
        );
        assert_eq!(Notes::parse("").unwrap(), Notes::default());
    }

    #[test]
    fn names_the_bad_line() {
        for (text, line, says) in [
            ("versions|3", 1, "version \"3\""),
            ("\nshare|copy|2", 2, "must be in 0..1"),
            ("meter|1.3.x|total", 1, "not an OID"),
            ("meter|1.3.6|colour", 1, "not a meter name"),
            ("supply|1|ink|100|exact", 1, "feed \"ink\""),
            ("supply|1|pages|0|exact", 1, "pages must be >= 1"),
            ("hello", 1, "not a notes line"),
        ] {
            let e = Notes::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text}");
            assert!(e.reason.contains(says), "{text}: {e}");
        }
    }
}
