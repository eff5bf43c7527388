//! Nepali helpers for migrations: Bikram Sambat dates ([`calendar`], one table with a named
//! source in [`table`]), Devanagari digits ([`digits`]) and the service's name
//! standardisation ([`names`]). Slugs are in [`super::slug`].

pub mod calendar;
pub mod digits;
pub mod names;
pub mod table;

#[cfg(test)]
mod tests;

pub use calendar::{ad_to_bs, bs_to_ad, bs_to_ad_in, BsDate, BsError, Calendar};
pub use digits::{ascii_to_devanagari_digits, devanagari_to_ascii_digits, parse_number};
pub use names::standardize_name;
