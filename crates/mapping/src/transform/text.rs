//! `trim`, `lower`, `upper`.

use std::borrow::Cow;

/// A white-space or case change of a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextCase {
    /// Removes leading and trailing white space (Unicode).
    Trim,
    /// Unicode lower case (`ÉCOLE` → `école`).
    Lower,
    /// Unicode upper case (`straße` → `STRASSE`).
    Upper,
}

impl TextCase {
    /// The step's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Trim => "trim",
            Self::Lower => "lower",
            Self::Upper => "upper",
        }
    }

    /// Applies the change, reusing the string when nothing changes (or, for ASCII text,
    /// when the case changes: ASCII case maps byte for byte).
    pub fn apply(self, mut text: String) -> String {
        match self {
            Self::Trim => {
                let trimmed = text.trim();
                if trimmed.len() == text.len() {
                    text
                } else {
                    trimmed.to_string()
                }
            }
            Self::Lower if text.is_ascii() => {
                text.make_ascii_lowercase();
                text
            }
            Self::Lower if !text.chars().any(char::is_uppercase) => text,
            Self::Lower => text.to_lowercase(),
            Self::Upper if text.is_ascii() => {
                text.make_ascii_uppercase();
                text
            }
            Self::Upper if !text.chars().any(char::is_lowercase) => text,
            Self::Upper => text.to_uppercase(),
        }
    }

    /// Applies the change to borrowed text: the same result as `apply(text.to_string())`,
    /// with one allocation.
    pub(crate) fn apply_str(self, text: &str) -> String {
        match self {
            Self::Trim => text.trim().to_string(),
            Self::Lower if text.is_ascii() => text.to_ascii_lowercase(),
            Self::Lower if !text.chars().any(char::is_uppercase) => text.to_string(),
            Self::Lower => text.to_lowercase(),
            Self::Upper if text.is_ascii() => text.to_ascii_uppercase(),
            Self::Upper if !text.chars().any(char::is_lowercase) => text.to_string(),
            Self::Upper => text.to_uppercase(),
        }
    }
}

impl TextCase {
    /// Applies the change to text that may be borrowed, borrowing the result when nothing
    /// changes: the same text as [`TextCase::apply_str`].
    pub(crate) fn apply_cow(self, text: Cow<'_, str>) -> Cow<'_, str> {
        match self {
            Self::Trim => match text {
                Cow::Borrowed(text) => Cow::Borrowed(text.trim()),
                Cow::Owned(text) => Cow::Owned(self.apply(text)),
            },
            Self::Lower if text.is_ascii() && !text.bytes().any(|b| b.is_ascii_uppercase()) => text,
            Self::Upper if text.is_ascii() && !text.bytes().any(|b| b.is_ascii_lowercase()) => text,
            _ => match text {
                Cow::Borrowed(text) => Cow::Owned(self.apply_str(text)),
                Cow::Owned(text) => Cow::Owned(self.apply(text)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `apply` did before its ASCII shortcut: change only when a character needs it.
    fn reference(case: TextCase, text: &str) -> String {
        match case {
            TextCase::Trim => text.trim().to_string(),
            TextCase::Lower if !text.chars().any(char::is_uppercase) => text.to_string(),
            TextCase::Lower => text.to_lowercase(),
            TextCase::Upper if !text.chars().any(char::is_lowercase) => text.to_string(),
            TextCase::Upper => text.to_uppercase(),
        }
    }

    #[test]
    fn owned_borrowed_and_reference_agree() {
        let texts = [
            "",
            "  ",
            "abc",
            "ABC",
            "Ada@Example.COM",
            " name 1 \n",
            "123-456",
            "ÉCOLE Ünïcode",
            "straße",
            "ǅemal",
            "ΣΑΣ ΟΔΟΣ",
            "\u{2003}wide space\u{2003}",
            "ﬁ ligature",
            "İstanbul",
        ];
        for case in [TextCase::Trim, TextCase::Lower, TextCase::Upper] {
            for text in texts {
                let expected = reference(case, text);
                assert_eq!(case.apply(text.to_string()), expected, "{case:?} {text:?}");
                assert_eq!(case.apply_str(text), expected, "{case:?} {text:?}");
                assert_eq!(
                    case.apply_cow(Cow::Borrowed(text)),
                    expected,
                    "{case:?} {text:?}"
                );
                let owned = Cow::Owned(text.to_string());
                assert_eq!(case.apply_cow(owned), expected, "{case:?} {text:?}");
            }
        }
    }
}
