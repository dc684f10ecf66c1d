//! `regex_extract` and `regex_replace` (the `regex` crate: linear time, no backtracking).

use std::borrow::Cow;

use regex::Regex;
use serde_json::Value;

/// Compiled size limit of a pattern, so a spec cannot make a huge automaton.
const SIZE_LIMIT: usize = 1 << 20;

fn build(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| format!("invalid regex {pattern:?}: {e}"))
}

/// The capture group of the first match.
#[derive(Debug, Clone)]
pub struct RegexExtract {
    regex: Regex,
    group: usize,
}

impl RegexExtract {
    /// Compiles the pattern and checks the group exists.
    pub fn new(pattern: &str, group: usize) -> Result<Self, String> {
        let regex = build(pattern)?;
        if group >= regex.captures_len() {
            return Err(format!(
                "regex {pattern:?} has no capture group {group} (it has {})",
                regex.captures_len() - 1
            ));
        }
        Ok(Self { regex, group })
    }

    /// The group's text, or null when nothing matches (or the group did not take part).
    pub fn apply(&self, text: &str) -> Value {
        self.find(text)
            .map_or(Value::Null, |found| Value::String(found.to_string()))
    }

    /// The group's text, `None` when nothing matches (or the group did not take part).
    pub(crate) fn find<'t>(&self, text: &'t str) -> Option<&'t str> {
        self.regex
            .captures(text)
            .and_then(|captures| captures.get(self.group))
            .map(|found| found.as_str())
    }
}

/// Replaces every match.
#[derive(Debug, Clone)]
pub struct RegexReplace {
    regex: Regex,
    replacement: String,
}

impl RegexReplace {
    /// Compiles the pattern.
    pub fn new(pattern: &str, replacement: &str) -> Result<Self, String> {
        Ok(Self {
            regex: build(pattern)?,
            replacement: replacement.to_string(),
        })
    }

    /// The text with every match replaced.
    pub fn apply(&self, text: String) -> String {
        match self.regex.replace_all(&text, self.replacement.as_str()) {
            Cow::Borrowed(_) => text,
            Cow::Owned(replaced) => replaced,
        }
    }

    /// Replaces every match in text that may be borrowed, borrowing it when nothing matches.
    pub(crate) fn apply_cow<'t>(&self, text: Cow<'t, str>) -> Cow<'t, str> {
        match text {
            Cow::Borrowed(text) => self.regex.replace_all(text, self.replacement.as_str()),
            Cow::Owned(text) => Cow::Owned(self.apply(text)),
        }
    }

    /// Replaces every match in borrowed text.
    pub(crate) fn apply_str(&self, text: &str) -> String {
        self.regex
            .replace_all(text, self.replacement.as_str())
            .into_owned()
    }
}
