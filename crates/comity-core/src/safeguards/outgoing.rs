//! The requesting side: every check a request must pass before it may leave.

use crate::names::named_enum;

named_enum! {
    /// The role of the person who issues (or validates) a measure.
    IssuerRole ("issuer role") {
        /// A judge.
        Judge = "judge",
        /// A court.
        Court = "court",
        /// A public prosecutor.
        Prosecutor = "prosecutor",
        /// Police or another investigating authority.
        InvestigatingAuthority = "investigating-authority",
        /// Anyone else.
        Other = "other",
    }
}
