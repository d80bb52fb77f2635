//! The six languages of the UI: Project Fluent messages (`locales/*.ftl`, embedded), text direction, and dates and
//! numbers written the way each language writes them.

use std::collections::HashMap;
use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use time::OffsetDateTime;
use unic_langid::LanguageIdentifier;

/// A language of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English.
    En,
    /// French.
    Fr,
    /// Spanish.
    Es,
    /// Russian.
    Ru,
    /// Chinese (simplified).
    Zh,
    /// Arabic.
    Ar,
}

/// Every language with its Fluent source.
pub const SOURCES: [(Lang, &str); 6] = [
    (Lang::En, include_str!("locales/en.ftl")),
    (Lang::Fr, include_str!("locales/fr.ftl")),
    (Lang::Es, include_str!("locales/es.ftl")),
    (Lang::Ru, include_str!("locales/ru.ftl")),
    (Lang::Zh, include_str!("locales/zh.ftl")),
    (Lang::Ar, include_str!("locales/ar.ftl")),
];

impl Lang {
    /// Every language, in the order of the language menu.
    pub const ALL: [Lang; 6] = [Self::En, Self::Fr, Self::Es, Self::Ru, Self::Zh, Self::Ar];

    /// The BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
            Self::Es => "es",
            Self::Ru => "ru",
            Self::Zh => "zh",
            Self::Ar => "ar",
        }
    }

    /// The language's own name, for the language menu.
    pub fn endonym(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Fr => "Français",
            Self::Es => "Español",
            Self::Ru => "Русский",
            Self::Zh => "中文",
            Self::Ar => "العربية",
        }
    }

    /// A tag to a language; English for anything else.
    pub fn from_tag(tag: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|l| l.tag() == tag)
            .unwrap_or(Self::En)
    }

    /// The first offered language of an `Accept-Language` header.
    pub fn negotiate(accept_language: &str) -> Self {
        accept_language
            .split(',')
            .filter_map(|part| part.split(';').next())
            .filter_map(|tag| tag.trim().split('-').next())
            .find_map(|primary| {
                Self::ALL
                    .into_iter()
                    .find(|l| l.tag().eq_ignore_ascii_case(primary))
            })
            .unwrap_or(Self::En)
    }

    /// `rtl` or `ltr`.
    pub fn dir(self) -> &'static str {
        if self == Self::Ar { "rtl" } else { "ltr" }
    }
}

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static HashMap<Lang, Bundle> {
    static BUNDLES: OnceLock<HashMap<Lang, Bundle>> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(lang, source)| {
                let id: LanguageIdentifier = lang.tag().parse().unwrap_or_default();
                let mut bundle = FluentBundle::new_concurrent(vec![id]);
                bundle.set_use_isolating(false);
                // A syntax error drops only the faulty message; the key test reports it.
                let resource = FluentResource::try_new((*source).to_owned())
                    .unwrap_or_else(|(partial, _)| partial);
                if let Err(errors) = bundle.add_resource(resource) {
                    tracing::warn!(
                        lang = lang.tag(),
                        count = errors.len(),
                        "duplicate messages in a locale"
                    );
                }
                (*lang, bundle)
            })
            .collect()
    })
}

fn format(lang: Lang, key: &str, args: Option<&FluentArgs<'_>>) -> Option<String> {
    let bundle = bundles().get(&lang)?;
    let pattern = bundle.get_message(key)?.value()?;
    let mut errors = Vec::new();
    Some(
        bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned(),
    )
}

/// The message `key` in `lang`, falling back to English, then to the key itself.
pub fn t(lang: Lang, key: &str) -> String {
    format(lang, key, None)
        .or_else(|| format(Lang::En, key, None))
        .unwrap_or_else(|| key.to_owned())
}

/// The message `key` in `lang` with arguments.
pub fn t_args(lang: Lang, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, value.clone());
    }
    format(lang, key, Some(&fluent_args))
        .or_else(|| format(Lang::En, key, Some(&fluent_args)))
        .unwrap_or_else(|| key.to_owned())
}

/// The message `key` if it exists in English, else `None`: for labels of catalogue names that may lack one.
pub fn t_opt(lang: Lang, key: &str) -> Option<String> {
    format(Lang::En, key, None)?;
    Some(t(lang, key))
}

/// Every message id of a Fluent source, in order.
pub fn message_ids(source: &str) -> Vec<String> {
    let resource = match FluentResource::try_new(source.to_owned()) {
        Ok(r) => r,
        Err((r, _)) => r,
    };
    resource
        .entries()
        .filter_map(|entry| match entry {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
            _ => None,
        })
        .collect()
}

const ARABIC_DIGITS: [char; 10] = ['٠', '١', '٢', '٣', '٤', '٥', '٦', '٧', '٨', '٩'];

fn digits(lang: Lang, text: &str) -> String {
    if lang != Lang::Ar {
        return text.to_owned();
    }
    text.chars()
        .map(|c| c.to_digit(10).map_or(c, |d| ARABIC_DIGITS[d as usize]))
        .collect()
}

/// A whole number with the language's digit grouping.
pub fn number(lang: Lang, n: u64) -> String {
    let separator = match lang {
        Lang::En | Lang::Zh => ",",
        Lang::Fr => "\u{202f}",
        Lang::Ru => "\u{a0}",
        Lang::Es => ".",
        Lang::Ar => "٬",
    };
    let plain = n.to_string();
    // Spanish does not group four-digit numbers.
    if lang == Lang::Es && plain.len() <= 4 {
        return plain;
    }
    let mut out = String::new();
    for (i, c) in plain.chars().enumerate() {
        if i > 0 && (plain.len() - i).is_multiple_of(3) {
            out.push_str(separator);
        }
        out.push(c);
    }
    digits(lang, &out)
}

const MONTHS: [[&str; 12]; 6] = [
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
    [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
    [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ],
    [
        "1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月",
    ],
    [
        "يناير",
        "فبراير",
        "مارس",
        "أبريل",
        "مايو",
        "يونيو",
        "يوليو",
        "أغسطس",
        "سبتمبر",
        "أكتوبر",
        "نوفمبر",
        "ديسمبر",
    ],
];

fn lang_index(lang: Lang) -> usize {
    Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0)
}

/// A moment as the language writes it, in UTC.
pub fn datetime(lang: Lang, at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let (y, d) = (at.year(), at.day());
    let month = MONTHS[lang_index(lang)][usize::from(u8::from(at.month())) - 1];
    let hm = format!("{:02}:{:02}", at.hour(), at.minute());
    let text = match lang {
        Lang::En => format!("{d} {month} {y}, {hm} UTC"),
        Lang::Fr => format!("{d} {month} {y} à {hm} UTC"),
        Lang::Es => format!("{d} de {month} de {y}, {hm} UTC"),
        Lang::Ru => format!("{d} {month} {y} г., {hm} UTC"),
        Lang::Zh => format!("{y}年{month}{d}日 {hm} UTC"),
        Lang::Ar => format!("{d} {month} {y}، {hm} UTC"),
    };
    digits(lang, &text)
}

/// A moment given as RFC 3339 text, as the language writes it; the text itself if it does not parse.
pub fn datetime_text(lang: Lang, rfc3339: &str) -> String {
    OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .map(|t| datetime(lang, t))
        .unwrap_or_else(|_| rfc3339.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_dates_follow_the_language() {
        assert_eq!(number(Lang::En, 1234567), "1,234,567");
        assert_eq!(number(Lang::Fr, 1234567), "1\u{202f}234\u{202f}567");
        assert_eq!(number(Lang::Es, 1234), "1234");
        assert_eq!(number(Lang::Es, 12345), "12.345");
        assert_eq!(number(Lang::Ar, 1234), "١٬٢٣٤");
        let at = time::macros::datetime!(2026-03-05 09:07 UTC);
        assert_eq!(datetime(Lang::En, at), "5 March 2026, 09:07 UTC");
        assert_eq!(datetime(Lang::Fr, at), "5 mars 2026 à 09:07 UTC");
        assert_eq!(datetime(Lang::Zh, at), "2026年3月5日 09:07 UTC");
        assert_eq!(datetime(Lang::Ru, at), "5 марта 2026 г., 09:07 UTC");
        assert_eq!(datetime(Lang::Ar, at), "٥ مارس ٢٠٢٦، ٠٩:٠٧ UTC");
    }

    #[test]
    fn accept_language_picks_the_first_offered() {
        assert_eq!(Lang::negotiate("de-DE, fr-CH;q=0.9, en;q=0.5"), Lang::Fr);
        assert_eq!(Lang::negotiate("ar-EG"), Lang::Ar);
        assert_eq!(Lang::negotiate("de"), Lang::En);
        assert_eq!(Lang::Ar.dir(), "rtl");
    }

    /// Every language has every message English has, each parses, and none is a copy of the English text
    /// (except names that are the same in every language).
    #[test]
    fn every_language_has_every_english_key() {
        let english = message_ids(SOURCES[0].1);
        assert!(english.len() > 50, "English has {} messages", english.len());
        let mut problems = Vec::new();
        for (lang, source) in SOURCES {
            if let Err((_, errors)) = FluentResource::try_new(source.to_owned()) {
                problems.push(format!(
                    "{}: {} syntax error(s): {errors:?}",
                    lang.tag(),
                    errors.len()
                ));
            }
            let ids = message_ids(source);
            for key in &english {
                if !ids.contains(key) {
                    problems.push(format!("{}: missing `{key}`", lang.tag()));
                }
            }
            for key in &ids {
                if !english.contains(key) {
                    problems.push(format!("{}: `{key}` is not in English", lang.tag()));
                }
            }
            if lang != Lang::En {
                let same = english
                    .iter()
                    .filter(|k| !k.starts_with("same-"))
                    .filter(|k| t(lang, k) == t(Lang::En, k))
                    .count();
                assert!(
                    same * 10 < english.len(),
                    "{}: {same} messages read exactly as in English",
                    lang.tag()
                );
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
