use chrono::NaiveDate;
use proptest::prelude::*;

use super::calendar::{first_day_ad, last_year};
use super::table::{FIRST_YEAR, MONTH_DAYS, SERVICE_ROWS};
use super::*;

fn ad(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn bs(y: u16, m: u8, d: u8) -> BsDate {
    BsDate::new(y, m, d).unwrap()
}

#[test]
fn rows_are_calendar_years() {
    for (i, row) in MONTH_DAYS.iter().enumerate() {
        let total: u32 = row.iter().map(|&d| u32::from(d)).sum();
        assert!(
            (365..=366).contains(&total),
            "{}: {total} days",
            FIRST_YEAR as usize + i
        );
        assert!(row.iter().all(|d| (29..=32).contains(d)), "{row:?}");
    }
    for (year, row) in SERVICE_ROWS {
        let ours: u32 = Calendar::Official
            .month_days(year)
            .unwrap()
            .iter()
            .map(|&d| u32::from(d))
            .sum();
        let theirs: u32 = row.iter().map(|&d| u32::from(d)).sum();
        assert_eq!(
            ours, theirs,
            "{year}: the service's year has as many days as the official one"
        );
    }
}

/// Anchors from sources other than the table's: the service converter's own reference
/// pair (`nepali-date-utils`: 2073/10/29 BS = 2017-02-11 AD), the `nepali` package's
/// reference (2000/01/01 = 1943-04-14), and New Year 2082 and 2083 (14 April 2025, 14 April
/// 2026: Nepal's public holiday lists).
#[test]
fn anchors() {
    assert_eq!(bs(2000, 1, 1).to_ad().unwrap(), ad(1943, 4, 14));
    assert_eq!(bs(2073, 10, 29).to_ad().unwrap(), ad(2017, 2, 11));
    assert_eq!(
        bs(2073, 10, 29).to_ad_in(Calendar::Service).unwrap(),
        ad(2017, 2, 11)
    );
    assert_eq!(bs(2082, 1, 1).to_ad().unwrap(), ad(2025, 4, 14));
    assert_eq!(bs(2083, 1, 1).to_ad().unwrap(), ad(2026, 4, 14));
    assert_eq!(bs_to_ad("२०८२/०७/१६").unwrap(), ad(2025, 11, 2));
    assert_eq!(
        bs_to_ad_in(Calendar::Service, "२०८२/०७/१६").unwrap(),
        ad(2025, 11, 1)
    );
}

/// Where the two calendars part: Ashwin 2082 has 31 days officially, 30 in the service's.
#[test]
fn ashwin_2082() {
    assert_eq!(Calendar::Official.month_days(2082).unwrap()[5], 31);
    assert_eq!(Calendar::Service.month_days(2082).unwrap()[5], 30);
    assert!(BsDate::new(2082, 6, 31).is_ok());
    assert!(BsDate::new_in(Calendar::Service, 2082, 6, 31).is_err());
    assert_eq!(bs(2082, 7, 1).to_ad().unwrap(), ad(2025, 10, 18));
    assert_eq!(
        bs(2082, 7, 1).to_ad_in(Calendar::Service).unwrap(),
        ad(2025, 10, 17)
    );
}

#[test]
fn errors() {
    assert_eq!(BsDate::new(1999, 1, 1), Err(BsError::YearOutOfRange(1999)));
    assert_eq!(BsDate::new(2084, 1, 1), Err(BsError::YearOutOfRange(2084)));
    assert_eq!(BsDate::new(2082, 13, 1), Err(BsError::Month(13)));
    assert!(BsDate::new(2082, 9, 30).is_ok());
    assert!(matches!(
        BsDate::new(2082, 8, 30),
        Err(BsError::Day { days: 29, .. })
    ));
    for bad in [
        "",
        "2082/07",
        "2082/07/16/1",
        "2082/x7/16",
        "+2082/07/16",
        "2082//16",
    ] {
        assert!(matches!(bad.parse::<BsDate>(), Err(BsError::Syntax(_))), "{bad}");
    }
    assert_eq!(
        BsDate::from_ad(ad(1943, 4, 13)),
        Err(BsError::AdOutOfRange(ad(1943, 4, 13)))
    );
    let after = bs(
        last_year(),
        12,
        Calendar::Official.month_days(last_year()).unwrap()[11],
    )
    .to_ad()
    .unwrap();
    assert!(BsDate::from_ad(after.succ_opt().unwrap()).is_err());
    assert!(BsDate::from_ad(after).is_ok());
}

#[test]
fn parse_and_print() {
    let d: BsDate = " २०८२-७-१६ ".parse().unwrap();
    assert_eq!(d, bs(2082, 7, 16));
    assert_eq!(d.to_string(), "2082-07-16");
    assert_eq!(d.to_devanagari(), "२०८२-०७-१६");
    assert_eq!("2082.07.16".parse::<BsDate>().unwrap(), d);
}

#[test]
fn digits() {
    assert_eq!(devanagari_to_ascii_digits("दर्ता नं. २०४"), "दर्ता नं. 204");
    assert_eq!(ascii_to_devanagari_digits("2082-07-16"), "२०८२-०७-१६");
    assert_eq!(parse_number(" २०४ "), Some(204));
    assert_eq!(parse_number("2o4"), None);
    assert_eq!(parse_number(""), None);
}

#[test]
fn names() {
    assert_eq!(
        standardize_name("  nepali  CONGRESS party "),
        "Nepali CONGRESS Party"
    );
    assert_eq!(
        standardize_name("Rastriya Swatantra Party (RSP)"),
        "Rastriya Swatantra Party (RSP)"
    );
    assert_eq!(
        standardize_name("nagarik unmukti party, nepal"),
        "Nagarik Unmukti Party, Nepal"
    );
    assert_eq!(standardize_name("A b"), "A B");
    assert_eq!(standardize_name("mcDONALD"), "Mcdonald");
    assert_eq!(standardize_name("नागरिक  उन्मुक्ति पार्टी"), "नागरिक उन्मुक्ति पार्टी");
}

proptest! {
    /// Every day of the table: BS → AD → BS is the identity, in both calendars.
    #[test]
    fn round_trip(days in 0i64..30_700, service in any::<bool>()) {
        let calendar = if service { Calendar::Service } else { Calendar::Official };
        let date = first_day_ad() + chrono::Days::new(days as u64);
        if let Ok(b) = BsDate::from_ad_in(calendar, date) {
            prop_assert_eq!(b.to_ad_in(calendar).unwrap(), date);
            prop_assert_eq!(BsDate::parse_in(calendar, &b.to_devanagari()).unwrap(), b);
        }
    }

    /// The next BS day is the next AD day: no gap, no overlap anywhere in the table.
    #[test]
    fn consecutive(days in 0u64..30_600) {
        let date = first_day_ad() + chrono::Days::new(days);
        let (a, b) = (BsDate::from_ad(date).unwrap(), BsDate::from_ad(date.succ_opt().unwrap()).unwrap());
        prop_assert!(a < b);
        let next_in_month = b.year == a.year && b.month == a.month && b.day == a.day + 1;
        let next_month = b.day == 1 && a.day == Calendar::Official.month_days(a.year).unwrap()[usize::from(a.month - 1)];
        prop_assert!(next_in_month || next_month, "{a} then {b}");
    }

    /// The calendars agree on every date before 2081 and differ by at most one day.
    #[test]
    fn calendars_close(year in FIRST_YEAR..=2083u16, month in 1u8..=12, day in 1u8..=29) {
        let date = bs(year, month, day);
        let (o, s) = (date.to_ad().unwrap(), date.to_ad_in(Calendar::Service).unwrap());
        if year < 2081 { prop_assert_eq!(o, s); }
        prop_assert!((o - s).num_days().abs() <= 1);
    }

    #[test]
    fn digits_round_trip(text in "\\PC*") {
        let ascii = devanagari_to_ascii_digits(&text);
        let devanagari_digit = |c: char| ('\u{0966}'..='\u{096F}').contains(&c);
        prop_assert!(!ascii.chars().any(devanagari_digit), "{}", ascii);
        prop_assert_eq!(devanagari_to_ascii_digits(&ascii_to_devanagari_digits(&ascii)), ascii.clone());
        prop_assert_eq!(ascii.chars().count(), text.chars().count());
    }

    #[test]
    fn numbers(n in any::<u64>()) {
        prop_assert_eq!(parse_number(&ascii_to_devanagari_digits(&n.to_string())), Some(n));
    }

    /// Standardising twice changes nothing more, leaves no double or edge spaces, and keeps
    /// the words (compared case-blind); text without letters of any case keeps its words as they are.
    #[test]
    fn standardize_props(text in "[a-zA-Z()ािक नपल \\t]{0,40}") {
        let once = standardize_name(&text);
        prop_assert_eq!(standardize_name(&once), once.clone());
        prop_assert!(!once.contains("  ") && once.trim() == once);
        let words = |s: &str| s.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>();
        prop_assert_eq!(words(&once), words(&text));
        for (w, orig) in once.split(' ').zip(text.split_whitespace()) {
            let has_case = orig.chars().any(|c| c.is_alphabetic() && (c.is_uppercase() || c.is_lowercase()));
            if !has_case { prop_assert_eq!(w, orig); }
        }
    }
}
