//! Findings: what a check found, how serious it is, what to do, and where the rule comes from.

use std::fmt;

use crate::catalogue::Citation;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// The action (sending, deciding, forwarding) may not go ahead.
    Block,
    /// The action may go ahead, but somebody should look.
    Warn,
    /// Something to know.
    Info,
}

impl Severity {
    /// The lower-case name used in the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Warn => "warn",
            Self::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Block, warn or info.
    pub severity: Severity,
    /// A stable code, for example `scope.offence-outside-catalogue`.
    pub code: &'static str,
    /// What is wrong and what to do, for a caseworker.
    pub message: String,
    /// Where the rule comes from, with verification tags.
    pub citations: Vec<Citation>,
}

impl Finding {
    pub(super) fn new(
        severity: Severity,
        code: &'static str,
        message: impl Into<String>,
        citations: &[Citation],
    ) -> Self {
        let mut unique: Vec<Citation> = Vec::with_capacity(citations.len());
        for c in citations {
            if !unique.contains(c) {
                unique.push(c.clone());
            }
        }
        Self {
            severity,
            code,
            message: message.into(),
            citations: unique,
        }
    }

    pub(super) fn block(
        code: &'static str,
        message: impl Into<String>,
        citations: &[Citation],
    ) -> Self {
        Self::new(Severity::Block, code, message, citations)
    }

    pub(super) fn warn(
        code: &'static str,
        message: impl Into<String>,
        citations: &[Citation],
    ) -> Self {
        Self::new(Severity::Warn, code, message, citations)
    }

    pub(super) fn info(
        code: &'static str,
        message: impl Into<String>,
        citations: &[Citation],
    ) -> Self {
        Self::new(Severity::Info, code, message, citations)
    }
}

impl fmt::Display for Finding {
    /// `block scope.x: message (BC Art 2 [V]; UNCC Art 7 [S])`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.severity, self.code, self.message)?;
        if !self.citations.is_empty() {
            let cited: Vec<String> = self.citations.iter().map(|c| c.to_string()).collect();
            write!(f, " ({})", cited.join("; "))?;
        }
        Ok(())
    }
}

/// Whether any finding blocks the action.
pub fn blocks(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Block)
}

/// A penalty in months, as people say it: `4 years`, `18 months`.
pub(super) fn penalty(months: u32) -> String {
    match (months / 12, months % 12) {
        (1, 0) => "1 year".to_owned(),
        (years, 0) => format!("{years} years"),
        _ if months == 1 => "1 month".to_owned(),
        _ => format!("{months} months"),
    }
}
