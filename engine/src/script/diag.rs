//! Errors found in a script before it runs (lexing, parsing, static checks).
//!
//! A [`Diagnostic`] knows where the problem is and can render itself two ways:
//! - [`Diagnostic::packetdrill_line`]: the one-line form packetdrill prints
//!   (`file.pkt:7: parse error at 'x': syntax error`,
//!   `file.pkt:3: semantic error: Invalid TCP flag: 'X'`), used by `exec`
//!   and the packetdrill drop-in;
//! - [`Diagnostic::render`]: the `file.pkt:LINE:COL: error: ...` form with the
//!   offending source line and a caret, used by `netdrill check`.

use super::span::Span;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DiagnosticKind {
    /// The text does not follow the grammar (packetdrill: "parse error at 'TOKEN'").
    Parse,
    /// Grammatical but meaningless (packetdrill: "semantic error: ...").
    Semantic,
    /// A bad `--option` line (packetdrill: "option 'x' unknown", "bad --flag: ...").
    Option,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub kind: DiagnosticKind,
    /// What is wrong, without location (e.g. `unexpected ')' , expected an expression`).
    pub message: String,
    /// Where. `span.line` is the line packetdrill would report.
    pub span: Span,
    /// For parse errors: the text of the offending token, as packetdrill quotes it
    /// (empty at end of input).
    pub token: Option<String>,
    /// Whether packetdrill's own message carries a line number (option errors don't).
    pub has_line: bool,
}

impl Diagnostic {
    pub fn parse(message: impl Into<String>, span: Span, token: impl Into<String>) -> Self {
        Diagnostic {
            kind: DiagnosticKind::Parse,
            message: message.into(),
            span,
            token: Some(token.into()),
            has_line: true,
        }
    }

    pub fn semantic(message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            kind: DiagnosticKind::Semantic,
            message: message.into(),
            span,
            token: None,
            has_line: true,
        }
    }

    pub fn option(message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            kind: DiagnosticKind::Option,
            message: message.into(),
            span,
            token: None,
            has_line: false,
        }
    }

    /// packetdrill's one-line message for this error, prefixed by `path`.
    pub fn packetdrill_line(&self, path: &str) -> String {
        match self.kind {
            DiagnosticKind::Parse => format!(
                "{path}:{}: parse error at '{}': syntax error",
                self.span.line,
                self.token.as_deref().unwrap_or("")
            ),
            DiagnosticKind::Semantic => {
                format!(
                    "{path}:{}: semantic error: {}",
                    self.span.line, self.message
                )
            }
            DiagnosticKind::Option => {
                if self.has_line {
                    format!("{path}:{}: {}", self.span.line, self.message)
                } else {
                    format!("{path}: {}", self.message)
                }
            }
        }
    }

    /// `path:LINE:COL: error: message`, then the source line and a caret under the spot.
    pub fn render(&self, path: &str, source: &[u8]) -> String {
        let mut out = format!(
            "{path}:{}:{}: error: {}\n",
            self.span.line, self.span.col, self.message
        );
        if let Some(text) = source_line(source, self.span.line) {
            let gutter = self.span.line.to_string();
            out.push_str(&format!("{:width$} |\n", "", width = gutter.len()));
            out.push_str(&format!("{gutter} | {text}\n"));
            let col = self.span.col.max(1) as usize;
            // Keep tabs so the caret lines up under tab-indented source.
            let pad: String = text
                .chars()
                .take(col - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let width = caret_width(self.span, source, &text, col);
            out.push_str(&format!(
                "{:width$} | {pad}{}\n",
                "",
                "^".repeat(width),
                width = gutter.len()
            ));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.span.line, self.span.col, self.message
        )
    }
}

impl std::error::Error for Diagnostic {}

/// The text of 1-based line `line`, with invalid UTF-8 shown as U+FFFD.
fn source_line(source: &[u8], line: u32) -> Option<String> {
    if line == 0 {
        return None;
    }
    let raw = source.split(|&b| b == b'\n').nth(line as usize - 1)?;
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    Some(String::from_utf8_lossy(raw).into_owned())
}

/// How many carets: the span's length when it stays on this line, else one.
fn caret_width(span: Span, source: &[u8], text: &str, col: usize) -> usize {
    let rest = text.chars().count().saturating_sub(col - 1).max(1);
    if span.end > span.start && span.end <= source.len() {
        let piece = &source[span.start..span.end];
        if !piece.contains(&b'\n') {
            return String::from_utf8_lossy(piece)
                .chars()
                .count()
                .clamp(1, rest);
        }
    }
    1
}
