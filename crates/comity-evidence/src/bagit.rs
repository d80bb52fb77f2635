//! BagIt v1.0 (RFC 8493) text formats, written and read as mirror images: `bagit.txt`, manifests, `bag-info.txt`.
//!
//! Paths in manifests are relative to the bag, use `/`, and percent-encode CR, LF and `%` (RFC 8493 §2.1.3).

use crate::digest::{Sha256Digest, hex, parse_sha256_hex};

/// The bag declaration, byte for byte.
pub const BAGIT_TXT: &str = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";

/// Name of the bag declaration.
pub const BAGIT_TXT_NAME: &str = "bagit.txt";
/// Name of the payload manifest.
pub const MANIFEST_NAME: &str = "manifest-sha256.txt";
/// Name of the tag manifest.
pub const TAGMANIFEST_NAME: &str = "tagmanifest-sha256.txt";
/// Name of the bag metadata file.
pub const BAG_INFO_NAME: &str = "bag-info.txt";
/// The payload directory, with its separator.
pub const PAYLOAD_PREFIX: &str = "data/";

/// Percent-encodes CR and LF in a manifest path, and `%` where it starts one of the three escape sequences.
///
/// RFC 8493 asks for every `%` to be written `%25`, but bagit.py (like most validators) decodes only `%0D` and
/// `%0A`, so a name such as `100% sure.txt` written as `100%25 sure.txt` would fail there. Escaping `%` only
/// where it would otherwise be read as an escape keeps every name unambiguous for an RFC decoder (which turns
/// `%25`, `%0D` and `%0A` back, and leaves any other `%` alone) and readable by bagit.py for all names but those
/// that literally contain `%0A`, `%0D` or `%25`.
pub fn encode_manifest_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for (i, c) in path.char_indices() {
        match c {
            '%' if starts_escape(&path[i..]) => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

fn starts_escape(text: &str) -> bool {
    text.get(..3).is_some_and(|t| {
        ["%25", "%0D", "%0A"]
            .iter()
            .any(|e| t.eq_ignore_ascii_case(e))
    })
}

/// Reverses [`encode_manifest_path`]; any other `%` sequence is kept as written.
pub fn decode_manifest_path(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let code = tail.get(..3).map(str::to_ascii_uppercase);
        match code.as_deref() {
            Some("%25") => out.push('%'),
            Some("%0D") => out.push('\r'),
            Some("%0A") => out.push('\n'),
            _ => {
                out.push('%');
                rest = &tail[1..];
                continue;
            }
        }
        rest = &tail[3..];
    }
    out.push_str(rest);
    out
}

/// One manifest line.
pub fn manifest_line(digest: &Sha256Digest, path: &str) -> String {
    format!("{}  {}\n", hex(digest), encode_manifest_path(path))
}

/// Why a manifest could not be read; the caller names the file.
#[derive(Debug, PartialEq, Eq)]
pub enum ManifestProblem {
    /// Line (1-based) is not `<sha256 hex> <path>`.
    BadLine(usize),
    /// A path is listed twice.
    Duplicate(String),
}

/// Parses a SHA-256 manifest into `(path, digest)` pairs in file order.
pub fn parse_manifest(text: &str) -> Result<Vec<(String, Sha256Digest)>, ManifestProblem> {
    let mut entries = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let (digest, path) = line
            .split_once([' ', '\t'])
            .ok_or(ManifestProblem::BadLine(index + 1))?;
        let digest = parse_sha256_hex(digest).ok_or(ManifestProblem::BadLine(index + 1))?;
        let path = decode_manifest_path(path.trim_start_matches([' ', '\t']));
        if path.is_empty() {
            return Err(ManifestProblem::BadLine(index + 1));
        }
        if !seen.insert(path.clone()) {
            return Err(ManifestProblem::Duplicate(path));
        }
        entries.push((path, digest));
    }
    Ok(entries)
}

/// `Payload-Oxum`: total payload octets and file count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadOxum {
    pub octets: u64,
    pub files: u64,
}

impl PayloadOxum {
    /// Parses `<octets>.<files>`.
    pub fn parse(text: &str) -> Option<Self> {
        let (octets, files) = text.trim().split_once('.')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(octets) || !digits(files) {
            return None;
        }
        Some(Self {
            octets: octets.parse().ok()?,
            files: files.parse().ok()?,
        })
    }
}

impl std::fmt::Display for PayloadOxum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.octets, self.files)
    }
}

/// Writes `bag-info.txt` from labelled values; values must be single lines (checked by the caller).
pub fn write_bag_info(fields: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (label, value) in fields {
        out.push_str(label);
        out.push_str(": ");
        out.push_str(value);
        out.push('\n');
    }
    out
}

/// Reads `bag-info.txt` into labelled values in file order, joining continuation lines (leading whitespace).
pub fn parse_bag_info(text: &str) -> Option<Vec<(String, String)>> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let (_, value) = fields.last_mut()?;
            value.push(' ');
            value.push_str(line.trim());
            continue;
        }
        let (label, value) = line.split_once(':')?;
        if label.trim().is_empty() {
            return None;
        }
        fields.push((label.trim().to_owned(), value.trim().to_owned()));
    }
    Some(fields)
}

/// The value of the first field called `label` (labels compare case-insensitively, as bagit.py does).
pub fn bag_info_value<'a>(fields: &'a [(String, String)], label: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(l, _)| l.eq_ignore_ascii_case(label))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256;

    #[test]
    fn manifest_paths_round_trip_with_reserved_characters() {
        for path in [
            "data/a.txt",
            "data/100%/x",
            "data/line\nbreak",
            "data/cr\rhere",
            "data/%0A literal",
            "data/é ü",
        ] {
            let encoded = encode_manifest_path(path);
            assert!(!encoded.contains(['\n', '\r']));
            assert_eq!(decode_manifest_path(&encoded), path, "{encoded}");
        }
        assert_eq!(decode_manifest_path("data/50%off"), "data/50%off");
        assert_eq!(decode_manifest_path("data/%0a"), "data/\n");
        // A lone `%` is written as is (as bagit.py expects); one that starts an escape is escaped.
        assert_eq!(encode_manifest_path("data/100% sure"), "data/100% sure");
        assert_eq!(
            encode_manifest_path("data/%0A literal"),
            "data/%250A literal"
        );
        assert_eq!(encode_manifest_path("data/%25"), "data/%2525");
    }

    #[test]
    fn manifest_round_trips_and_rejects_bad_lines() {
        let a = sha256(b"a");
        let b = sha256(b"b");
        let text = format!(
            "{}{}",
            manifest_line(&a, "data/a b.txt"),
            manifest_line(&b, "data/n\n")
        );
        assert_eq!(
            parse_manifest(&text).unwrap(),
            vec![("data/a b.txt".to_owned(), a), ("data/n\n".to_owned(), b)]
        );
        assert_eq!(
            parse_manifest(&format!("{}\tdata/x\r\n", hex(&a))).unwrap()[0].0,
            "data/x"
        );
        assert_eq!(
            parse_manifest("abc data/x\n"),
            Err(ManifestProblem::BadLine(1))
        );
        assert_eq!(
            parse_manifest(&format!("\n{}\n", hex(&a))),
            Err(ManifestProblem::BadLine(2))
        );
        let twice = format!(
            "{}{}",
            manifest_line(&a, "data/x"),
            manifest_line(&b, "data/x")
        );
        assert_eq!(
            parse_manifest(&twice),
            Err(ManifestProblem::Duplicate("data/x".into()))
        );
    }

    #[test]
    fn payload_oxum_parses_strictly() {
        let oxum = PayloadOxum {
            octets: 1024,
            files: 3,
        };
        assert_eq!(PayloadOxum::parse(&oxum.to_string()), Some(oxum));
        for bad in ["", "1024", "1024.", ".3", "-1.3", "1.3.4", "1 024.3", "x.3"] {
            assert_eq!(PayloadOxum::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bag_info_round_trips_and_joins_continuations() {
        let text = write_bag_info(&[("Source-Organization", "Police"), ("Payload-Oxum", "3.1")]);
        let fields = parse_bag_info(&text).unwrap();
        assert_eq!(bag_info_value(&fields, "payload-oxum"), Some("3.1"));
        let folded = parse_bag_info("Source-Organization: A long\n  name\n").unwrap();
        assert_eq!(
            bag_info_value(&folded, "Source-Organization"),
            Some("A long name")
        );
        assert_eq!(parse_bag_info("  starts with a continuation\n"), None);
        assert_eq!(parse_bag_info("no colon here\n"), None);
    }
}
