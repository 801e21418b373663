//! The packetdrill script language: lexer, parser, AST, printer.
//!
//! The first layer above `outcome`: it knows the text of a script and
//! nothing of packets, plans or the kernel. The names of packetdrill's flags
//! ([`options`]) belong here because option lines are part of the language;
//! what their values mean is `plan::config`'s business.
//!
//! ```text
//! bytes ──lexer──► tokens ──parser──► Script (AST, every node with a Span) ──printer──► text
//! ```
//!
//! [`parse`] is the entry point: it reads a whole script (bytes, so that a
//! stray non-UTF-8 byte is reported at its line and column instead of failing
//! the read) and either returns the AST or the first error as a
//! [`Diagnostic`], the way packetdrill stops at its first error. [`print`](fn@print)
//! turns an AST back into text that parses to the same AST.
//!
//! # Tests
//!
//! - `engine/tests/corpus_parse.rs`: every script of `shared/corpus` parses
//!   (or is rejected exactly as packetdrill rejects it) and round-trips
//!   through the printer;
//! - `engine/tests/malformed.rs` with `engine/tests/malformed/*.pkt` and
//!   `EXPECTED.tsv`: one script per kind of mistake, with line, column and
//!   message;
//! - `engine/tests/parse_fuzz.rs`: property tests (random bytes, token soups,
//!   mutated corpus scripts: no panic, bounded time and output, round trip).
//!   256 cases per property by default; for a longer run:
//!
//!   ```text
//!   PROPTEST_CASES=100000 cargo test --release -p netdrill-engine --test parse_fuzz
//!   ```
//!
//!   A failing case is printed minimized, with the script text, and its seed
//!   is saved in `engine/tests/parse_fuzz.proptest-regressions` (kept in git)
//!   so that every later run tries it first.
//! - `cargo bench -p netdrill-engine --bench parse`: parse time of the corpus.

pub mod ast;
pub mod diag;
pub mod lexer;
pub mod options;
pub mod parser;
pub mod printer;
pub mod span;

pub use ast::*;
pub use diag::{Diagnostic, DiagnosticKind};
pub use printer::print;
pub use span::{Span, Spanned};

use std::fmt;

/// Why a script could not be parsed: the first error, with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFailure {
    pub diagnostic: Diagnostic,
}

impl fmt::Display for ParseFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.diagnostic.fmt(f)
    }
}

impl std::error::Error for ParseFailure {}

/// Parse a whole script.
///
/// `defines` are the command line's `-D NAME=VALUE` symbols, in order (a later
/// one wins); together with the script's own `--define` lines they replace
/// words while scanning, as in packetdrill (see [`lexer`]). The script's
/// option lines are checked for unknown names and missing or forbidden
/// values; their values are not interpreted here.
pub fn parse(source: &[u8], defines: &[(String, String)]) -> Result<Script, ParseFailure> {
    parser::Parser::new(source)
        .script(defines)
        .map_err(|diagnostic| ParseFailure { diagnostic })
}
