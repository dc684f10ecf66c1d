//! `trim`, `lower`, `upper`.

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

    /// Applies the change, reusing the string when nothing changes.
    pub fn apply(self, text: String) -> String {
        match self {
            Self::Trim => {
                let trimmed = text.trim();
                if trimmed.len() == text.len() {
                    text
                } else {
                    trimmed.to_string()
                }
            }
            Self::Lower if !text.chars().any(char::is_uppercase) => text,
            Self::Lower => text.to_lowercase(),
            Self::Upper if !text.chars().any(char::is_lowercase) => text,
            Self::Upper => text.to_uppercase(),
        }
    }
}
