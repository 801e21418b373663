//! The packetdrill script language: lexer, parser, AST, printer.

pub mod ast;
pub mod diag;
pub mod lexer;
pub mod span;

pub use ast::*;
pub use diag::{Diagnostic, DiagnosticKind};
pub use span::{Span, Spanned};
