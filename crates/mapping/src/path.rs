//! Field paths: `address.country`, `items[0].sku`, `items[-1]` (last item) and
//! `meta["key.with.dots"]` for keys that contain dots or brackets.
//!
//! Paths are parsed once, when a mapping is compiled; looking one up does not allocate.

use std::fmt;

use serde_json::{Map, Value};

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// An object key.
    Key(String),
    /// An array index; negative counts from the end (`-1` is the last item).
    Index(i64),
}

/// A parsed field path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath {
    segments: Vec<Segment>,
}

/// The longest path accepted, in characters (bounds the work of one lookup).
pub const MAX_PATH_LENGTH: usize = 1024;

impl FieldPath {
    /// Parses a path.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("the path is empty".into());
        }
        if text.len() > MAX_PATH_LENGTH {
            return Err(format!(
                "the path is longer than {MAX_PATH_LENGTH} characters"
            ));
        }
        let mut segments = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        let mut position = 0;
        let mut expect_key = true;
        while position < chars.len() {
            match chars[position] {
                '[' => {
                    let (segment, next) = parse_bracket(&chars, position)?;
                    segments.push(segment);
                    position = next;
                    expect_key = false;
                }
                '.' => {
                    if expect_key {
                        return Err(format!("empty key before `.` at character {position}"));
                    }
                    position += 1;
                    expect_key = true;
                    if position == chars.len() {
                        return Err("the path ends with `.`".into());
                    }
                }
                ']' => return Err(format!("unexpected `]` at character {position}")),
                _ => {
                    if !expect_key {
                        return Err(format!(
                            "expected `.` or `[` at character {position}, found `{}`",
                            chars[position]
                        ));
                    }
                    let start = position;
                    while position < chars.len() && !matches!(chars[position], '.' | '[' | ']') {
                        position += 1;
                    }
                    segments.push(Segment::Key(chars[start..position].iter().collect()));
                    expect_key = false;
                }
            }
        }
        Ok(Self { segments })
    }

    /// A path of one key (no parsing: the key may contain dots).
    pub fn key(key: impl Into<String>) -> Self {
        Self {
            segments: vec![Segment::Key(key.into())],
        }
    }

    /// The steps of the path.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether every step is an object key (target paths must be).
    pub fn is_keys_only(&self) -> bool {
        self.segments.iter().all(|s| matches!(s, Segment::Key(_)))
    }

    /// The value at this path in `record`, `None` when any step is missing.
    pub fn lookup<'a>(&self, record: &'a Map<String, Value>) -> Option<&'a Value> {
        let (first, rest) = self.segments.split_first()?;
        let mut current = match first {
            Segment::Key(key) => record.get(key)?,
            Segment::Index(_) => return None,
        };
        for segment in rest {
            current = step(current, segment)?;
        }
        Some(current)
    }

    /// The value at this path in any JSON value (`None` when missing).
    pub fn lookup_value<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        let mut current = value;
        for segment in &self.segments {
            current = step(current, segment)?;
        }
        Some(current)
    }

    /// Whether `self` is a strict prefix of `other`.
    pub fn is_prefix_of(&self, other: &FieldPath) -> bool {
        self.segments.len() < other.segments.len()
            && other.segments[..self.segments.len()] == self.segments[..]
    }
}

fn step<'a>(value: &'a Value, segment: &Segment) -> Option<&'a Value> {
    match (value, segment) {
        (Value::Object(map), Segment::Key(key)) => map.get(key),
        (Value::Array(items), Segment::Index(index)) => {
            let index = if *index < 0 {
                let back = usize::try_from(index.unsigned_abs()).ok()?;
                items.len().checked_sub(back)?
            } else {
                usize::try_from(*index).ok()?
            };
            items.get(index)
        }
        _ => None,
    }
}

fn parse_bracket(chars: &[char], open: usize) -> Result<(Segment, usize), String> {
    let mut position = open + 1;
    match chars.get(position) {
        Some(quote @ ('"' | '\'')) => {
            let quote = *quote;
            position += 1;
            let mut key = String::new();
            loop {
                match chars.get(position) {
                    None => return Err(format!("unterminated quoted key at character {open}")),
                    Some('\\') => {
                        let escaped = chars.get(position + 1).ok_or_else(|| {
                            format!("unterminated quoted key at character {open}")
                        })?;
                        key.push(*escaped);
                        position += 2;
                    }
                    Some(c) if *c == quote => {
                        position += 1;
                        break;
                    }
                    Some(c) => {
                        key.push(*c);
                        position += 1;
                    }
                }
            }
            if chars.get(position) != Some(&']') {
                return Err(format!("expected `]` at character {position}"));
            }
            Ok((Segment::Key(key), position + 1))
        }
        _ => {
            let start = position;
            while position < chars.len() && chars[position] != ']' {
                position += 1;
            }
            if position == chars.len() {
                return Err(format!("unterminated `[` at character {open}"));
            }
            let text: String = chars[start..position].iter().collect();
            let index = text.trim().parse::<i64>().map_err(|_| {
                format!("`[{text}]` is not an array index (quote keys: [\"{text}\"])")
            })?;
            Ok((Segment::Index(index), position + 1))
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Key(key) if is_plain(key) => {
                    if position > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Key(key) => {
                    f.write_str("[\"")?;
                    for c in key.chars() {
                        if c == '"' || c == '\\' {
                            f.write_str("\\")?;
                        }
                        write!(f, "{c}")?;
                    }
                    f.write_str("\"]")?;
                }
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

fn is_plain(key: &str) -> bool {
    !key.is_empty() && !key.contains(['.', '[', ']'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for text in [
            "a",
            "a.b",
            "items[0].sku",
            "items[-1]",
            "m[\"x.y\"].z",
            "a[1][2]",
        ] {
            let path = FieldPath::parse(text);
            assert_eq!(path.map(|p| p.to_string()), Ok(text.to_string()), "{text}");
        }
    }

    #[test]
    fn rejects_malformed_paths() {
        for text in [
            "", ".a", "a.", "a..b", "a[", "a[x]", "a]b", "a[0]b", "m[\"x]",
        ] {
            assert!(FieldPath::parse(text).is_err(), "{text}");
        }
    }
}
