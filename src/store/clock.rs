//! The one clock of a run, injectable so that a reproducible run gives identical bytes.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// `strftime` pattern of FORMAT.md §2 timestamps: always 6 fractional digits, `Z`.
const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// Renders a UTC instant as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn render_timestamp(at: DateTime<Utc>) -> String {
    at.format(TIMESTAMP_FORMAT).to_string()
}

/// Source of the `created_at` timestamps of a run.
pub trait Clock: Send {
    /// The next timestamp, rendered as FORMAT.md §2 says (`YYYY-MM-DDTHH:MM:SS.ffffffZ`).
    fn now(&mut self) -> String;
}

/// Wall-clock UTC time.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&mut self) -> String {
        render_timestamp(Utc::now())
    }
}

/// Reproducible mode: midnight UTC of the migration's DATE plus one microsecond per call.
#[derive(Debug)]
pub struct ReproducibleClock {
    date: String,
    counter: u64,
}

impl ReproducibleClock {
    /// `date` is the migration's `YYYY-MM-DD`.
    pub fn new(date: &str) -> Self {
        Self {
            date: date.to_string(),
            counter: 0,
        }
    }

    /// Like [`ReproducibleClock::new`], but rejects a `date` that is not `YYYY-MM-DD`
    /// up front instead of panicking at the first [`Clock::now`].
    pub fn try_new(date: &str) -> Result<Self, String> {
        parse_date(date)?;
        Ok(Self::new(date))
    }
}

fn parse_date(date: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .filter(|_| date.len() == 10)
        .ok_or_else(|| format!("reproducible clock: DATE `{date}` is not a YYYY-MM-DD date"))
}

impl Clock for ReproducibleClock {
    /// # Panics
    /// If the clock was built with [`ReproducibleClock::new`] from an invalid date.
    fn now(&mut self) -> String {
        let day = parse_date(&self.date).unwrap_or_else(|e| panic!("{e}"));
        let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
        let micros = i64::try_from(self.counter).expect("counter fits in i64");
        self.counter += 1;
        render_timestamp(midnight + TimeDelta::microseconds(micros))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_counts_microseconds() {
        let mut clock = ReproducibleClock::new("2025-11-12");
        assert_eq!(clock.now(), "2025-11-12T00:00:00.000000Z");
        assert_eq!(clock.now(), "2025-11-12T00:00:00.000001Z");
        clock.counter = 1_000_000;
        assert_eq!(clock.now(), "2025-11-12T00:00:01.000000Z");
    }

    #[test]
    fn reproducible_rejects_bad_dates() {
        assert!(ReproducibleClock::try_new("2025-11-12").is_ok());
        for bad in ["2025-13-01", "2025-1-1", "12-11-2025", "", "2025-11-12T00:00:00"] {
            assert!(ReproducibleClock::try_new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn system_clock_shape() {
        let s = SystemClock.now();
        assert_eq!(s.len(), 27, "{s}");
        assert!(s.ends_with('Z') && s.as_bytes()[19] == b'.', "{s}");
        assert!(DateTime::parse_from_rfc3339(&s).is_ok(), "{s}");
    }
}
