//! A printer's pages split into the meters a vendor counts (the meter names of printwatch's poll
//! document), so that every counter of a model moves with the others.
//!
//! New pages split as a tree, every part a whole number and every part monotonic in the pages:
//! `copy` is a share of all pages and `print` the rest; `copy_color` a share of the copies and
//! `copy_black` the rest; `print_color` a share of the prints and `print_black` the rest. So
//! total = print + copy = black + colour, print = print_black + print_color, copy = copy_black +
//! copy_color, exactly, at every page count. Faxes are a share of the black prints; scans,
//! duplex sheets and large-format pages a share of all pages (counted apart, summed with nothing).
//!
//! Shares are integers in parts per million, so a part is `pages * share / 1e6` rounded down:
//! it grows by at most one page per page, and the rest (`pages - part`) never shrinks.
// Shares (at most a million) and page counts are far below 2^52: f64 holds them exactly.
#![allow(clippy::cast_precision_loss)]

/// A meter of the poll document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meter {
    Total,
    Black,
    Color,
    Print,
    Copy,
    PrintBlack,
    PrintColor,
    CopyBlack,
    CopyColor,
    Fax,
    Scan,
    Duplex,
    Large,
}

impl Meter {
    pub const ALL: [Meter; 13] = [
        Self::Total,
        Self::Black,
        Self::Color,
        Self::Print,
        Self::Copy,
        Self::PrintBlack,
        Self::PrintColor,
        Self::CopyBlack,
        Self::CopyColor,
        Self::Fax,
        Self::Scan,
        Self::Duplex,
        Self::Large,
    ];

    /// The meter's name in the poll document (`printwatch/mib/meternames.py`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Total => "total",
            Self::Black => "black",
            Self::Color => "color",
            Self::Print => "print",
            Self::Copy => "copy",
            Self::PrintBlack => "print_black",
            Self::PrintColor => "print_color",
            Self::CopyBlack => "copy_black",
            Self::CopyColor => "copy_color",
            Self::Fax => "fax",
            Self::Scan => "scan",
            Self::Duplex => "duplex",
            Self::Large => "large",
        }
    }

    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// One million: a share of 1.0.
pub const WHOLE: u64 = 1_000_000;

/// How new pages split, each share in parts per million of its parent (see the module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shares {
    /// Of all pages.
    pub copy: u64,
    /// Of the copies.
    pub copy_color: u64,
    /// Of the prints.
    pub print_color: u64,
    /// Of the black prints.
    pub fax: u64,
    /// Of all pages (counted apart).
    pub scan: u64,
    pub duplex: u64,
    pub large: u64,
}

impl Shares {
    /// The names [`Shares::set`] takes.
    pub const KEYS: [&'static str; 7] =
        ["copy", "copy_color", "print_color", "fax", "scan", "duplex", "large"];

    /// Sets one share (a fraction in `0..=1`) by name.
    pub fn set(&mut self, name: &str, fraction: f64) -> Result<(), String> {
        if !(0.0..=1.0).contains(&fraction) {
            return Err(format!("share {name} must be in 0..1, not {fraction}"));
        }
        let ppm = (fraction * WHOLE as f64).round() as u64;
        let slot = match name {
            "copy" => &mut self.copy,
            "copy_color" => &mut self.copy_color,
            "print_color" => &mut self.print_color,
            "fax" => &mut self.fax,
            "scan" => &mut self.scan,
            "duplex" => &mut self.duplex,
            "large" => &mut self.large,
            _ => return Err(format!("unknown share {name:?}; one of {}", Self::KEYS.join(", "))),
        };
        *slot = ppm;
        Ok(())
    }

    /// These shares as one printer uses them: its copying, colour and scanning habits scale
    /// the model's shares (factors around 1; no share above the whole).
    #[must_use]
    pub fn habits(&self, copying: f64, colour: f64, scanning: f64) -> Self {
        let scale = |share: u64, f: f64| ((share as f64 * f).round() as u64).min(WHOLE);
        Self {
            copy: scale(self.copy, copying),
            copy_color: scale(self.copy_color, colour),
            print_color: scale(self.print_color, colour),
            fax: self.fax,
            scan: scale(self.scan, scanning),
            duplex: self.duplex,
            large: self.large,
        }
    }

    /// True if the model prints in colour at all.
    #[must_use]
    pub fn colour(&self) -> bool {
        self.copy_color > 0 || self.print_color > 0
    }
}

fn part(of: u64, share: u64) -> u64 {
    (u128::from(of) * u128::from(share.min(WHOLE)) / u128::from(WHOLE)) as u64
}

/// `pages` split into every meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    pub total: u64,
    pub copy: u64,
    pub copy_color: u64,
    pub print_color: u64,
    pub fax: u64,
    pub scan: u64,
    pub duplex: u64,
    pub large: u64,
}

impl Split {
    #[must_use]
    pub fn of(pages: u64, s: &Shares) -> Self {
        let copy = part(pages, s.copy);
        let print = pages - copy;
        let print_color = part(print, s.print_color);
        Self {
            total: pages,
            copy,
            copy_color: part(copy, s.copy_color),
            print_color,
            fax: part(print - print_color, s.fax),
            scan: part(pages, s.scan),
            duplex: part(pages, s.duplex),
            large: part(pages, s.large),
        }
    }

    /// The pages printed in colour (copies and prints).
    #[must_use]
    pub fn color(&self) -> u64 {
        self.copy_color + self.print_color
    }

    #[must_use]
    pub fn get(&self, m: Meter) -> u64 {
        let print = self.total - self.copy;
        match m {
            Meter::Total => self.total,
            Meter::Black => self.total - self.color(),
            Meter::Color => self.color(),
            Meter::Print => print,
            Meter::Copy => self.copy,
            Meter::PrintBlack => print - self.print_color,
            Meter::PrintColor => self.print_color,
            Meter::CopyBlack => self.copy - self.copy_color,
            Meter::CopyColor => self.copy_color,
            Meter::Fax => self.fax,
            Meter::Scan => self.scan,
            Meter::Duplex => self.duplex,
            Meter::Large => self.large,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares() -> Shares {
        let mut s = Shares::default();
        for (k, v) in
            [("copy", 0.3), ("copy_color", 0.35), ("print_color", 0.4), ("fax", 0.03), ("scan", 0.22)]
        {
            s.set(k, v).unwrap();
        }
        s
    }

    #[test]
    fn parts_sum_to_their_whole_and_never_shrink() {
        for s in [shares(), shares().habits(1.5, 1.5, 1.5), shares().habits(0.5, 0.2, 0.5), Shares::default()]
        {
            let mut last: Option<Split> = None;
            for pages in 0..20_000u64 {
                let x = Split::of(pages, &s);
                let g = |m| x.get(m);
                assert_eq!(g(Meter::Total), pages);
                assert_eq!(g(Meter::Print) + g(Meter::Copy), pages);
                assert_eq!(g(Meter::Black) + g(Meter::Color), pages);
                assert_eq!(g(Meter::PrintBlack) + g(Meter::PrintColor), g(Meter::Print));
                assert_eq!(g(Meter::CopyBlack) + g(Meter::CopyColor), g(Meter::Copy));
                assert!(g(Meter::Fax) <= g(Meter::PrintBlack));
                if let Some(prev) = last {
                    for m in Meter::ALL {
                        let (a, b) = (prev.get(m), x.get(m));
                        assert!(b >= a && b - a <= 1, "{} went {a} -> {b} at {pages}", m.name());
                    }
                }
                last = Some(x);
            }
        }
        let x = Split::of(1_000_000, &shares());
        assert_eq!(
            (x.get(Meter::Copy), x.get(Meter::CopyColor), x.get(Meter::PrintColor)),
            (300_000, 105_000, 280_000)
        );
        assert_eq!(Split::of(1000, &Shares::default()).get(Meter::PrintBlack), 1000);
    }

    #[test]
    fn names_and_shares_are_checked() {
        for m in Meter::ALL {
            assert_eq!(Meter::parse(m.name()), Some(m));
        }
        assert_eq!(Meter::parse("colour"), None);
        let mut s = Shares::default();
        assert!(s.set("copy", 1.5).is_err() && s.set("copies", 0.5).is_err());
        assert!(!s.colour());
        s.set("print_color", 0.25).unwrap();
        assert!(s.colour() && s.print_color == 250_000);
    }
}
