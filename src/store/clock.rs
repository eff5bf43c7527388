//! The one clock of a run, injectable so that a reproducible run gives identical bytes.

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
        todo!()
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
}

impl Clock for ReproducibleClock {
    fn now(&mut self) -> String {
        todo!("{}{}", self.date, self.counter)
    }
}
