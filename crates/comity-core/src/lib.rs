//! The pure core of comity: who the authorities are, what a request says, how it moves through its lifecycle,
//! which clocks run on it, and the rules catalogue that says all of this per mechanism and per treaty.
//!
//! Nothing here does IO, reads the clock, or knows HTTP or SQL. Times are passed in; the catalogue is parsed from text
//! handed over by the caller. Every function is deterministic and easy to test.

pub mod authority;
pub mod catalogue;
pub mod clock;
pub mod country;
pub mod duration;
pub mod lifecycle;
mod names;
pub mod request;
pub mod safeguards;

pub use authority::{AuthorityId, AuthorityKind};
pub use catalogue::Catalogue;
pub use country::IsoCountry;
pub use lifecycle::{Action, Lifecycle, State};
