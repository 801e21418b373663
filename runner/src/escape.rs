//! Text from scripts and jobs made safe to show: what a job prints, what the
//! engine quotes from a script and the names of script files reach the
//! terminal, KTAP, JUnit and JSON. Control bytes would drive the terminal or
//! break a TAP line, and one huge line would be echoed whole. The record of
//! a run holds only text that went through [`clean_text`] (messages, logs)
//! or [`escape_bytes`] (names), so every reporter shows the same safe text.

/// Lines longer than this many characters are cut (what follows is counted).
pub const LINE_LIMIT: usize = 1024;

/// Text with each control character other than newline and tab written as
/// `\xNN` (`\u{NNNN}` for the C1 and other non-ASCII controls), and each
/// line cut at [`LINE_LIMIT`] characters with a note of how many were left
/// out.
pub fn clean_text(text: &str) -> String {
    if text
        .split('\n')
        .all(|l| l.len() <= LINE_LIMIT && !l.chars().any(is_escaped))
    {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len().min(1 << 20));
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut chars = line.chars();
        for c in chars.by_ref().take(LINE_LIMIT) {
            push_escaped(&mut out, c);
        }
        let left = chars.count();
        if left > 0 {
            out.push_str(&format!("[... {left} more characters]"));
        }
    }
    out
}

/// Bytes (a file name, say) as text: UTF-8 as it is, every control
/// character (newline and tab included) and every byte that is not UTF-8
/// as `\xNN`, and a backslash as `\\` when anything was escaped (so the
/// result reads back unambiguously).
pub fn escape_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(|c| c.is_control()) => s.to_string(),
        _ => {
            let mut out = String::new();
            for chunk in bytes.utf8_chunks() {
                for c in chunk.valid().chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        c if c.is_control() => push_code(&mut out, c),
                        c => out.push(c),
                    }
                }
                for b in chunk.invalid() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            out
        }
    }
}

fn is_escaped(c: char) -> bool {
    c.is_control() && c != '\t'
}

fn push_escaped(out: &mut String, c: char) {
    if is_escaped(c) {
        push_code(out, c);
    } else {
        out.push(c);
    }
}

fn push_code(out: &mut String, c: char) {
    let n = u32::from(c);
    if n < 0x80 {
        out.push_str(&format!("\\x{n:02x}"));
    } else {
        out.push_str(&format!("\\u{{{n:04x}}}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn control_characters_are_written_out() {
        assert_eq!(clean_text("plain\n\ttext"), "plain\n\ttext");
        assert_eq!(
            clean_text("a\x1b[31mred\x1b[0m\r\x07\u{85}"),
            "a\\x1b[31mred\\x1b[0m\\x0d\\x07\\u{0085}"
        );
        assert_eq!(escape_bytes(b"ok.pkt"), "ok.pkt");
        assert_eq!(escape_bytes(b"a\xff\nb\\.pkt"), "a\\xff\\x0ab\\\\.pkt");
        assert_eq!(escape_bytes("é.pkt".as_bytes()), "é.pkt");
    }

    #[test]
    fn long_lines_are_cut() {
        let line = "x".repeat(1 << 20);
        let text = format!("head\n{line}\ntail");
        let clean = clean_text(&text);
        let lines: Vec<&str> = clean.split('\n').collect();
        assert_eq!(lines[0], "head");
        assert_eq!(lines[2], "tail");
        assert_eq!(
            lines[1],
            format!(
                "{}[... {} more characters]",
                "x".repeat(LINE_LIMIT),
                (1 << 20) - LINE_LIMIT
            )
        );
        let exact = "y".repeat(LINE_LIMIT);
        assert_eq!(clean_text(&exact), exact);
    }

    proptest! {
        #[test]
        fn clean_text_has_no_control_characters_and_short_lines(s in any::<String>()) {
            let clean = clean_text(&s);
            prop_assert!(!clean.chars().any(is_escaped));
            for line in clean.split('\n') {
                prop_assert!(line.chars().count() <= LINE_LIMIT + 40);
            }
            prop_assert_eq!(clean.matches('\n').count(), s.matches('\n').count());
        }

        #[test]
        fn escaped_names_have_no_control_characters(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let e = escape_bytes(&b);
            prop_assert!(!e.chars().any(char::is_control));
            if let Ok(s) = std::str::from_utf8(&b) {
                if !s.chars().any(char::is_control) {
                    prop_assert_eq!(e, s);
                }
            }
        }
    }
}
