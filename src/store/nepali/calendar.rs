//! Bikram Sambat (BS) ↔ Gregorian (AD) dates, from one table ([`super::table`]).
//!
//! Every migration converts with the same table, so the same BS date gives the same AD date
//! whoever writes the migration. [`Calendar::Service`] reproduces what the Python service's
//! converter wrote, for comparing with or repairing data it produced.

use std::fmt;
use std::str::FromStr;

use chrono::{Days, NaiveDate};

use super::digits::devanagari_to_ascii_digits;
use super::table::{FIRST_DAY_AD, FIRST_YEAR, MONTH_DAYS, SERVICE_ROWS};

/// Which month lengths a conversion uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Calendar {
    /// The official calendar (the `nes` table): what new data should carry.
    #[default]
    Official,
    /// The Python service's converter (`nepali-date-utils` 0.3.1): one day off in some
    /// months of 2081 to 2083 (early in Kartik and Mangsir 2082, among others).
    Service,
}

impl Calendar {
    /// Days of each month of a BS year, or `None` outside the table.
    pub fn month_days(self, year: u16) -> Option<[u8; 12]> {
        if self == Calendar::Service {
            if let Some((_, row)) = SERVICE_ROWS.iter().find(|(y, _)| *y == year) {
                return Some(*row);
            }
        }
        let index = usize::from(year.checked_sub(FIRST_YEAR)?);
        MONTH_DAYS.get(index).copied()
    }
}

/// The last BS year the table covers.
pub fn last_year() -> u16 {
    FIRST_YEAR + MONTH_DAYS.len() as u16 - 1
}

/// The first AD day the table covers (1 Baisakh 2000 BS).
pub fn first_day_ad() -> NaiveDate {
    let (y, m, d) = FIRST_DAY_AD;
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid constant date")
}

/// A day of the Bikram Sambat calendar; `month` 1 is Baisakh, 12 Chaitra.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BsDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

/// Why a BS date could not be made or converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BsError {
    #[error("{0:?} is not a BS date written year/month/day")]
    Syntax(String),
    #[error("BS year {0} is outside the calendar table ({FIRST_YEAR}..={last})", last = last_year())]
    YearOutOfRange(u16),
    #[error("BS month {0} is not 1..=12")]
    Month(u8),
    #[error("BS {year}/{month:02} has {days} days, not {day}")]
    Day { year: u16, month: u8, day: u8, days: u8 },
    #[error("AD date {0} is outside the calendar table")]
    AdOutOfRange(NaiveDate),
}

impl BsDate {
    /// A date checked against the official table.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, BsError> {
        Self::new_in(Calendar::Official, year, month, day)
    }

    /// A date checked against the given calendar (a day may exist in one and not the other).
    pub fn new_in(calendar: Calendar, year: u16, month: u8, day: u8) -> Result<Self, BsError> {
        let row = calendar.month_days(year).ok_or(BsError::YearOutOfRange(year))?;
        if !(1..=12).contains(&month) {
            return Err(BsError::Month(month));
        }
        let days = row[usize::from(month - 1)];
        if !(1..=days).contains(&day) {
            return Err(BsError::Day {
                year,
                month,
                day,
                days,
            });
        }
        Ok(Self { year, month, day })
    }

    /// The Gregorian date in the official calendar.
    pub fn to_ad(self) -> Result<NaiveDate, BsError> {
        self.to_ad_in(Calendar::Official)
    }

    /// The Gregorian date in the given calendar.
    pub fn to_ad_in(self, calendar: Calendar) -> Result<NaiveDate, BsError> {
        let checked = Self::new_in(calendar, self.year, self.month, self.day)?;
        let mut days = u64::from(checked.day) - 1;
        for year in FIRST_YEAR..checked.year {
            let row = calendar
                .month_days(year)
                .expect("years before a covered one are covered");
            days += row.iter().map(|&d| u64::from(d)).sum::<u64>();
        }
        let row = calendar.month_days(checked.year).expect("checked above");
        days += row[..usize::from(checked.month - 1)]
            .iter()
            .map(|&d| u64::from(d))
            .sum::<u64>();
        Ok(first_day_ad() + Days::new(days))
    }

    /// The BS date of a Gregorian date in the official calendar.
    pub fn from_ad(date: NaiveDate) -> Result<Self, BsError> {
        Self::from_ad_in(Calendar::Official, date)
    }

    /// The BS date of a Gregorian date in the given calendar.
    pub fn from_ad_in(calendar: Calendar, date: NaiveDate) -> Result<Self, BsError> {
        let out_of_range = BsError::AdOutOfRange(date);
        let mut rest = u64::try_from((date - first_day_ad()).num_days()).map_err(|_| out_of_range.clone())?;
        for year in FIRST_YEAR..=last_year() {
            let row = calendar.month_days(year).expect("years of the table are covered");
            for (month, &len) in row.iter().enumerate() {
                if rest < u64::from(len) {
                    return Ok(Self {
                        year,
                        month: month as u8 + 1,
                        day: rest as u8 + 1,
                    });
                }
                rest -= u64::from(len);
            }
        }
        Err(out_of_range)
    }

    /// The date as `YYYY-MM-DD` in Devanagari digits, as Nepali documents print it.
    pub fn to_devanagari(self) -> String {
        super::digits::ascii_to_devanagari_digits(&self.to_string())
    }
}

/// Parses `2082/07/16`, `२०८२/०७/१६` or `2082-7-16`: see [`BsDate::parse_in`].
impl FromStr for BsDate {
    type Err = BsError;

    fn from_str(text: &str) -> Result<Self, BsError> {
        Self::parse_in(Calendar::Official, text)
    }
}

impl BsDate {
    /// Parses a written date, Devanagari or ASCII digits with `/`, `-` or `.` between year,
    /// month and day (surrounding spaces ignored), checked against the given calendar.
    pub fn parse_in(calendar: Calendar, text: &str) -> Result<Self, BsError> {
        let ascii = devanagari_to_ascii_digits(text.trim());
        let syntax = || BsError::Syntax(text.to_string());
        let parts: Vec<&str> = ascii.split(['/', '-', '.']).collect();
        let [y, m, d] = parts[..] else {
            return Err(syntax());
        };
        let all_digits = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
        if !(all_digits(y) && all_digits(m) && all_digits(d)) {
            return Err(syntax());
        }
        let year: u16 = y.parse().map_err(|_| syntax())?;
        let month: u8 = m.parse().map_err(|_| syntax())?;
        let day: u8 = d.parse().map_err(|_| syntax())?;
        Self::new_in(calendar, year, month, day)
    }
}

/// `YYYY-MM-DD`, the ISO shape, in ASCII digits.
impl fmt::Display for BsDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Converts a written BS date (see [`BsDate::from_str`]) to the Gregorian date in the
/// official calendar: `bs_to_ad("२०८२/०७/१६")` is 2 November 2025.
pub fn bs_to_ad(text: &str) -> Result<NaiveDate, BsError> {
    text.parse::<BsDate>()?.to_ad()
}

/// Converts a Gregorian date to BS in the official calendar.
pub fn ad_to_bs(date: NaiveDate) -> Result<BsDate, BsError> {
    BsDate::from_ad(date)
}

/// Like [`bs_to_ad`] in the given calendar: `bs_to_ad_in(Calendar::Service, "२०८२/०७/१६")` is
/// 1 November 2025, what the Python service wrote.
pub fn bs_to_ad_in(calendar: Calendar, text: &str) -> Result<NaiveDate, BsError> {
    BsDate::parse_in(calendar, text)?.to_ad_in(calendar)
}
