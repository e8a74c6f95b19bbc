use super::*;

const BASE: u32 = 0x7f14_0001;
const DAY_S: f64 = 86_400.0;

#[test]
fn pages_grow_monotonically_at_a_per_printer_rate() {
    let c = DynamicsConfig::default();
    let mut rates = Vec::new();
    for p in 0..200 {
        let mut last = 0;
        for hour in 0..=24 * 7 {
            let s = State::at(&c, 7, BASE + p, f64::from(hour) * 3600.0);
            assert!(s.pages >= last, "printer {p} hour {hour}");
            last = s.pages;
        }
        let per_hour = last as f64 / (24.0 * 7.0);
        // The mean rate, give or take a week's share of the daily variation (0.5 / 7).
        assert!((4.0..=130.0).contains(&per_hour), "{per_hour}");
        rates.push(per_hour);
    }
    let spread =
        rates.iter().copied().fold(f64::MIN, f64::max) - rates.iter().copied().fold(f64::MAX, f64::min);
    assert!(spread > 50.0, "duty cycles should differ between printers ({spread})");
    // Reproducible: the same (seed, address, t) gives the same state; another seed another.
    assert_eq!(State::at(&c, 7, BASE, 5000.0), State::at(&c, 7, BASE, 5000.0));
    let (a, b) = (State::at(&c, 7, BASE, 5000.0), State::at(&c, 8, BASE, 5000.0));
    assert!((a.pages_per_s - b.pages_per_s).abs() > 1e-9);
}

#[test]
fn levels_drain_with_pages_then_jump_back_to_capacity() {
    let c = DynamicsConfig::default();
    let (mut drops, mut replacements, mut empties, mut lows) = (0, 0, 0, 0);
    for p in 0..50 {
        let mut last: Option<i32> = None;
        for step in 0..=(30 * 24) {
            let s = State::at(&c, 1, BASE + p, f64::from(step) * 3600.0);
            let l = s.level(1, 100);
            assert!((0..=100).contains(&l.level));
            assert_eq!(l.empty, l.level == 0);
            if l.low {
                lows += 1;
                assert!(l.low_since.is_some_and(|t| t <= s.t_s));
            }
            if l.empty {
                empties += 1;
                assert!(l.empty_since.is_some_and(|t| t <= s.t_s));
            }
            if let Some(prev) = last {
                if l.level > prev {
                    // Only a replacement raises a level: from low or empty back to (nearly, an
                    // hour of printing later) full.
                    assert!(prev <= 15 && l.level >= 90, "printer {p} step {step}: {prev} -> {}", l.level);
                    replacements += 1;
                } else if l.level < prev {
                    drops += 1;
                }
            }
            last = Some(l.level);
        }
    }
    assert!(
        drops > 1000 && replacements > 20 && empties > 0 && lows > 0,
        "{drops} {replacements} {empties} {lows}"
    );
}

#[test]
fn events_happen_at_their_configured_rates() {
    let c =
        DynamicsConfig { offline_rate: 0.1, jam_rate: 0.05, door_rate: 0.02, ..DynamicsConfig::default() };
    let (mut offline, mut jams, mut doors, mut n) = (0.0, 0.0, 0.0, 0.0);
    for p in 0..400 {
        for slot in 0..48 {
            let s = State::at(&c, 3, BASE + p, f64::from(slot) * 1800.0 + 10.0);
            n += 1.0;
            offline += f64::from(u8::from(s.offline));
            jams += f64::from(u8::from(s.jam_since.is_some()));
            doors += f64::from(u8::from(s.door_since.is_some()));
            if let Some(since) = s.jam_since {
                assert!(since <= s.t_s && s.t_s - since < c.alert_period_s);
            }
        }
    }
    for (what, got, want) in
        [("offline", offline / n, 0.1), ("jam", jams / n, 0.05), ("door", doors / n, 0.02)]
    {
        assert!((got - want).abs() < want * 0.25, "{what}: {got} vs {want}");
    }
    // An offline printer stays offline for the whole period.
    let s = (0..1000).map(|p| State::at(&c, 3, BASE + p, 100.0)).find(|s| s.offline).unwrap();
    assert!(State::at(&c, 3, s.address, 3500.0).offline);
}

#[test]
fn loss_and_delay_touch_only_their_share_of_printers() {
    let c = DynamicsConfig { lossy_share: 0.2, loss: 0.5, slow_share: 0.1, ..DynamicsConfig::default() };
    let states: Vec<State> = (0..2000).map(|p| State::at(&c, 4, BASE + p, 0.0)).collect();
    let lossy = states.iter().filter(|s| s.lossy()).count() as f64 / 2000.0;
    assert!((lossy - 0.2).abs() < 0.04, "{lossy}");
    let slow: Vec<&State> = states.iter().filter(|s| s.delay_ms(1) > 0.0).collect();
    assert!((slow.len() as f64 / 2000.0 - 0.1).abs() < 0.03);
    assert!(slow.iter().all(|s| (100.0..=300.0).contains(&s.delay_ms(99))));
    let l = states.iter().find(|s| s.lossy()).unwrap();
    let lost = (0..1000).filter(|&q| l.loses(5, q)).count();
    assert!((400..600).contains(&lost), "{lost}");
    let steady = states.iter().find(|s| !s.lossy()).unwrap();
    assert!((0..1000).all(|q| !steady.loses(5, q)));
}

#[test]
fn config_keys_are_checked() {
    let mut c = DynamicsConfig::default();
    for key in KEYS {
        c.set(key, if key.ends_with("_max") { 1e6 } else { 0.5 }).unwrap_or_else(|e| panic!("{key}: {e}"));
    }
    assert!(c.set("loss", 1.5).unwrap_err().contains("0..1"));
    assert!(c.set("alert_period_s", 0.0).unwrap_err().contains("> 0"));
    assert!(c.set("nope", 1.0).unwrap_err().contains("unknown dynamics key"));
    assert!(c.set("pages_per_hour_min", 2e6).unwrap_err().contains("minimum is above"));
    let quiet = DynamicsConfig::quiet();
    let s = State::at(&quiet, 0, BASE, 3.0 * DAY_S);
    assert!(!s.offline && !s.lossy() && s.delay_ms(1) <= 0.0 && s.jam_since.is_none());
}

#[test]
fn night_printers_are_off_every_night_only() {
    let mut c = DynamicsConfig::quiet();
    c.set("night_share", 0.25).unwrap();
    c.set("day_offset_s", 8.0 * 3600.0).unwrap(); // simulated time 0 is 08:00
    assert!(c.set("night_end_h", 24.0).is_err());
    let (mut night_off, mut day_off) = (0, 0);
    for p in 0..400 {
        let at = |h: f64| State::at(&c, 4, BASE + p, h * 3600.0).offline;
        let sleeper = at(14.0); // 22:00
        assert_eq!(sleeper, at(20.0), "02:00 too"); // a printer is off all night or not at all
        night_off += u32::from(sleeper);
        day_off += u32::from(at(4.0) || at(10.0) || at(24.0 + 4.0)); // 12:00, 18:00, noon next day
    }
    assert!((70..=130).contains(&night_off), "{night_off}");
    assert_eq!(day_off, 0);
}

#[test]
fn days_print_more_or_less_than_the_mean_and_pages_only_grow() {
    let c = DynamicsConfig::quiet();
    let (mut low, mut high) = (f64::MAX, f64::MIN);
    for p in 0..20 {
        let at = |h: f64| State::at(&c, 2, BASE + p, h * 3600.0);
        let mean_per_day = at(0.0).pages_per_s * DAY_S;
        let mut last = 0;
        for day in 0..60 {
            let (start, end) = (at(f64::from(day) * 24.0).pages, at(f64::from(day + 1) * 24.0).pages);
            for hour in 1..24 {
                let now = at(f64::from(day) * 24.0 + f64::from(hour)).pages;
                assert!(now >= last && now >= start && now <= end, "printer {p} day {day} hour {hour}");
                last = now;
            }
            let share = (end - start) as f64 / mean_per_day;
            low = low.min(share);
            high = high.max(share);
        }
    }
    assert!(low > 0.45 && low < 0.7 && high > 1.3 && high < 1.55, "{low} {high}");
    let mut flat = DynamicsConfig::quiet();
    flat.set("daily_variation", 0.0).unwrap();
    assert!(flat.set("daily_variation", 1.0).is_err());
    let s = State::at(&flat, 2, BASE, 5.5 * DAY_S);
    assert_eq!(s.pages, (s.pages_per_s * 5.5 * DAY_S).floor() as u64);
}

#[test]
fn trays_lose_a_sheet_a_sheet_are_refilled_and_sometimes_run_empty() {
    let c = DynamicsConfig::default();
    let (mut loads, mut empty_loads, mut lows) = (0u32, 0u32, 0u32);
    for p in 0..40 {
        let s = State::at(&c, 2, BASE + p, 0.0);
        let mut last = s.tray(2, 250, 0, 1.0);
        let mut was_empty = false;
        for fed in 1..=5_000u64 {
            let l = s.tray(2, 250, fed, 1.0);
            assert!((0..=250).contains(&l.level), "{l:?}");
            assert_eq!(l.empty, l.level == 0);
            assert_eq!(l.low, l.level <= 25, "{l:?}");
            if l.level > last.level {
                // A refill: to full, from a low tray (empty, or a few sheets of an early refill).
                assert_eq!(l.level, 250, "printer {p} at {fed}: {last:?} -> {l:?}");
                loads += 1;
                empty_loads += u32::from(was_empty);
                was_empty = false;
            } else if l.level > 0 {
                // Between refills: exactly one sheet less for each sheet fed.
                assert_eq!(last.level - l.level, 1, "printer {p} at {fed}");
            }
            was_empty |= l.empty;
            lows += u32::from(l.low && !l.empty);
            last = l;
        }
    }
    // 5,000 sheets are 16 cycles of a 250-sheet tray with its wait; about 30% of the loads run
    // empty (one refill a cycle), the others are refilled early (two: before low, at the end).
    assert!(loads >= 40 * 14, "{loads}");
    let share = f64::from(empty_loads) / f64::from(loads);
    assert!((0.1..0.3).contains(&share), "{empty_loads} of {loads} refills after an empty tray");
    // Low only on the way to empty: lows come with the empty loads alone.
    assert!(lows > 0 && lows < 40 * 5_000 / 20, "{lows}");
}
