//! ISO 3166-1 alpha-2 country codes, validated against the officially assigned list.

use std::fmt;

/// Every officially assigned ISO 3166-1 alpha-2 code.
const ASSIGNED: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS \
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK \
FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM \
JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS \
MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM \
US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// A State, by its ISO 3166-1 alpha-2 code (upper case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IsoCountry([u8; 2]);

/// The input is not an assigned ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an ISO 3166-1 alpha-2 country code (for example `FR`, `BR`, `VN`)")]
pub struct NotACountry(pub String);

impl IsoCountry {
    /// Parses a code; lower case is accepted and normalised.
    pub fn parse(input: &str) -> Result<Self, NotACountry> {
        let upper = input.trim().to_ascii_uppercase();
        let bytes = upper.as_bytes();
        if bytes.len() == 2 && ASSIGNED.split(' ').any(|c| c == upper) {
            Ok(Self([bytes[0], bytes[1]]))
        } else {
            Err(NotACountry(input.to_owned()))
        }
    }

    /// The two-letter code.
    pub fn as_str(&self) -> &str {
        // INVARIANT: built only from an ASCII entry of `ASSIGNED`.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for IsoCountry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigned_codes_parse_and_others_do_not() {
        assert_eq!(IsoCountry::parse("fr").unwrap().as_str(), "FR");
        assert_eq!(IsoCountry::parse("VN").unwrap().to_string(), "VN");
        for bad in ["", "F", "FRA", "XX", "UK", "EU", "1A", "ÉS"] {
            assert!(IsoCountry::parse(bad).is_err(), "accepted {bad:?}");
        }
        assert_eq!(ASSIGNED.split(' ').count(), 249);
    }
}
