//! How text is compared by the `:` (has) operator: case- and width-insensitively. A fullwidth
//! `ＷＡＴＥＲ` (as Chinese input methods type Latin letters) has `water`, as `Water` does.
//! Filters and the text indexes that answer them fold text the same way, here.

/// `c` as compared: fullwidth forms as their ASCII letters, then lower case (which may be
/// more than one character).
pub fn fold(c: char) -> impl Iterator<Item = char> {
    let narrow = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        other => other,
    };
    narrow.to_lowercase()
}

/// `text` folded.
pub fn folded(text: &str) -> String {
    text.chars().flat_map(fold).collect()
}

/// Whether `text` has `part`, both folded; allocation-free for ASCII, which a scan of every
/// project's title meets on each row.
pub fn has(text: &str, part: &str) -> bool {
    if text.is_ascii() && part.is_ascii() {
        let (text, part) = (text.as_bytes(), part.as_bytes());
        let Some(first) = part.first() else {
            return true;
        };
        let Some(last_start) = text.len().checked_sub(part.len()) else {
            return false;
        };
        let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
        let mut from = 0;
        while let Some(offset) = memchr::memchr2(lower, upper, &text[from..=last_start]) {
            let at = from + offset;
            if text[at..at + part.len()].eq_ignore_ascii_case(part) {
                return true;
            }
            from = at + 1;
        }
        false
    } else {
        folded(text).contains(&folded(part))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_width_do_not_matter() {
        assert!(has("Drinking Water Works", "water"));
        assert!(has("ＷＡＴＥＲ supply", "water"));
        assert!(has("Water supply", "ｗａｔｅｒ"));
        assert!(has("莎车县饮水工程", "饮水"));
        assert!(!has("Drinking Water Works", "roads"));
        assert!(has("anything", ""));
    }
}
