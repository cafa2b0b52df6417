//! ISO 3166-1 alpha-2 country codes and compact sets of them.
//!
//! Codes are stored as a `u16` index (`(first - 'A') * 26 + (second - 'A')`) so that a
//! set of countries is a fixed 676-bit bitset: membership tests on the hot path cost one
//! shift and one mask, and no allocation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The officially assigned ISO 3166-1 alpha-2 codes (249 of them, as published by the
/// ISO 3166 Maintenance Agency). Exceptionally reserved codes such as `EU` are not here:
/// they can name a bloc rule set but never a flow's location.
pub const ASSIGNED_CODES: &str = "\
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ \
EC EE EG EH ER ES ET \
FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY \
HK HM HN HR HT HU \
ID IE IL IM IN IO IQ IR IS IT \
JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ \
LA LB LC LI LK LR LS LT LU LV LY \
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ \
OM \
PA PE PF PG PH PK PL PM PN PR PS PT PW PY \
QA \
RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ \
UA UG UM US UY UZ \
VA VC VE VG VI VN VU \
WF WS \
YE YT \
ZA ZM ZW";

/// Number of two-letter combinations: the size of a [`CountrySet`] and the range of
/// [`CountryCode::index`].
pub const SLOTS: usize = 26 * 26;

/// Bitset of the officially assigned codes, built at compile time from [`ASSIGNED_CODES`].
const ASSIGNED: CountrySet = {
    let bytes = ASSIGNED_CODES.as_bytes();
    let mut set = CountrySet::EMPTY;
    let mut i = 0;
    while i + 1 < bytes.len() {
        let index = (bytes[i] - b'A') as usize * 26 + (bytes[i + 1] - b'A') as usize;
        set.words[index / 64] |= 1 << (index % 64);
        i += 3;
    }
    set
};

/// A two-letter upper-case code: an officially assigned ISO 3166-1 alpha-2 code when it
/// comes from [`CountryCode::parse_assigned`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountryCode(u16);

impl CountryCode {
    /// `AA`, the first two-letter combination: a filler for fixed-size arrays of codes.
    pub const FIRST: Self = Self(0);
    /// Parses any two ASCII letters (either case) into a code, assigned or not.
    pub fn parse_letters(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 2 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        let first = bytes[0].to_ascii_uppercase() - b'A';
        let second = bytes[1].to_ascii_uppercase() - b'A';
        Some(Self(u16::from(first) * 26 + u16::from(second)))
    }

    /// Parses an officially assigned ISO 3166-1 alpha-2 code, upper-casing it first.
    pub fn parse_assigned(text: &str) -> Option<Self> {
        Self::parse_letters(text).filter(|code| ASSIGNED.contains(*code))
    }

    /// Whether ISO 3166-1 officially assigns this code.
    pub fn is_assigned(self) -> bool {
        ASSIGNED.contains(self)
    }

    /// Dense index below [`SLOTS`], for tables keyed by country.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The code's two letters.
    pub fn letters(self) -> [u8; 2] {
        // Both quotients are below 26, so the casts cannot truncate.
        [b'A' + (self.0 / 26) as u8, b'A' + (self.0 % 26) as u8]
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b] = self.letters();
        write!(f, "{}{}", char::from(a), char::from(b))
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Error for a string that is not an officially assigned ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an ISO 3166-1 alpha-2 country code")]
pub struct UnknownCountry(pub String);

impl FromStr for CountryCode {
    type Err = UnknownCountry;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse_assigned(text).ok_or_else(|| UnknownCountry(text.to_owned()))
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A set of country codes as a fixed bitset: copying it never allocates.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CountrySet {
    words: [u64; SLOTS.div_ceil(64)],
}

impl CountrySet {
    /// The empty set.
    pub const EMPTY: Self = Self {
        words: [0; SLOTS.div_ceil(64)],
    };

    /// Adds a code.
    pub fn insert(&mut self, code: CountryCode) {
        self.words[code.index() / 64] |= 1 << (code.index() % 64);
    }

    /// Adds every member of `other`.
    pub fn extend(&mut self, other: &Self) {
        for (word, other) in self.words.iter_mut().zip(other.words) {
            *word |= other;
        }
    }

    /// Whether `code` is a member.
    pub const fn contains(&self, code: CountryCode) -> bool {
        let index = code.0 as usize;
        self.words[index / 64] & (1 << (index % 64)) != 0
    }

    /// Members in code order.
    pub fn iter(&self) -> impl Iterator<Item = CountryCode> + '_ {
        (0..SLOTS as u16)
            .map(CountryCode)
            .filter(|code| self.contains(*code))
    }
}

impl fmt::Debug for CountrySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<CountryCode> for CountrySet {
    fn from_iter<I: IntoIterator<Item = CountryCode>>(iter: I) -> Self {
        let mut set = Self::EMPTY;
        for code in iter {
            set.insert(code);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_every_officially_assigned_code_once() {
        let codes: Vec<&str> = ASSIGNED_CODES.split(' ').collect();
        assert_eq!(codes.len(), 249, "ISO 3166-1 assigns 249 alpha-2 codes");
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, codes, "codes are sorted and unique");
        assert_eq!(ASSIGNED.iter().count(), 249);
    }

    #[test]
    fn parsing_upper_cases_and_rejects_unassigned_codes() {
        assert_eq!(
            CountryCode::parse_assigned("cn").map(|c| c.to_string()),
            Some("CN".into())
        );
        assert_eq!(
            CountryCode::parse_assigned("EU"),
            None,
            "EU is reserved, not assigned"
        );
        assert_eq!(CountryCode::parse_assigned("XX"), None);
        assert_eq!(CountryCode::parse_assigned("C"), None);
        assert_eq!(CountryCode::parse_assigned("C1"), None);
        assert!(CountryCode::parse_letters("EU").is_some_and(|c| !c.is_assigned()));
    }

    #[test]
    fn sets_hold_exactly_their_members() {
        let set: CountrySet = ["FR", "DE", "ZW"]
            .iter()
            .filter_map(|c| CountryCode::parse_assigned(c))
            .collect();
        assert_eq!(
            set.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            ["DE", "FR", "ZW"]
        );
        assert!(!set.contains(CountryCode::parse_assigned("US").unwrap()));
    }
}
