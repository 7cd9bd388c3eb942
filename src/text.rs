//! Quoting what a caller sent back to it, or into the log: bounded in length and escaped, so
//! that one large or odd input cannot make an error too big for the caller's metadata limit
//! (grpc-core's is 16 KiB) or a log line too long to read.

use std::borrow::Cow;

/// Most bytes of caller input an error message or a log line repeats.
pub const QUOTE_LIMIT: usize = 200;

/// `text` with control characters escaped and, beyond `QUOTE_LIMIT` bytes, cut short with its
/// full length said.
pub fn bounded(text: &str) -> Cow<'_, str> {
    bounded_to(text, QUOTE_LIMIT)
}

/// The same with a limit of `limit` bytes.
pub fn bounded_to(text: &str, limit: usize) -> Cow<'_, str> {
    let plain = !text.chars().any(char::is_control);
    if plain && text.len() <= limit {
        return Cow::Borrowed(text);
    }
    let mut cut = limit.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut quoted: String = text[..cut]
        .chars()
        .flat_map(|c| -> Box<dyn Iterator<Item = char>> {
            if c.is_control() {
                Box::new(c.escape_default())
            } else {
                Box::new(std::iter::once(c))
            }
        })
        .collect();
    if cut < text.len() {
        quoted.push_str(&format!("... ({} bytes in all)", text.len()));
    }
    Cow::Owned(quoted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_plain_text_is_quoted_as_it_is() {
        assert!(matches!(
            bounded("areas/kashgar"),
            Cow::Borrowed("areas/kashgar")
        ));
    }

    #[test]
    fn long_text_is_cut_at_a_character_and_says_its_length() {
        let long = "莎".repeat(1000);
        let quoted = bounded(&long);
        assert!(quoted.len() < QUOTE_LIMIT + 40, "{}", quoted.len());
        assert!(quoted.ends_with("... (3000 bytes in all)"), "{quoted}");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(bounded("a\nb\u{0}"), "a\\nb\\u{0}");
    }
}
